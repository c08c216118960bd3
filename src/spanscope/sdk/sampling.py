"""Sampling: which traces are sent, and with what weight.

**Head sampling** (``configure(sample_rate=0.1)``) decides when a trace's root starts, on the application
thread, at the cost of one comparison: the trace is kept when the low 64 bits of its id are below
``sample_rate * 2**64``. That is the rule of OpenTelemetry's ``TraceIdRatioBased`` sampler, so every process
(and any OTel SDK with the same ratio) makes the same decision for the same trace. Spans of a trace that was
not kept are never queued; they, its trace info and its findings are counted as ``sampled_out``.

**Tail sampling** (``configure(tail_sampling=TailSampling(...))``) decides when the trace's (local) root
ends, on the worker thread: the worker holds the trace's spans, trace info and findings until then and
keeps the trace when

* ``keep_errors`` and any span ended with status ``ERROR``, or
* ``min_duration_ms`` is set and the root lasted at least that long, or
* a finding named in ``finding_below`` has a numeric value (bools count as 0/1) below its threshold;

any other trace is kept with probability ``sample_rate`` (deterministic on the trace id, independent of
the head decision). Buffering is bounded: a trace whose root has not ended ``max_wait`` seconds after its
first span arrived, or the oldest trace when more than ``max_buffered_spans`` spans are held, is decided
early on what has arrived (no duration known). ``shutdown()`` and interpreter exit decide every pending
trace the same way. ``flush()`` does not wait for traces whose root is still open.

**Weights**: every span of a kept trace that was sampled at a rate below 1 carries the attribute
``spanscope.sample_weight`` = 1 / (head rate × tail rate it was kept at); traces kept by a tail rule have
no tail factor. Sum the weights (``count → Σ weight``) to estimate totals over all traces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from spanscope.model.records import Finding, TraceInfo
from spanscope.model.records import Span as SpanRecord

_LOW64 = 0xFFFF_FFFF_FFFF_FFFF
_TWO64 = float(2**64)


def head_bound(rate: float | None) -> int | None:
    """The threshold for the low 64 bits of a trace id, or None when every trace is kept."""
    if rate is None or rate >= 1.0:
        return None
    return max(0, round(float(rate) * (_LOW64 + 1)))  # OTel's TraceIdRatioBased.get_bound_for_rate, exactly


def head_keeps(trace_id: int, bound: int | None) -> bool:
    return bound is None or (trace_id & _LOW64) < bound


def tail_keeps(trace_id: int, rate: float) -> bool:
    # The high 64 bits, so that the tail draw is independent of the head draw (which used the low ones).
    return rate >= 1.0 or (trace_id >> 64) < rate * _TWO64


@dataclass(frozen=True)
class TailSampling:
    """Tail-sampling rules, applied when a trace's root span ends (see the module docs)."""

    sample_rate: float = 1.0
    keep_errors: bool = True
    min_duration_ms: float | None = None
    finding_below: Mapping[str, float] = field(default_factory=dict)
    max_wait: float = 300.0
    max_buffered_spans: int = 20_000

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.sample_rate) <= 1.0:
            raise ValueError(f"TailSampling.sample_rate must be within [0, 1], got {self.sample_rate!r}")
        if self.max_buffered_spans < 1 or self.max_wait <= 0:
            raise ValueError("TailSampling.max_buffered_spans and max_wait must be positive")


class _Pending:
    __slots__ = ("duration_ns", "error", "first_seen", "low_finding", "records", "spans")

    def __init__(self, now: float) -> None:
        self.records: list[Any] = []
        self.spans = 0
        self.error = False
        self.low_finding = False
        self.duration_ns: int | None = None
        self.first_seen = now


class TailSampler:
    """Worker-side buffer of undecided traces. Not thread safe: only the worker thread calls it.

    ``offer()`` takes a queued record and returns what can be released now, as ``(record, weight)`` pairs;
    ``dropped`` counts the records of traces that were not kept.
    """

    def __init__(self, rules: TailSampling, clock: Callable[[], float] = time.monotonic) -> None:
        self.rules = rules
        self.clock = clock
        self.pending: dict[str, _Pending] = {}
        self.decided: dict[str, float] = {}  # recent decisions: weight, or 0.0 for dropped
        self.buffered = 0
        self.dropped = 0

    # --- records ----------------------------------------------------------------------------------
    @staticmethod
    def _facts(record: Any) -> tuple[str, bool, bool, str | None, int | None, Any]:
        """(trace id hex, is span, is local root, status, duration ns, finding)."""
        if type(record) is TraceInfo:
            return record.trace_id, False, False, None, None, None
        if type(record) is Finding:
            return record.trace_id, False, False, None, None, record
        if type(record) is SpanRecord:
            root = record.parent_span_id is None
            duration = record.end_time_ns - record.start_time_ns
            return record.trace_id, True, root, record.status, duration, None
        # a live spanscope Span
        root = record.root is record
        duration = (record.end_time_ns or 0) - (record.start_time_ns or 0)
        return f"{record._tid:032x}", True, root, record.status, duration, None

    def offer(self, record: Any) -> list[tuple[Any, float]]:
        trace_id, is_span, is_root, status, duration, finding = self._facts(record)
        weight = self.decided.get(trace_id)
        if weight is not None:  # a late record of a decided trace follows the decision
            if weight:
                return [(record, weight)]
            self.dropped += 1
            return []
        now = self.clock()
        p = self.pending.get(trace_id)
        if p is None:
            p = self.pending[trace_id] = _Pending(now)
        p.records.append(record)
        if is_span:
            p.spans += 1
            self.buffered += 1
            if status == "ERROR":
                p.error = True
        if finding is not None and finding.name in self.rules.finding_below:
            value = finding.value
            if isinstance(value, int | float) and value < self.rules.finding_below[finding.name]:
                p.low_finding = True
        released: list[tuple[Any, float]] = []
        if is_root:
            p.duration_ns = duration
            released += self._decide(trace_id)
        released += self.expire(now)
        return released

    # --- decisions --------------------------------------------------------------------------------
    def _decide(self, trace_id: str) -> list[tuple[Any, float]]:
        p = self.pending.pop(trace_id)
        self.buffered -= p.spans
        rules = self.rules
        by_rule = (
            (rules.keep_errors and p.error)
            or p.low_finding
            or (
                rules.min_duration_ms is not None
                and p.duration_ns is not None
                and p.duration_ns >= rules.min_duration_ms * 1e6
            )
        )
        if by_rule:
            weight = 1.0
        elif rules.sample_rate > 0 and tail_keeps(int(trace_id, 16), rules.sample_rate):
            weight = 1.0 / rules.sample_rate
        else:
            weight = 0.0
        if len(self.decided) >= 10_000:
            for key in list(self.decided)[:5_000]:  # dicts keep insertion order: forget the oldest half
                del self.decided[key]
        self.decided[trace_id] = weight
        if not weight:
            self.dropped += len(p.records)
            return []
        return [(record, weight) for record in p.records]

    def expire(self, now: float | None = None) -> list[tuple[Any, float]]:
        """Decide traces that waited too long, and the oldest ones while over the buffer bound."""
        now = self.clock() if now is None else now
        released: list[tuple[Any, float]] = []
        rules = self.rules
        while self.pending:
            oldest_id, oldest = next(iter(self.pending.items()))
            if now - oldest.first_seen < rules.max_wait and self.buffered <= rules.max_buffered_spans:
                break
            released += self._decide(oldest_id)
        return released

    def drain(self) -> list[tuple[Any, float]]:
        """Decide every pending trace now (shutdown, exit)."""
        released: list[tuple[Any, float]] = []
        for trace_id in list(self.pending):
            released += self._decide(trace_id)
        return released
