"""The translator interface and the helpers every convention shares.

A translator reads a span's raw attributes (and events) in one foreign convention and fills in the model:
``kind``, ``inputs``, ``outputs``, canonical attribute keys (the current OTel GenAI semconv names), trace-level
facts (session, user, tags, metadata) and findings. It never removes or rewrites a raw attribute, and it never
overrides what is already set: the span's kind when it is not ``other``, inputs/outputs when not None, an
attribute key already present. Several translators may match one span (an OpenLLMetry span carries GenAI
attributes too); they run in a fixed order and the first to set a field wins.

Messages are normalized to one chat shape whatever the source::

    {"role": "user", "content": "text or None", "tool_calls": [...], "tool_call_id": "...", "name": "..."}

with ``tool_calls`` items ``{"id", "type": "function", "function": {"name", "arguments"}}`` (``arguments``
parsed when it is a JSON object), and inputs/outputs of LLM spans as ``{"messages": [...]}``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Set
from typing import Any, ClassVar

import msgspec

from spanscope.model import Finding, Span, TraceInfo
from spanscope.model.conventions import USAGE_TOTAL_TOKENS

_decode_json = msgspec.json.decode
_encode_json = msgspec.json.encode


class Translation:
    """What translating one span produced besides the span itself: findings and trace-level facts."""

    __slots__ = ("findings", "metadata", "session_id", "span", "tags", "user_id")

    def __init__(self, span: Span) -> None:
        self.span = span
        self.findings: list[Finding] = []
        self.session_id: str | None = None
        self.user_id: str | None = None
        self.tags: dict[str, str | int | float | bool] = {}
        self.metadata: dict[str, Any] = {}

    # -------------------------------------------------------------- span fields (first writer wins)
    def set_kind(self, kind: str | None) -> None:
        if kind and self.span.kind == "other" and kind != "other":
            self.span.kind = kind  # type: ignore[assignment]

    def set_inputs(self, value: Any) -> None:
        if self.span.inputs is None and value is not None:
            self.span.inputs = value

    def set_outputs(self, value: Any) -> None:
        if self.span.outputs is None and value is not None:
            self.span.outputs = value

    def set_attr(self, key: str, value: Any) -> None:
        """Set a canonical attribute unless the span already has that key (raw values are never replaced)."""
        if value is None or key in self.span.attributes:
            return
        value = attribute_value(value)
        if value is not None:
            self.span.attributes[key] = value

    def set_int_attr(self, key: str, value: Any) -> None:
        if value is None or key in self.span.attributes:
            return
        n = as_int(value)
        if n is not None:
            self.span.attributes[key] = n

    # -------------------------------------------------------------- trace-level facts
    def set_session(self, value: Any) -> None:
        if value is not None and self.session_id is None and _is_id(value):
            self.session_id = str(value)

    def set_user(self, value: Any) -> None:
        if value is not None and self.user_id is None and _is_id(value):
            self.user_id = str(value)

    def add_tags(self, value: Any) -> None:
        """Tags as labels (a list of strings, or a JSON list) become ``{label: True}``; a dict is merged."""
        if value is None:
            return
        value = parse_json(value)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, str) and item:
                    self.tags.setdefault(item, True)
        elif isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, str | int | float | bool) and not (isinstance(v, float) and not math.isfinite(v)):
                    self.tags.setdefault(str(k), v)
        elif isinstance(value, str) and value:
            self.tags.setdefault(value, True)

    def add_metadata(self, value: Any) -> None:
        if value is None:
            return
        value = parse_json(value)
        if isinstance(value, dict):
            for k, v in value.items():
                self.metadata.setdefault(str(k), v)

    def add_finding(self, finding: Finding) -> None:
        self.findings.append(finding)

    def trace_info(self) -> TraceInfo | None:
        if self.session_id is None and self.user_id is None and not self.tags and not self.metadata:
            return None
        return TraceInfo(
            trace_id=self.span.trace_id,
            tags=self.tags,
            metadata=self.metadata,
            session_id=self.session_id,
            user_id=self.user_id,
        )


def _is_id(value: Any) -> bool:
    return isinstance(value, (str, int)) and not isinstance(value, bool) and value != ""


class Translator:
    """One foreign convention. Subclasses set ``name`` and implement ``matches`` and ``translate``."""

    name: ClassVar[str] = "base"

    def matches(self, span: Span, roots: Set[str]) -> bool:
        """Cheap test: does this span carry this convention's attributes (or events)?

        ``roots`` holds the first dotted segment of every attribute key and event name of the span
        (``{"gen_ai", "llm", "otel"…}``), computed once per span, so that no translator scans all keys.
        """
        raise NotImplementedError

    def translate(self, span: Span, out: Translation) -> None:
        """Fill in the model from the raw attributes, through ``out``'s first-writer-wins setters."""
        raise NotImplementedError


# ------------------------------------------------------------------------------------------ value helpers
def parse_json(value: Any) -> Any:
    """A JSON text parsed (object, array, or quoted string); anything else, or invalid JSON, unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "[", '"'):
        try:
            return _decode_json(value)
        except msgspec.DecodeError:
            return value
    return value


def parse_by_mime(value: Any, mime_type: Any) -> Any:
    """OpenInference-style ``*.value`` + ``*.mime_type``: parse JSON when the mime type says so."""
    if isinstance(value, str) and isinstance(mime_type, str) and "json" in mime_type.lower():
        try:
            return _decode_json(value)
        except msgspec.DecodeError:
            return value
    return value


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        s = value.strip()
        digits = s[1:] if s[:1] == "-" else s
        # the length cap keeps int() clear of its 4300-digit limit; no token count has 20 digits
        if digits.isascii() and digits.isdigit() and len(digits) <= 20:
            return int(s)
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def as_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def attribute_value(value: Any) -> Any:
    """A value as an attribute may hold it: scalars and lists of scalars as they are, anything else as JSON."""
    if value is None:
        return None
    if isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list) and all(isinstance(v, str | bool | int | float) for v in value):
        return value
    try:
        return _encode_json(value).decode()
    except (TypeError, ValueError, OverflowError):
        return str(value)


def unflatten(attrs: dict[str, Any], prefix: str) -> Any:
    """Re-nest flattened keys: ``prefix.0.message.role`` -> ``[{"message": {"role": ...}}]``.

    Numeric segments become list positions (in index order; gaps are closed). A key that collides with
    another (``a.b = 1`` and ``a.b.c = 2``) keeps the first value seen. Returns None when no key matches.
    """
    head = prefix + "."
    n = len(head)
    tree: dict[str, Any] = {}
    found = False
    for key, value in attrs.items():
        if not key.startswith(head):
            continue
        parts = key[n:].split(".")
        node = tree
        ok = True
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                ok = False
                break
            node = child
        if ok and parts[-1] not in node:
            node[parts[-1]] = value
            found = True
    return _listify(tree) if found else None


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


def finding_id(*parts: object) -> str:
    """A stable id, so that an OTLP retry of the same span doesn't add the finding twice."""
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()


class Roots(Set[str]):
    """Which first dotted segments the span's attribute keys and event names have: ``"gen_ai" in roots``.

    Built by joining the names once (cheaper than splitting every key: this runs for every span).
    """

    __slots__ = ("_names",)

    def __init__(self, span: Span) -> None:
        names = "\n".join(span.attributes)
        if span.events:
            names += "\n" + "\n".join(e.name for e in span.events)
        self._names = "\n" + names + "\n"

    def __contains__(self, root: object) -> bool:
        return isinstance(root, str) and (f"\n{root}." in self._names or f"\n{root}\n" in self._names)

    def __iter__(self) -> Iterator[str]:
        return iter({n.partition(".")[0] for n in self._names.split("\n") if n})

    def __len__(self) -> int:
        return sum(1 for _ in self)


def roots_of(span: Span) -> Roots:
    """The first dotted segment of every attribute key and event name, as a set."""
    return Roots(span)


def derive_total_tokens(attrs: dict[str, Any]) -> None:
    """``usage.total_tokens`` = input + output tokens, when the source gave both but no total."""
    if USAGE_TOTAL_TOKENS in attrs:
        return
    i = as_int(attrs.get("gen_ai.usage.input_tokens"))
    o = as_int(attrs.get("gen_ai.usage.output_tokens"))
    if i is not None and o is not None:
        attrs[USAGE_TOTAL_TOKENS] = i + o
