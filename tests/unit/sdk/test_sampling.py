"""Head sampling (deterministic on the trace id, like OTel's TraceIdRatioBased) and tail sampling."""

from __future__ import annotations

import itertools

import pytest

from spanscope.model import Finding
from spanscope.model import Span as SpanRecord
from spanscope.sdk import TailSampling, span, stats, submit_model, trace
from spanscope.sdk.encode import SAMPLE_WEIGHT
from spanscope.sdk.runtime import set_id_sources
from spanscope.sdk.sampling import TailSampler, head_bound, head_keeps
from spanscope.testing import capture

KEEP = 0x0123 << 64  # low 64 bits 0: kept at any rate > 0
DROP = (0x0456 << 64) | 0xFFFF_FFFF_FFFF_FFFF  # low 64 bits all ones: dropped at any rate < 1


def ids(*trace_ids: int) -> None:
    spans = itertools.count(1)
    set_id_sources(iter(trace_ids).__next__, spans.__next__)


def test_head_sampling_keeps_or_drops_whole_traces_and_weights_them() -> None:
    with capture(sample_rate=0.25) as cap:
        ids(KEEP, DROP)
        with trace("kept", tags={"a": 1}) as kept, span("child"):
            pass
        with trace("dropped", tags={"a": 2}) as dropped:
            assert not dropped.is_recording and dropped.trace_id == f"{DROP:032x}"
            with span("child") as child:
                assert not child.is_recording and child.trace_id == dropped.trace_id
                child.set_tag("late", 1)
            dropped.add_finding("score", 0.1)
        assert kept.is_recording
        assert [s.name for s in cap.spans] == ["child", "kept"]
        assert stats()["sampled_out"] == 3  # two spans and the finding; the tag went with the root's data
        assert stats()["spans_ended"] == 4
    assert all(s.attributes[SAMPLE_WEIGHT] == 4.0 for s in cap.spans)
    assert [t.trace_id for t in cap.traces] == [kept.trace_id]


def test_head_decision_matches_opentelemetry() -> None:
    sampling = pytest.importorskip("opentelemetry.sdk.trace.sampling")
    for rate in (0.0, 0.001, 0.1, 0.5, 0.999, 1.0):
        otel = sampling.TraceIdRatioBased(rate)
        bound = head_bound(rate)
        for trace_id in (1, 2**63, 2**64 - 1, KEEP, DROP, 0xDEADBEEF << 70 | 0x1234_5678_9ABC_DEF0):
            decision = otel.should_sample(None, trace_id, "x").decision
            assert head_keeps(trace_id, bound) == decision.is_sampled(), (rate, trace_id)


def test_models_submitted_directly_follow_the_same_head_rule() -> None:
    def rec(trace_id: int, sid: str) -> SpanRecord:
        return SpanRecord(trace_id=f"{trace_id:032x}", span_id=sid, name="otel", start_time_ns=1, end_time_ns=2)

    with capture(sample_rate=0.5) as cap:
        assert submit_model(rec(KEEP, "1" * 16)) and submit_model(rec(DROP, "2" * 16))
        assert submit_model(Finding(trace_id=f"{DROP:032x}", name="f", value=1))
        assert [s.span_id for s in cap.spans] == ["1" * 16]
        assert cap.findings == [] and stats()["sampled_out"] == 2
    assert cap.spans[0].attributes == {SAMPLE_WEIGHT: 2.0}


def test_rate_one_adds_no_weight() -> None:
    with capture() as cap, span("x"):
        pass
    assert SAMPLE_WEIGHT not in cap.spans[0].attributes


def tail(**rules: object) -> TailSampling:
    return TailSampling(sample_rate=0.0, **rules)  # type: ignore[arg-type]


def test_tail_keeps_errors_slow_traces_and_low_findings_only() -> None:
    rules = tail(keep_errors=True, min_duration_ms=50, finding_below={"quality_score": 0.5})
    with capture(tail_sampling=rules) as cap:  # the clock advances 1 ms per read
        with trace("fine"), span("child"):
            pass
        with pytest.raises(ValueError), trace("error"), span("child"):
            raise ValueError("boom")
        with trace("low-quality") as t:
            t.add_finding("quality_score", 0.2)
        with trace("high-quality") as t:
            t.add_finding("quality_score", 0.9)
        with trace("slow"):
            for _ in range(60):
                with span("step"):
                    pass
        assert len(cap.spans) == 2 + 1 + 61
        assert stats()["sampled_out"] == 2 + 2  # fine: 2 spans (the root carries the trace info); high: span, finding
    roots = sorted(s.name for s in cap.spans if s.parent_span_id is None)
    assert roots == ["error", "low-quality", "slow"]
    assert len(cap.spans) == 2 + 1 + 61
    assert [f.value for f in cap.findings] == [0.2]
    assert {t.trace_id for t in cap.traces} == {s.trace_id for s in cap.spans}
    assert all(SAMPLE_WEIGHT not in s.attributes for s in cap.spans)  # kept by a rule: weight 1


def test_tail_rate_weights_and_late_records_follow_the_decision() -> None:
    with capture(tail_sampling=TailSampling(sample_rate=0.5, keep_errors=False)) as cap:
        ids(0x1 << 64, 0xFFFF_FFFF_FFFF_FFFF << 64)  # high 64 bits decide the tail draw
        with trace("kept") as kept:
            pass
        with trace("dropped") as dropped:
            pass
        kept.add_finding("late", 1)
        dropped.add_finding("late", 1)
        kept.set_tag("late", "x")
    assert [s.name for s in cap.spans] == ["kept"] and cap.spans[0].attributes[SAMPLE_WEIGHT] == 2.0
    assert [f.trace_id for f in cap.findings] == [kept.trace_id]
    assert cap.trace_info(kept.trace_id)["tags"] == {"late": "x"}
    assert cap.trace_info(dropped.trace_id)["tags"] == {}


def test_head_and_tail_weights_multiply() -> None:
    with capture(sample_rate=0.5, tail_sampling=TailSampling(sample_rate=0.25)) as cap:
        ids(0x0 << 64 | 0x1)
        with trace("kept"):
            pass
    assert cap.spans[0].attributes[SAMPLE_WEIGHT] == 8.0


def test_spans_of_a_trace_whose_root_never_ends_are_decided_after_max_wait() -> None:
    now = [0.0]
    sampler = TailSampler(TailSampling(sample_rate=0.0, max_wait=10), clock=lambda: now[0])
    child = SpanRecord(
        trace_id="a" * 32, span_id="1" * 16, parent_span_id="2" * 16, name="c", start_time_ns=1, end_time_ns=2,
        status="ERROR",
    )  # fmt: skip
    assert sampler.offer(child) == []
    now[0] = 11.0
    assert sampler.expire() == [(child, 1.0)]  # kept: it had an error
    ok = SpanRecord(
        trace_id="b" * 32, span_id="1" * 16, parent_span_id="2" * 16, name="c", start_time_ns=1, end_time_ns=2
    )
    assert sampler.offer(ok) == []
    now[0] = 30.0
    assert sampler.expire() == [] and sampler.dropped == 1 and not sampler.pending


def test_buffer_is_bounded() -> None:
    sampler = TailSampler(TailSampling(sample_rate=1.0, max_buffered_spans=3))
    for i in range(5):
        rec = SpanRecord(
            trace_id=f"{i + 1:032x}", span_id="1" * 16, parent_span_id="2" * 16, name="c", start_time_ns=1,
            end_time_ns=2,
        )  # fmt: skip
        sampler.offer(rec)
    assert sampler.buffered <= 3 and len(sampler.pending) == 3


def test_shutdown_decides_pending_traces() -> None:
    with capture(tail_sampling=TailSampling(sample_rate=1.0)) as cap:
        root = trace("open")
        root.__enter__()
        with span("child"):
            pass
        assert cap.spans == []  # held until the root ends
    assert [s.name for s in cap.spans] == ["child"]  # capture() shut the pipeline down: decided on what was there
    root.__exit__(None, None, None)


def test_tail_sampling_validates() -> None:
    with pytest.raises(ValueError):
        TailSampling(sample_rate=2)
    with pytest.raises(TypeError), capture(tail_sampling="yes"):  # type: ignore[arg-type]
        pass
