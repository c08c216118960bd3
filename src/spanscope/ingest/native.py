"""Decode and validate the native ingest body (``POST /api/v1/ingest``).

The body has the shape of the seed's ``IngestSignalsV1RequestBody``::

    {"traces": [TraceInfo...], "spans": [Span...], "events": [SpanEvent...], "findings": [Finding...]}

Every key is optional. Items are validated one by one: a bad item becomes a :class:`Rejection` (its kind,
0-based index in its list and the reason) and the good items of the same batch are kept.

Exceptions::

    IngestError (ValueError)        the body as a whole can't be used -> HTTP 400
    └── BodyTooLarge                the body (or its decompressed form) is over the limit -> HTTP 413
"""

from __future__ import annotations

import gzip
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from spanscope.ingest.limits import DEFAULT_LIMITS, Limits, apply_span_limits, check_time
from spanscope.model import Finding, Span, TraceInfo
from spanscope.model.records import Attributes, SpanId, TimeNs, TraceId


class IngestError(ValueError):
    """The request body can't be decoded at all."""

    status_code = 400


class BodyTooLarge(IngestError):
    status_code = 413


class SpanEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An event sent on its own, attached to a span that may be sent before or after it."""

    trace_id: TraceId
    span_id: SpanId
    name: str
    time_ns: TimeNs
    attributes: Attributes = {}


class WireSpan(Span, kw_only=True, omit_defaults=True):
    """A span as decoded from an ingest body: ``inputs``/``outputs`` stay JSON text (``msgspec.Raw``).

    They are any JSON, so there is nothing to validate beyond well-formedness (checked while decoding the
    body); keeping them raw spares decoding them and encoding them again for the store. ``msgspec``
    encodes a Raw value as its bytes; ``msgspec.json.decode(span.inputs)`` gives the Python value.
    Raw ``null`` and the empty default both mean "none".
    """

    inputs: msgspec.Raw = msgspec.Raw()
    outputs: msgspec.Raw = msgspec.Raw()


def raw_value(value: Any) -> Any:
    """The Python value of a span's ``inputs``/``outputs``, whether decoded already or still raw JSON."""
    if isinstance(value, msgspec.Raw):
        return msgspec.json.decode(value) if len(value) else None
    return value


class _RawBody(msgspec.Struct, kw_only=True):
    # Items stay raw so that each one is validated on its own and a bad one can't spoil the rest.
    traces: list[msgspec.Raw] | None = None
    spans: list[msgspec.Raw] | None = None
    events: list[msgspec.Raw] | None = None
    findings: list[msgspec.Raw] | None = None
    # The SDK's health report, e.g. {"dropped": {"queue_full": 3}, "sdk": "spanscope-python"} (metrics read it).
    sdk_stats: Any = None  # never rejects a body: a malformed report is ignored


@dataclass(slots=True)
class Rejection:
    kind: str
    index: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index, "reason": self.reason}


@dataclass(slots=True)
class IngestBatch:
    """Validated items of one request, ready for the store."""

    traces: list[TraceInfo] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    events: list[SpanEvent] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    sdk_stats: dict[str, Any] | None = None  # the body's optional ``sdk_stats`` (drops since the last report)

    def accepted_counts(self) -> dict[str, int]:
        return {
            "spans": len(self.spans),
            "traces": len(self.traces),
            "events": len(self.events),
            "findings": len(self.findings),
        }

    @property
    def accepted_total(self) -> int:
        return len(self.spans) + len(self.traces) + len(self.events) + len(self.findings)

    def __len__(self) -> int:
        return self.accepted_total


_BODY_DECODER = msgspec.json.Decoder(_RawBody)
_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    "trace": msgspec.json.Decoder(TraceInfo),
    "span": msgspec.json.Decoder(WireSpan),
    "event": msgspec.json.Decoder(SpanEvent),
    "finding": msgspec.json.Decoder(Finding),
}


def decompress(body: bytes, encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip/deflate/identity) without letting a small bomb grow past ``limit``."""
    enc = (encoding or "identity").strip().lower()
    if enc in ("", "identity"):
        return body
    if enc not in ("gzip", "x-gzip", "deflate"):
        raise IngestError(f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or identity")
    wbits = 16 + zlib.MAX_WBITS if enc != "deflate" else zlib.MAX_WBITS
    d = zlib.decompressobj(wbits)
    try:
        out = d.decompress(body, limit + 1)
    except zlib.error as exc:
        raise IngestError(f"body is not valid {enc}: {exc}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise BodyTooLarge(f"decompressed body is over the {limit} byte limit")
    return out


def decode_ingest(body: bytes, *, now_ns: int | None = None, limits: Limits = DEFAULT_LIMITS) -> IngestBatch:
    """Decode a native ingest body; raise :class:`IngestError` only if the body as a whole is unusable.

    Each item is validated on its own; spans are checked for plausible timestamps and cut down to
    ``limits`` (see ``ingest/limits.py``).
    """
    if not body.strip():
        raise IngestError("empty body; expected a JSON object with 'traces', 'spans', 'events', 'findings'")
    try:
        raw = _BODY_DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise IngestError(f"body has the wrong shape: {exc}") from None
    except msgspec.DecodeError as exc:
        raise IngestError(f"malformed JSON: {exc}") from None
    except UnicodeDecodeError as exc:  # msgspec raises it for invalid UTF-8 inside a string
        raise IngestError(f"malformed JSON: invalid UTF-8 ({exc.reason} at byte {exc.start})") from None
    batch = IngestBatch(sdk_stats=raw.sdk_stats if isinstance(raw.sdk_stats, dict) else None)
    now = now_ns if now_ns is not None else time.time_ns()
    for kind, items, out in (
        ("trace", raw.traces, batch.traces),
        ("span", raw.spans, batch.spans),
        ("event", raw.events, batch.events),
        ("finding", raw.findings, batch.findings),
    ):
        if not items:
            continue
        decoder = _DECODERS[kind]
        for i, item in enumerate(items):
            try:
                obj = decoder.decode(item)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                batch.rejected.append(Rejection(kind, i, str(exc)))
                continue
            except UnicodeDecodeError as exc:  # invalid UTF-8 inside one of its strings
                batch.rejected.append(Rejection(kind, i, f"invalid UTF-8 ({exc.reason})"))
                continue
            if kind == "span":
                reason = check_time(obj.start_time_ns, obj.end_time_ns, now)
                if reason is not None:
                    batch.rejected.append(Rejection(kind, i, reason))
                    continue
                apply_span_limits(obj, limits)
            elif kind == "finding" and obj.time_ns is None:
                obj.time_ns = now
            out.append(obj)
    return batch


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=5)
