"""Monitor rules: text -> Rule, and errors with a column (table-driven)."""

from __future__ import annotations

import pytest

from spanscope.monitors.rules import MonitorRuleError, parse_duration, parse_rule

CASES = [
    # text, func, field kind, quantile, filter, window_s, (op, threshold) | (direction, amount, relative, baseline_s)
    (
        "p95(span.duration_ms) where span.name = 'llm.generate' > 2000 over 1h",
        "quantile", "span.duration_ms", 0.95, "span.name = 'llm.generate'", 3600, (">", 2000.0),
    ),
    (
        "error_rate where trace.name = 'chatbot.turn' > 5% over 15m",
        "error_rate", None, None, "trace.name = 'chatbot.turn'", 900, (">", 0.05),
    ),
    (
        "avg(finding.quality_score) over 1d drops > 10% vs previous 7d",
        "avg", "finding", None, None, 86400, ("drops", 0.1, True, 7 * 86400),
    ),
    (
        "avg(tag.quality_score) over 1d drops > 10% vs previous 7d",
        "avg", "tag", None, None, 86400, ("drops", 0.1, True, 7 * 86400),
    ),
    (
        "count() where span.status = 'ERROR' AND span.kind = 'tool' > 20 over 10m",
        "count", None, None, "span.status = 'ERROR' AND span.kind = 'tool'", 600, (">", 20.0),
    ),
    ("COUNT() >= 1 OVER 30s", "count", None, None, None, 30, (">=", 1.0)),
    ("median(trace.duration_ms) over 2h <= 300", "quantile", "trace.duration_ms", 0.5, None, 7200, ("<=", 300.0)),
    ("p99.9(span.attributes.`llm latency`) > 1 over 1w", "quantile", "span.attribute", 0.999, None, 604800, (">", 1.0)),
    (
        "max(span.attributes.usage.total_tokens) where span.kind = 'llm' over 1d rises by 0.5 vs prev 1d",
        "max", "span.attribute", None, "span.kind = 'llm'", 86400, ("rises", 0.5, False, 86400),
    ),
    ("mean(feedback.helpful) < 50% over 1d", "avg", "finding", None, None, 86400, ("<", 0.5)),
    (
        "sum(metadata.cost) over 1h changes >= 25% vs previous 1h",
        "sum", "metadata", None, None, 3600, ("changes", 0.25, True, 3600),
    ),
    # A comparison inside the filter does not confuse the condition at the end.
    ("count() where span.duration_ms > 5 > 20 over 10m", "count", None, None, "span.duration_ms > 5", 600, (">", 20.0)),
]  # fmt: skip


@pytest.mark.parametrize(("text", "func", "kind", "quantile", "flt", "window", "cond"), CASES)
def test_parse(
    text: str, func: str, kind: str | None, quantile: float | None, flt: str | None, window: float, cond: tuple
) -> None:
    rule = parse_rule(text)
    assert rule.aggregate.func == func
    assert (rule.aggregate.field.kind if rule.aggregate.field else None) == kind
    assert rule.aggregate.quantile == pytest.approx(quantile) if quantile else rule.aggregate.quantile is None
    assert rule.filter == flt
    assert rule.window_s == window
    if len(cond) == 2:
        assert rule.change is None and rule.threshold is not None
        assert (rule.threshold.op, rule.threshold.value) == (cond[0], pytest.approx(cond[1]))
    else:
        assert rule.threshold is None and rule.change is not None
        c = rule.change
        assert (c.direction, c.amount, c.relative, c.baseline_s) == (cond[0], pytest.approx(cond[1]), cond[2], cond[3])


def test_keys_keep_their_dots_and_backticks() -> None:
    assert parse_rule("avg(tag.app.version) > 1 over 1h").aggregate.field.key == "app.version"  # type: ignore[union-attr]
    assert parse_rule("avg(tag.`quality score`) > 1 over 1h").aggregate.field.key == "quality score"  # type: ignore[union-attr]


ERRORS = [
    ("", "empty rule", 1),
    ("p95(span.duration_ms) > over 1h", "expected a condition at the end", 32),
    ("foo(x) > 1 over 1h", "expected an aggregate first", 1),
    ("avg(trace.name) > 1 over 1h", "cannot aggregate 'trace.name'", 5),
    ("avg(tag.) > 1 over 1h", "expected a tag key", 5),
    ("p0(span.duration_ms) > 1 over 1h", "out of range", 1),
    ("count() where span.nme = 'x' > 1 over 1h", "in the filter: unknown field 'span.nme'", 15),
    ("count() where span.name = > 1 over 1h", "in the filter: expected a value after", 26),
    ("count() > 1 over 0m", "longer than 0", 18),
]


@pytest.mark.parametrize(("text", "message", "column"), ERRORS)
def test_errors_say_what_and_where(text: str, message: str, column: int) -> None:
    with pytest.raises(MonitorRuleError) as info:
        parse_rule(text)
    assert message in str(info.value)
    assert info.value.column == column
    assert str(info.value).endswith(f"at column {column}")


def test_durations() -> None:
    assert [parse_duration(t) for t in ("30s", "15m", "1h", "7d", "1w", "90", "1.5h")] == [
        30, 900, 3600, 604800, 604800, 90, 5400,
    ]  # fmt: skip
    with pytest.raises(MonitorRuleError):
        parse_duration("soon")
