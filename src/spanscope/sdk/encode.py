"""On the worker thread: finished spans become wire records, their payloads encoded to JSON once.

The application thread hands over references; here a span's attributes, inputs, outputs and events are
encoded by msgspec in **one** call, checked for secrets (``redaction.py``) and for size on the encoded bytes,
and split into ``msgspec.Raw`` fragments that the HTTP exporter copies into the request body verbatim:
no encode → decode → encode. Only a payload that holds a secret, exceeds the size limit, or meets a user
``redact`` hook takes the slow path (decode, rewrite, re-encode).

Payload policy (all configurable, see ``docs/sdk.md``):

* ``capture_inputs`` / ``capture_outputs``: when False, inputs / outputs are never sent.
* ``redact_builtins``: the built-in patterns (e-mail, card numbers, API keys, bearer tokens).
* ``redact``: a user hook ``redact(field, value) -> value`` called with JSON builtins for the fields
  ``"attributes"``, ``"inputs"``, ``"outputs"``, ``"events"``, ``"status_message"`` of spans and
  ``"metadata"`` of traces and findings (``"rationale"`` of findings); if it raises, the field is dropped.
* ``max_field_bytes``: a field whose JSON is larger is truncated: long strings are cut and end with the
  marker ``…[truncated by spanscope: N chars]`` (N = the original length); if cutting strings is not enough
  the field becomes ``{"spanscope.truncated": {"bytes": N, "preview": "<start of its JSON>"}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec

from spanscope.model.conventions import SPAN_KINDS
from spanscope.model.records import Event, Finding, TraceInfo
from spanscope.model.records import Span as SpanRecord
from spanscope.sdk import convert
from spanscope.sdk.convert import DeferredInputs, ExceptionInfo, enc_hook
from spanscope.sdk.guard import log_once
from spanscope.sdk.redaction import bytes_may_hold_secrets, map_strings, redact_text, redact_value

if TYPE_CHECKING:
    from spanscope.sdk.spans import Span

SAMPLE_WEIGHT = "spanscope.sample_weight"
TRUNCATION_MARKER = "…[truncated by spanscope: {total} chars]"
TRUNCATED_KEY = "spanscope.truncated"
DEFAULT_MAX_FIELD_BYTES = 65_536

_KINDS = frozenset(SPAN_KINDS)
_FIELDS = ("attributes", "inputs", "outputs", "events")

Redact = Callable[[str, Any], Any]


class WireSpan(msgspec.Struct, omit_defaults=True):
    """A span as it goes on the wire: the model ``Span``'s fields, payloads as encoded JSON (``msgspec.Raw``)."""

    trace_id: str
    span_id: str
    name: str
    start_time_ns: int
    end_time_ns: int
    parent_span_id: str | None = None
    kind: str = "other"
    status: str = "UNSET"
    status_message: str | None = None
    attributes: msgspec.Raw | None = None
    inputs: msgspec.Raw | None = None
    outputs: msgspec.Raw | None = None
    events: msgspec.Raw | None = None


_ENCODE = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number").encode
_DECODE = msgspec.json.Decoder().decode
_SPLIT = msgspec.json.Decoder(tuple[msgspec.Raw, msgspec.Raw, msgspec.Raw, msgspec.Raw]).decode


def clean_attributes(attrs: dict[Any, Any]) -> dict[str, Any]:
    """``attrs`` itself when every key is a str and every value a str, int, bool or finite float (the common
    case, checked in one loop); otherwise a coerced copy (see ``convert.attribute_value``)."""
    try:
        for k, v in attrs.items():
            t = type(v)
            if (t is str or t is int or t is bool or (t is float and v - v == 0.0)) and type(k) is str:
                continue
            break
        else:
            return attrs
    except RuntimeError:
        pass  # changed size while we looked (another thread): take the careful path
    return convert.attributes(attrs)


def _cut(text: str, keep: int) -> str:
    return text[:keep] + TRUNCATION_MARKER.format(total=len(text))


def truncate(value: Any, limit: int) -> Any:
    """``value`` (JSON builtins) made to fit ``limit`` bytes of JSON, with explicit truncation markers: strings
    longer than a budget are cut (the budget shrinks until the whole fits); past that, a preview object."""
    size = len(_ENCODE(value))
    if size <= limit:
        return value
    budget = max(limit // 2, 64)
    while budget >= 64:
        cut = map_strings(value, lambda s, keep=budget: _cut(s, keep) if len(s) > keep else s, keys=False)
        if len(_ENCODE(cut)) <= limit:
            return cut
        budget //= 4
    preview = _ENCODE(value)[: max(limit - 200, 64)].decode("utf-8", "ignore")
    return {TRUNCATED_KEY: {"bytes": size, "preview": preview}}


class PayloadPolicy:
    """What the worker does to payloads: capture switches, redaction, size limits. Immutable once built."""

    __slots__ = ("capture_inputs", "capture_outputs", "limit", "redact", "redact_builtins")

    def __init__(
        self, *, capture_inputs: bool = True, capture_outputs: bool = True, redact: Redact | None = None,
        redact_builtins: bool = True, max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
    ) -> None:  # fmt: skip
        if redact is not None and not callable(redact):
            raise TypeError(f"redact must be a callable redact(field, value) -> value, got {redact!r}")
        self.capture_inputs = bool(capture_inputs)
        self.capture_outputs = bool(capture_outputs)
        self.redact = redact
        self.redact_builtins = bool(redact_builtins)
        self.limit = max(256, int(max_field_bytes))

    # --- one field, on decoded values (slow path and rare records) ---------------------------------
    def field(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if self.redact_builtins:
            value = redact_value(value)
        hook = self.redact
        if hook is not None:
            try:
                value = hook(name, value)
            except Exception as exc:
                log_once(
                    ("redact-hook", type(exc)),
                    logging.WARNING,
                    "spanscope redact hook raised on %r; the field was dropped: %r",
                    name,
                    exc,
                )
                return None
            if value is not None:
                value = convert.json_value(value)
        return truncate(value, self.limit) if value is not None else None

    def text(self, name: str, value: Any) -> str | None:
        """A short text field (status message, rationale)."""
        if value is None:
            return None
        text = str(value)
        if self.redact_builtins:
            text = redact_text(text)
        if self.redact is not None:
            out = self.field(name, text)
            return None if out is None else str(out)
        return truncate(text, self.limit)

    # --- spans ------------------------------------------------------------------------------------
    def payloads(
        self, attrs: dict[str, Any] | None, inputs: Any, outputs: Any, events: list[dict[str, Any]] | None
    ) -> tuple[msgspec.Raw | None, msgspec.Raw | None, msgspec.Raw | None, msgspec.Raw | None]:
        """Encode the four payload fields in one msgspec call and split them into Raw fragments."""
        if not self.capture_inputs:
            inputs = None
        elif type(inputs) is DeferredInputs:
            inputs = inputs.resolve()
        if not self.capture_outputs:
            outputs = None
        # Events take part in the scan without their timestamps (19 digits look like a card number to the
        # pre-check); their final JSON is encoded on its own, and only spans with events pay for that.
        scanned = [(ev["name"], ev["attributes"]) for ev in events] if events is not None else None
        parts = (attrs, inputs, outputs, scanned)
        try:
            data = _ENCODE(parts)
        except Exception:
            # Odd dict keys, cycles, huge ints: convert piece by piece (slow, rare).
            inputs, outputs = convert.json_value(inputs), convert.json_value(outputs)
            parts = (attrs, inputs, outputs, scanned)
            data = _ENCODE(parts)
        if len(data) > self.limit or self.redact is not None or (self.redact_builtins and bytes_may_hold_secrets(data)):
            return self._slow_payloads((attrs, inputs, outputs, events))
        a, i, o, _ = _SPLIT(data)
        return (
            a if attrs is not None else None,
            i if inputs is not None else None,
            o if outputs is not None else None,
            msgspec.Raw(_ENCODE(events)) if events is not None else None,
        )

    def _slow_payloads(
        self, parts: tuple[Any, Any, Any, Any]
    ) -> tuple[msgspec.Raw | None, msgspec.Raw | None, msgspec.Raw | None, msgspec.Raw | None]:
        values = convert.json_value(list(parts))
        out: list[msgspec.Raw | None] = []
        for name, original, value in zip(_FIELDS, parts, values, strict=True):
            if original is None:
                out.append(None)
                continue
            value = self.field(name, value)
            if value is None:
                out.append(None)
                continue
            if name == "attributes":
                value = clean_attributes(value) if isinstance(value, dict) else {"value": convert.scalar(value)}
            elif name == "events" and not isinstance(value, list):
                value = None
            out.append(None if value is None else msgspec.Raw(_ENCODE(value)))
        return out[0], out[1], out[2], out[3]


def _event_dicts(events: list[tuple[str, int, Any]]) -> list[dict[str, Any]]:
    out = []
    for name, time_ns, attrs in events:
        if type(attrs) is ExceptionInfo:
            attrs = attrs.attributes()
        out.append(
            {
                "name": name if type(name) is str else str(name),
                "time_ns": time_ns,
                "attributes": clean_attributes(attrs) if attrs else {},
            }
        )
    return out


class SpanEncoder:
    """Turns live spans and model records into wire records under one :class:`PayloadPolicy`.

    Worker-only state (the id caches) needs no lock.
    """

    __slots__ = ("policy", "_hex16", "_last_tid", "_last_tid_hex")

    def __init__(self, policy: PayloadPolicy | None = None) -> None:
        self.policy = policy or PayloadPolicy()
        self._hex16: dict[int, str] = {}
        self._last_tid = 0
        self._last_tid_hex = ""

    def _span_hex(self, sid: int) -> str:
        cache = self._hex16
        value = cache.get(sid)
        if value is None:
            if len(cache) > 4096:
                cache.clear()
            value = cache[sid] = f"{sid:016x}"
        return value

    def span(self, s: Span, weight: float = 1.0) -> WireSpan:
        """A finished application span as a wire record."""
        tid = s._tid
        if tid == self._last_tid:
            trace_hex = self._last_tid_hex
        else:
            trace_hex = self._last_tid_hex = f"{tid:032x}"
            self._last_tid = tid
        attrs = s.attributes
        if attrs:
            attrs = clean_attributes(attrs)
        if weight != 1.0:
            attrs = {**attrs, SAMPLE_WEIGHT: weight} if attrs else {SAMPLE_WEIGHT: weight}
        events = s.events
        a, i, o, e = self.policy.payloads(attrs or None, s.inputs, s.outputs, _event_dicts(events) if events else None)
        message = s.status_message
        if message is not None:
            if type(message) is ExceptionInfo:
                message = message.message()
            message = self.policy.text("status_message", message)
        kind = s.kind
        name = s.name
        start = s.start_time_ns or 0
        end = s.end_time_ns or start
        psid = s._psid
        return WireSpan(
            trace_hex,
            self._span_hex(s._sid),
            name if type(name) is str and name else (str(name) or "unnamed"),
            start,
            end if end >= start else start,  # a clock swapped mid-span may run backwards
            self._span_hex(psid) if psid else None,
            kind if kind in _KINDS else "other",
            s.status or "OK",
            message,
            a,
            i,
            o,
            e,
        )

    def model_span(self, rec: SpanRecord, weight: float = 1.0) -> WireSpan:
        """A model ``Span`` built elsewhere (``submit_model``) under the same payload policy."""
        attrs: dict[str, Any] | None = clean_attributes(rec.attributes) if rec.attributes else None
        if weight != 1.0:
            attrs = {**attrs, SAMPLE_WEIGHT: weight} if attrs else {SAMPLE_WEIGHT: weight}
        events = [{"name": ev.name, "time_ns": ev.time_ns, "attributes": ev.attributes} for ev in rec.events]
        a, i, o, e = self.policy.payloads(attrs, rec.inputs, rec.outputs, events or None)
        return WireSpan(
            rec.trace_id,
            rec.span_id,
            rec.name,
            rec.start_time_ns,
            max(rec.end_time_ns, rec.start_time_ns),
            rec.parent_span_id,
            rec.kind if rec.kind in _KINDS else "other",
            rec.status,
            self.policy.text("status_message", rec.status_message),
            a,
            i,
            o,
            e,
        )

    def trace_info(self, info: TraceInfo) -> TraceInfo:
        policy = self.policy
        tags = convert.tags(info.tags)
        if policy.redact_builtins and tags:
            tags = {k: redact_text(v) if type(v) is str else v for k, v in tags.items()}
        metadata = policy.field("metadata", convert.json_value(info.metadata) if info.metadata else None)
        return TraceInfo(
            trace_id=info.trace_id,
            tags=tags,
            metadata=metadata if isinstance(metadata, dict) else ({"value": metadata} if metadata else {}),
            session_id=None if info.session_id is None else str(info.session_id),
            user_id=None if info.user_id is None else str(info.user_id),
        )

    def root_trace_info(self, s: Span) -> TraceInfo | None:
        data = s._trace
        if data is None:
            return None
        return self.trace_info(
            TraceInfo(
                trace_id=f"{s._tid:032x}",
                tags=data.tags or {},
                metadata=data.metadata or {},
                session_id=data.session_id,
                user_id=data.user_id,
            )
        )

    def finding(self, finding: Finding) -> Finding:
        policy = self.policy
        record = convert.finding_record(finding)
        metadata = policy.field("metadata", record.metadata or None)
        record.metadata = metadata if isinstance(metadata, dict) else ({"value": metadata} if metadata else {})
        record.rationale = policy.text("rationale", record.rationale)
        return record


def decode_span(wire: WireSpan | SpanRecord) -> SpanRecord:
    """The model ``Span`` for a wire record (payloads decoded); model spans pass through."""
    if type(wire) is not WireSpan:
        return wire  # type: ignore[return-value]
    events = []
    if wire.events is not None:
        for ev in _DECODE(wire.events):
            events.append(Event(name=ev["name"], time_ns=ev["time_ns"], attributes=ev.get("attributes") or {}))
    return SpanRecord(
        trace_id=wire.trace_id,
        span_id=wire.span_id,
        name=wire.name,
        start_time_ns=wire.start_time_ns,
        end_time_ns=wire.end_time_ns,
        parent_span_id=wire.parent_span_id,
        kind=wire.kind,  # type: ignore[arg-type]
        status=wire.status,  # type: ignore[arg-type]
        status_message=wire.status_message,
        attributes=_DECODE(wire.attributes) if wire.attributes is not None else {},
        inputs=_DECODE(wire.inputs) if wire.inputs is not None else None,
        outputs=_DECODE(wire.outputs) if wire.outputs is not None else None,
        events=events,
    )
