"""Rules evaluated with SQL on a real DuckDB store holding known data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spanscope.ingest.native import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.monitors import evaluate, parse_rule
from spanscope.monitors.evaluate import offending, per_span
from spanscope.store.duckdb import DuckDBStore

H = 3600 * 10**9
MS = 10**6
NOW = 1_700_000_000_000_000_000


def tid(n: int) -> str:
    return f"{n:032x}"


def sid(n: int) -> str:
    return f"{n:016x}"


def turn(i: int, start: int, quality: float, *, tool_error: bool) -> IngestBatch:
    t = tid(i + 1)
    root = Span(
        trace_id=t, span_id=sid(i * 10 + 1), name="chatbot.turn", start_time_ns=start,
        end_time_ns=start + (1000 + 100 * i) * MS, status="OK",
    )  # fmt: skip
    llm = Span(
        trace_id=t, span_id=sid(i * 10 + 2), parent_span_id=root.span_id, name="llm.generate", kind="llm",
        start_time_ns=start + MS, end_time_ns=start + MS + 100 * (i % 10 + 1) * MS,
        attributes={"gen_ai.usage.input_tokens": i % 10, "gen_ai.request.model": "m"},
    )  # fmt: skip
    tool = Span(
        trace_id=t, span_id=sid(i * 10 + 3), parent_span_id=root.span_id, name="tool.x", kind="tool",
        start_time_ns=start + 2 * MS, end_time_ns=start + 3 * MS, status="ERROR" if tool_error else "OK",
    )  # fmt: skip
    return IngestBatch(
        spans=[root, llm, tool],
        traces=[TraceInfo(trace_id=t, tags={"quality_score": quality, "env": "prod" if i % 2 else "dev"})],
        findings=[
            Finding(trace_id=t, name="helpful", value=i % 2 == 0, time_ns=start),
            Finding(trace_id=t, span_id=llm.span_id, name="score", value=float(i % 10), time_ns=start),
        ],
    )


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    store = DuckDBStore(Path(tmp_path_factory.mktemp("store")))
    jobs = []
    # The last hour: 10 turns, quality 0.0 .. 0.9, tool errors in the first three.
    for i in range(10):
        jobs.append(("p", turn(i, NOW - H + i * 60 * 10**9, round(0.1 * i, 1), tool_error=i < 3)))
    # The hour before: 5 good turns. Another project: noise that must never count.
    for i in range(10, 15):
        jobs.append(("p", turn(i, NOW - 2 * H + (i - 10) * 60 * 10**9, 0.9, tool_error=False)))
    jobs.append(("other", turn(99, NOW - H // 2, 0.0, tool_error=True)))
    store.write_many(jobs)
    c = store._cursor()
    yield c
    c.close()
    store.close()


CASES = [
    ("count() > 5 over 1h", 10, 10, True),
    ("count() where span.kind = 'tool' AND span.status = 'ERROR' > 2 over 1h", 3, 3, True),
    ("error_rate where trace.name = 'chatbot.turn' > 25% over 1h", 0.3, 10, True),
    ("error_rate where span.name = 'tool.x' > 50% over 1h", 0.3, 10, False),
    ("avg(span.duration_ms) where span.name = 'llm.generate' > 500 over 1h", 550.0, 10, True),
    ("p50(span.duration_ms) where span.name = 'llm.generate' > 600 over 1h", 550.0, 10, False),
    ("max(span.attributes.gen_ai.usage.input_tokens) >= 9 over 1h", 9.0, 10, True),
    ("avg(tag.quality_score) < 0.5 over 1h", 0.45, 10, True),
    ("avg(tag.quality_score) where tag.env = 'prod' < 0.45 over 1h", 0.5, 5, False),
    ("avg(finding.helpful) = 50% over 1h", 0.5, 10, True),
    ("avg(finding.score) > 1 over 2h", 55 / 15, 15, True),
    ("min(trace.duration_ms) < 1000 over 1h", 1000.0, 10, False),
    (
        "count() where trace.name = 'chatbot.turn' AND span.name = 'llm.generate' AND span.duration_ms > 500 "
        "> 4 over 1h",
        5,
        5,
        True,
    ),
    ("sum(span.attributes.gen_ai.usage.input_tokens) where span.kind = 'llm' > 40 over 1h", 45.0, 10, True),
]


@pytest.mark.parametrize(("text", "value", "samples", "firing"), CASES)
def test_values(con: object, text: str, value: float, samples: int, firing: bool) -> None:
    ev = evaluate(con, parse_rule(text), "p", NOW)
    assert ev.value == pytest.approx(value)
    assert ev.samples == samples
    assert ev.firing is firing
    assert not ev.no_data


def test_span_or_trace_observations() -> None:
    assert per_span(parse_rule("count() where span.kind = 'tool' > 1 over 1h"))
    assert per_span(parse_rule("p95(span.duration_ms) > 1 over 1h"))
    assert not per_span(parse_rule("count() where trace.name = 'x' > 1 over 1h"))
    assert not per_span(parse_rule("avg(tag.q) where span.kind = 'tool' > 1 over 1h"))


def test_change_against_the_previous_window(con: object) -> None:
    ev = evaluate(con, parse_rule("avg(tag.quality_score) over 1h drops > 10% vs previous 1h"), "p", NOW)
    assert (ev.value, ev.baseline, ev.samples, ev.baseline_samples) == (pytest.approx(0.45), pytest.approx(0.9), 10, 5)
    assert ev.change == pytest.approx(-0.5) and ev.firing
    assert [e["value"] for e in ev.examples] == [0.0, 0.1, 0.2, 0.3, 0.4]  # worst first
    rises = evaluate(con, parse_rule("avg(tag.quality_score) over 1h rises > 0.1 vs previous 1h"), "p", NOW)
    assert rises.change == pytest.approx(-0.45) and not rises.firing
    either = evaluate(con, parse_rule("avg(tag.quality_score) over 1h changes > 0.4 vs previous 1h"), "p", NOW)
    assert either.firing


def test_no_data_and_min_samples(con: object) -> None:
    empty = evaluate(con, parse_rule("avg(tag.quality_score) < 0.5 over 1h"), "p", NOW - 5 * H)
    assert empty.no_data and empty.value is None and not empty.firing
    few = evaluate(con, parse_rule("avg(tag.quality_score) < 0.5 over 1h"), "p", NOW, min_samples=11)
    assert few.no_data and not few.firing and few.value == pytest.approx(0.45)
    zero = evaluate(con, parse_rule("count() < 1 over 1h"), "p", NOW - 5 * H)
    assert zero.value == 0 and zero.firing and not zero.no_data  # a count has data even when it is 0


def test_windows_are_half_open(con: object) -> None:
    # The first turn of the last hour starts exactly at NOW - 1h: inside [NOW-1h, NOW), outside the one before.
    assert evaluate(con, parse_rule("count() > 0 over 1h"), "p", NOW).value == 10
    assert evaluate(con, parse_rule("count() > 0 over 1m"), "p", NOW - H + 1).value == 1
    assert evaluate(con, parse_rule("count() > 0 over 1m"), "p", NOW - H).value == 0


def test_offending_traces(con: object) -> None:
    ev = evaluate(con, parse_rule("avg(tag.quality_score) < 0.5 over 1h"), "p", NOW)
    assert [o["trace_id"] for o in offending(con, ev, 100)] == [tid(i + 1) for i in range(5)]
    errors = evaluate(con, parse_rule("error_rate where trace.name = 'chatbot.turn' > 5% over 1h"), "p", NOW)
    assert {o["trace_id"] for o in offending(con, errors, 100)} == {tid(1), tid(2), tid(3)}
    slow = evaluate(con, parse_rule("p95(span.duration_ms) where span.name = 'llm.generate' > 800 over 1h"), "p", NOW)
    assert [o["trace_id"] for o in offending(con, slow, 2)] == [tid(10), tid(9)]
