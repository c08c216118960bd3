"""The data model every layer shares: Trace, Span, Event, Finding (see ARCHITECTURE.md).

These are msgspec Structs: decoding JSON into them validates types and constraints in one pass, and
validation errors carry a JSON path (``Expected `str`, got `int` - at `$.name```), which ingest turns
into per-item rejection reasons.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from spanscope.model.conventions import FindingSource, SpanKind, Status

TraceId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$", description="32 lowercase hex digits")]
SpanId = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{16}$", description="16 lowercase hex digits")]
TimeNs = Annotated[int, msgspec.Meta(ge=0, description="nanoseconds since the Unix epoch, UTC")]

Scalar = str | int | float | bool
# An attribute value: a scalar or a homogeneous-ish list of scalars (OTel attribute types).
AttributeValue = str | int | float | bool | list[Scalar]
Attributes = dict[str, AttributeValue]
TagValue = str | int | float | bool
FindingValue = str | int | float | bool


class Event(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Something that happened at a point in a span (an exception is the event ``exception``)."""

    name: str
    time_ns: TimeNs
    attributes: Attributes = {}


class Span(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One unit of work. ``parent_span_id`` None marks the root of its trace."""

    trace_id: TraceId
    span_id: SpanId
    name: Annotated[str, msgspec.Meta(min_length=1)]
    start_time_ns: TimeNs
    end_time_ns: TimeNs
    parent_span_id: SpanId | None = None
    kind: SpanKind = "other"
    status: Status = "UNSET"
    status_message: str | None = None
    attributes: Attributes = {}
    inputs: Any = None
    outputs: Any = None
    events: list[Event] = []

    def __post_init__(self) -> None:
        if self.end_time_ns < self.start_time_ns:
            raise ValueError("end_time_ns is before start_time_ns")
        if self.parent_span_id == self.span_id:
            raise ValueError("parent_span_id equals span_id")

    @property
    def duration_ms(self) -> float:
        return (self.end_time_ns - self.start_time_ns) / 1e6


class TraceInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Trace-level facts that spans don't carry; merged into the trace (tags and metadata key by key)."""

    trace_id: TraceId
    tags: dict[str, TagValue] = {}
    metadata: dict[str, Any] = {}
    session_id: str | None = None
    user_id: str | None = None


class Finding(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A score, label or comment on a trace or one of its spans (a.k.a. feedback, assessment).

    Maps 1:1 to the OpenTelemetry event ``gen_ai.evaluation.result``.
    """

    trace_id: TraceId
    name: Annotated[str, msgspec.Meta(min_length=1)]
    value: FindingValue
    span_id: SpanId | None = None
    source: FindingSource = "code"
    rationale: str | None = None
    time_ns: TimeNs | None = None
    metadata: dict[str, Any] = {}
    finding_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class Trace(msgspec.Struct, kw_only=True, omit_defaults=False):
    """A whole trace as read back: the summary derived from its spans, its trace-level facts, its spans
    (each with its events) and its findings. Supports ``trace["spans"]`` as well as ``trace.spans``."""

    trace_id: str
    project: str
    name: str | None
    status: str
    start_time_ns: int | None
    end_time_ns: int | None
    duration_ms: float | None
    tags: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    session_id: str | None = None
    user_id: str | None = None
    inputs: Any = None
    outputs: Any = None
    spans: list[Span] = []
    findings: list[Finding] = []

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    @property
    def root_span(self) -> Span | None:
        return next((s for s in self.spans if s.parent_span_id is None), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data with every field present (defaults included)."""
        out = {f: getattr(self, f) for f in self.__struct_fields__ if f not in ("spans", "findings")}
        out["spans"] = [
            {**msgspec.structs.asdict(s), "events": [msgspec.structs.asdict(e) for e in s.events]} for s in self.spans
        ]
        out["findings"] = [msgspec.structs.asdict(f) for f in self.findings]
        return msgspec.to_builtins(out)
