"""Tree-aware predicates (ANY/ALL/COUNT span, ancestor/descendant) and percentile-relative comparisons,
executed on the known dataset: exact sets of matching traces, and errors with their column."""

from __future__ import annotations

import duckdb
import pytest

from spanscope.query import (
    FilterError,
    FilterSyntaxError,
    FilterTypeError,
    PercentileComparison,
    Related,
    SpanQuantifier,
    compile_filter,
    parse_filter,
)
from spanscope.query.dialect import DuckDBDialect
from spanscope.store.schema import HOT_ATTRIBUTE_COLUMNS
from tests.unit.query.dataset import ALL_IDS, PROJECT
from tests.unit.query.test_filter_duckdb import all_but, ids, matching

TREE = [
    ("ANY span(span.name = 'db.query')", ids("t2", "t3", "t4")),
    ("any SPAN(span.name = 'db.query' OR span.kind = 'http')", ids("t2", "t3", "t4", "t8")),
    ("ANY span(span.kind = 'agent' AND descendant(span.name = 'db.query'))", ids("t3", "t4")),
    ("ANY span(span.name = 'db.query' AND ancestor(span.kind = 'agent'))", ids("t3", "t4")),
    ("ANY span(descendant(span.status = 'ERROR'))", ids("t2", "t7", "t8")),
    ("ANY span(ancestor(span.status = 'ERROR'))", ids("t2")),
    ("ANY span(descendant(span.name = 'db.query' AND ancestor(span.kind = 'agent')))", ids("t3", "t4")),
    ("ANY span(span.kind = 'tool' AND NOT descendant(span.status = 'ERROR'))", ids("t3")),
    ("span.kind = 'tool' AND descendant(span.status = 'ERROR')", ids("t8")),  # the implicit form
    ("descendant(span.name = 'http.get')", ids("t8")),
    ("ancestor(span.name = 'embed') AND span.status = 'ERROR'", ids("t7")),
    ("ALL span(span.status = 'OK')", ids("t1", "t3", "t4", "t6")),
    ("ALL span(span.duration_ms >= 100)", ids("t1", "t2", "t3", "t4", "t6", "t8")),
    ("ALL span(span.attributes.usage.total_tokens > 100)", ids("t1", "t6")),  # absent values are not true
    ("NOT ALL span(span.status = 'OK')", ids("t2", "t5", "t7", "t8")),
    ("COUNT span() >= 2", ids("t1", "t2", "t3", "t4", "t7", "t8")),
    ("COUNT span() = 1", ids("t5", "t6")),
    ("COUNT span(span.kind = 'db') = 1", ids("t2", "t3", "t4")),
    ("COUNT span(span.status = 'ERROR') = 0", ids("t1", "t3", "t4", "t5", "t6")),
    ("COUNT span(span.status = 'ERROR' OR span.kind = 'db') >= 2", ids("t2")),
    ("COUNT span() = 1 AND NOT ANY span(span.status = 'OK')", ids("t5")),
    ("NOT ANY span(span.kind = 'db')", all_but("t2", "t3", "t4")),
    ("ANY span(span.kind = 'db') AND tag.env = 'prod'", ids("t3")),
    ("ANY span(span.kind = 'db') OR tag.x = 1.5", ids("t2", "t3", "t4", "t8")),
]

# Per-name reference values in project "p" (project "q" never counts): chat 100/300/1200 -> p50 300,
# p95 1110; db.query 100/250/600 -> p50 250, p95 565; retrieve 700/2000 -> p50 1350; a name with one span
# is its own percentile.
PERCENTILES = [
    ("span.name = 'db.query' AND span.duration_ms >= p50", ids("t2", "t4")),
    ("span.name = 'db.query' AND span.duration_ms > p95", ids("t4")),
    ("span.name = 'db.query' AND span.duration_ms < p50", ids("t3")),
    ("span.name = 'chat' AND span.duration_ms <= p50", ids("t2", "t6")),
    ("span.duration_ms >= p95", ids("t1", "t3", "t4", "t5", "t7", "t8")),
    ("span.duration_ms >= P95 AND span.name = 'chat'", ids("t1")),
    ("(span.name = 'db.query' AND span.duration_ms >= p95) OR span.status = 'ERROR'", ids("t2", "t4", "t7", "t8")),
    ("span.duration_ms >= p99.9 AND span.kind = 'db'", ids("t4")),
    ("trace.duration_ms >= p50", ids("t1", "t2", "t3", "t7", "t8")),  # t5 has no name: no group
    ("span.attributes.usage.total_tokens >= p50", ids("t1", "t6", "t8")),
    # The time range: only reference spans starting within the filter's top-level trace.timestamp bounds.
    ("span.name = 'retrieve' AND span.duration_ms >= p50", ids("t3")),
    ("trace.timestamp >= '2023-07-02' AND span.name = 'retrieve' AND span.duration_ms >= p50", ids("t4")),
    ("ANY span(span.name = 'db.query' AND span.duration_ms >= p95)", ids("t4")),
]


@pytest.mark.parametrize(("text", "expected"), TREE + PERCENTILES)
def test_matches_exactly(db: duckdb.DuckDBPyConnection, text: str, expected: set[str]) -> None:
    assert matching(db, text) == expected


@pytest.mark.parametrize(("text", "expected"), TREE + PERCENTILES)
def test_hot_columns_change_no_answer(db: duckdb.DuckDBPyConnection, text: str, expected: set[str]) -> None:
    sql, params = compile_filter(text, DuckDBDialect(hot_columns=HOT_ATTRIBUTE_COLUMNS))
    rows = db.execute(f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql})", [PROJECT, *params])
    assert {r[0] for r in rows.fetchall()} == expected


def test_the_ast_names_each_construct() -> None:
    expr = parse_filter("COUNT span(span.kind = 'llm' AND descendant(span.name = 'x')) > 2")
    assert isinstance(expr, SpanQuantifier) and expr.quantifier == "COUNT" and expr.count == 2
    assert expr.op is not None and expr.op.symbol == ">"
    related = expr.condition.children[1]  # type: ignore[union-attr]
    assert isinstance(related, Related) and related.relation == "descendant" and related.column == 34
    pct = parse_filter("span.duration_ms >= p99.9")
    assert isinstance(pct, PercentileComparison) and pct.quantile == pytest.approx(0.999) and pct.text == "p99.9"


def test_count_of_every_span_reads_the_summary() -> None:
    assert compile_filter("COUNT span() > 3") == ("t.span_count > ?", [3])


def test_all_needs_a_span() -> None:
    sql, _ = compile_filter("ALL span(span.status = 'OK')")
    assert sql.startswith("(t.span_count > 0 AND NOT EXISTS (")


def test_percentile_levels_are_not_bound_values() -> None:
    sql, params = compile_filter("span.name = 'a' AND span.duration_ms >= p95")
    assert "quantile_cont(p1.duration_ms, 0.95)" in sql and params == ["a"]


def test_search_floor_keeps_the_answer(db: duckdb.DuckDBPyConnection) -> None:
    floor = 1_688_256_000_000_000_000  # 2023-07-02
    for text, _ in TREE:
        sql, params = compile_filter(text, span_floor_ns=floor)
        got = db.execute(
            f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql}) AND t.start_time_ns >= ?",
            [PROJECT, *params, floor],
        ).fetchall()
        plain = matching(db, text)
        later = {r[0] for r in db.execute("SELECT trace_id FROM traces WHERE start_time_ns >= ?", [floor]).fetchall()}
        assert {r[0] for r in got} == plain & later, text


ERRORS = [
    (
        "ANY span(tag.x = 1)",
        FilterSyntaxError,
        10,
        "tag.<key> cannot be used inside ANY span(…) at column 10; "
        "only span.* conditions, ancestor(…) and descendant(…) go inside ANY span(…)",
    ),
    ("ANY spans(span.name = 'a')", FilterSyntaxError, 5, "expected 'span' after ANY at column 5"),
    ("ANY span span.name = 'a'", FilterSyntaxError, 10, "expected '(' after 'span' at column 10"),
    ("ANY span()", FilterSyntaxError, 10, "expected a condition inside ANY span() at column 10"),
    ("ALL span(span.name = 'a'", FilterSyntaxError, 25, "expected ')' at column 25; to close the '(' at column 9"),
    (
        "COUNT span(span.kind = 'llm')",
        FilterSyntaxError,
        30,
        "expected a comparison after COUNT span(…), got the end of the filter at column 30",
    ),
    ("COUNT span() > 1.5", FilterSyntaxError, 16, "expected a whole number after '>' at column 16"),
    ("COUNT span() > 'x'", FilterSyntaxError, 16, "expected a whole number after '>' at column 16"),
    (
        "ANY span(COUNT span() > 1)",
        FilterSyntaxError,
        10,
        "COUNT span(…) cannot be used inside ANY span(…) at column 10",
    ),
    (
        "descendant(trace.status = 'OK')",
        FilterSyntaxError,
        12,
        "trace.status cannot be used inside descendant(…) at column 12",
    ),
    ("ancestor()", FilterSyntaxError, 10, "expected a condition inside ancestor() at column 10"),
    ("span.duration_ms = p95", FilterTypeError, 18, "= does not apply to a percentile at column 18"),
    ("span.duration_ms IN (p95)", FilterSyntaxError, 22, "expected a value in the IN list at column 22"),
    ("span.name > p95", FilterTypeError, 13, "span.name cannot compare with a percentile at column 13"),
    ("tag.x > p95", FilterTypeError, 9, "tag.<key> cannot compare with a percentile at column 9"),
    ("span.duration_ms > p0", FilterTypeError, 20, "invalid percentile 'p0' at column 20"),
    ("span.duration_ms > p100", FilterSyntaxError, 20, "expected a value after '>'"),
]


@pytest.mark.parametrize(("text", "cls", "column", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_column(text: str, cls: type[FilterError], column: int, message: str) -> None:
    with pytest.raises(cls) as caught:
        compile_filter(text)
    assert caught.value.column == column
    assert str(caught.value).startswith(message)


def test_every_trace_is_reachable() -> None:
    assert {f"t{i}" for i in range(1, 9)} == ALL_IDS
