"""Extract-field paths: pick one value out of an already-fetched trace, in Python (no SQL).

    span.inputs[.<path>]  span.outputs[.<path>]  span.attributes.<key>
        from the root span when it has the value, else from the first span (by start time) that has it
    `<span name>`.inputs[.<path>]  `<span name>`.outputs[.<path>]  `<span name>`.attributes.<key>
        from the first span with that name (by start time); a name without dots needs no backticks
    tag.<key>         the trace's tag
    finding.<name>    (alias feedback.<name>) the latest trace-level finding of that name, else the
                      latest one on any span

"Has the value" means the path resolves to something other than a missing key or JSON null; whatever
is missing resolves to None.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

from spanscope.query.errors import FilterError, FilterSyntaxError, UnknownFieldError
from spanscope.query.paths import (
    JsonPath,
    is_missing,
    parse_path,
    parse_single_key,
    read_backticked,
    walk,
)

_EXPECTED: Final = (
    "expected span.inputs[.<path>], span.outputs[.<path>], span.attributes.<key>, "
    "`<span name>`.inputs|outputs[.<path>], `<span name>`.attributes.<key>, tag.<key> or finding.<name>"
)
_PARTS: Final = ("inputs", "outputs", "attributes")


class Source(Enum):
    SPAN = "span"  # root span, else first span having the value
    NAMED_SPAN = "named_span"  # first span with a given name
    TAG = "tag"
    FINDING = "finding"


_KEYED_SOURCES: Final = {
    "tag.": Source.TAG,
    "tags.": Source.TAG,
    "finding.": Source.FINDING,
    "feedback.": Source.FINDING,
}


@dataclass(frozen=True)
class ExtractField:
    """A parsed extract-field path."""

    text: str  # as written
    source: Source
    part: str | None = None  # "inputs", "outputs" or "attributes" for span sources
    span_name: str | None = None  # for NAMED_SPAN
    key: str | None = None  # tag key, finding name or attribute key
    path: JsonPath = ()  # inside inputs/outputs

    @property
    def needs_spans(self) -> bool:
        """True when resolving needs the trace's spans (so a store can skip fetching them otherwise)."""
        return self.source in (Source.SPAN, Source.NAMED_SPAN)

    @property
    def needs_findings(self) -> bool:
        """True when resolving needs the trace's findings."""
        return self.source is Source.FINDING


def _span_part(text: str, rest: str, offset: int, source: Source, span_name: str | None) -> ExtractField:
    """Parse ``inputs[.<path>]``, ``outputs[.<path>]`` or ``attributes.<key>`` (``rest``)."""
    head = rest.split(".", 1)[0].split("[", 1)[0]
    if head not in _PARTS:
        raise UnknownFieldError(f"unknown extract field {text!r}", 1, _EXPECTED)
    tail = rest[len(head) :]
    tail_offset = offset + len(head)
    try:
        if head == "attributes":
            if not tail.startswith(".") or len(tail) == 1:
                raise FilterSyntaxError("expected a key after 'attributes.'", len(text) + 1 - tail_offset)
            key = parse_single_key(tail[1:])
            return ExtractField(text, source, head, span_name, key=key)
        if tail.startswith("."):
            tail, tail_offset = tail[1:], tail_offset + 1
            if not tail:
                raise FilterSyntaxError("expected a JSON path after '.'", 1)
        return ExtractField(text, source, head, span_name, path=parse_path(tail))
    except FilterError as err:
        raise err.shifted(tail_offset) from None


def parse_extract_field(text: str) -> ExtractField:
    """Parse an extract-field path such as ``span.outputs.choices[0].message.content``.

    Raises:
        FilterError: an unknown form or a malformed key or path (with its column).

    Example:
        >>> parse_extract_field("`retrieve docs`.outputs[0]").span_name
        'retrieve docs'
    """
    stripped = text.strip()
    lowered = stripped.lower()
    for prefix, source in _KEYED_SOURCES.items():
        if lowered.startswith(prefix):
            try:
                return ExtractField(stripped, source, key=parse_single_key(stripped[len(prefix) :]))
            except FilterError as err:
                raise err.shifted(len(prefix)) from None
    if lowered.startswith("span."):
        return _span_part(stripped, stripped[5:], 5, Source.SPAN, None)
    if stripped.startswith("`"):
        name, end = read_backticked(stripped, 0)
    else:
        end = stripped.find(".")
        name = stripped[:end] if end > 0 else ""
    if not name or not stripped[end:].startswith("."):
        raise UnknownFieldError(f"unknown extract field {stripped!r}", 1, _EXPECTED)
    return _span_part(stripped, stripped[end + 1 :], end + 1, Source.NAMED_SPAN, name)


def _span_value(span: dict[str, Any], field: ExtractField) -> Any:
    """The value ``field`` selects in one span, or the MISSING sentinel from ``paths.walk``."""
    if field.part == "attributes":
        attributes = span.get("attributes") or {}
        assert field.key is not None
        if field.key in attributes:
            return attributes[field.key]
        # Attributes that arrived nested ({"usage": {"total_tokens": 3}}) are found by their dotted key.
        return walk(attributes, tuple(field.key.split(".")))
    return walk(span.get(field.part or ""), field.path)


def _latest_finding(findings: list[dict[str, Any]], name: str) -> Any:
    named = [f for f in findings if f.get("name") == name]
    on_trace = [f for f in named if f.get("span_id") is None]
    pool = on_trace or named
    if not pool:
        return None
    return max(pool, key=lambda f: f.get("time_ns") or 0).get("value")


def resolve_extract_field(field: ExtractField | str, trace: dict[str, Any]) -> Any:
    """The value ``field`` selects in ``trace`` (decoded JSON), or None when it is missing.

    ``trace`` has ``tags`` (dict), ``findings`` (dicts with name, value, span_id, time_ns) and ``spans``
    (dicts with span_id, parent_span_id, name, start_time_ns, attributes, inputs, outputs).

    Example:
        >>> resolve_extract_field("tag.env", {"tags": {"env": "prod"}})
        'prod'
    """
    if isinstance(field, str):
        field = parse_extract_field(field)
    if field.source is Source.TAG:
        return (trace.get("tags") or {}).get(field.key)
    if field.source is Source.FINDING:
        return _latest_finding(list(trace.get("findings") or []), field.key or "")
    spans = sorted(trace.get("spans") or [], key=lambda s: s.get("start_time_ns") or 0)
    if field.source is Source.NAMED_SPAN:
        candidates = [s for s in spans if s.get("name") == field.span_name][:1]
    else:
        roots = [s for s in spans if s.get("parent_span_id") is None][:1]
        candidates = roots + [s for s in spans if not roots or s is not roots[0]]
    for span in candidates:
        value = _span_value(span, field)
        if not is_missing(value):
            return value
    return None
