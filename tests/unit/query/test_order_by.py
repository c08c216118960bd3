"""ORDER BY compilation, and the orders it produces on the DuckDB dataset."""

from __future__ import annotations

import duckdb
import pytest

from spanscope.query import FilterSyntaxError, UnknownFieldError, compile_filter, compile_order_by
from tests.unit.query.dataset import PROJECT

TAG_ORDER = (
    "TRY_CAST(json_extract_string(t.tags, ?) AS DOUBLE) DESC NULLS LAST, "
    "json_extract_string(t.tags, ?) DESC NULLS LAST, t.trace_id"
)


@pytest.mark.parametrize(
    ("order_by", "sql", "params"),
    [
        (None, "t.start_time_ns DESC NULLS LAST, t.trace_id", []),
        ([], "t.start_time_ns DESC NULLS LAST, t.trace_id", []),
        ("", "t.start_time_ns DESC NULLS LAST, t.trace_id", []),
        ("duration_ms DESC", "t.duration_ms DESC NULLS LAST, t.trace_id", []),
        (["trace.duration_ms"], "t.duration_ms ASC NULLS LAST, t.trace_id", []),
        ("execution_time_ms desc", "t.duration_ms DESC NULLS LAST, t.trace_id", []),
        ("timestamp ASC", "t.start_time_ns ASC NULLS LAST, t.trace_id", []),
        ("start_time", "t.start_time_ns ASC NULLS LAST, t.trace_id", []),
        ("trace.timestamp_ms DESC", "t.start_time_ns DESC NULLS LAST, t.trace_id", []),
        (["name", "status DESC"], "t.name ASC NULLS LAST, t.status DESC NULLS LAST, t.trace_id", []),
        ("name, status DESC", "t.name ASC NULLS LAST, t.status DESC NULLS LAST, t.trace_id", []),
        ("trace.id DESC", "t.trace_id DESC NULLS LAST", []),
        ("tag.quality_score DESC", TAG_ORDER, ["/quality_score", "/quality_score"]),
        ("tag.`quality, score` DESC", TAG_ORDER, ["/quality, score", "/quality, score"]),
        (
            "metadata.retries",
            "TRY_CAST(json_extract_string(t.metadata, ?) AS DOUBLE) ASC NULLS LAST, "
            "json_extract_string(t.metadata, ?) ASC NULLS LAST, t.trace_id",
            ["/retries", "/retries"],
        ),
    ],
)
def test_compile_order_by(order_by: list[str] | str | None, sql: str, params: list[object]) -> None:
    assert compile_order_by(order_by) == (sql, params)


def ordered(db: duckdb.DuckDBPyConnection, order_by: list[str] | str | None, where: str = "") -> list[str]:
    where_sql, where_params = compile_filter(where)
    order_sql, order_params = compile_order_by(order_by)
    rows = db.execute(
        f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({where_sql}) ORDER BY {order_sql}",
        [PROJECT, *where_params, *order_params],
    ).fetchall()
    return [row[0] for row in rows]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ["t8", "t7", "t6", "t5", "t4", "t3", "t2", "t1"]),
        ("timestamp ASC", ["t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8"]),
        ("duration_ms DESC", ["t8", "t3", "t1", "t4", "t2", "t6", "t5", "t7"]),
        # numbers first (the string "0.4" counts), then the traces without the tag by id
        ("tag.quality_score DESC", ["t1", "t6", "t2", "t3", "t4", "t5", "t7", "t8"]),
        # 1.5 < 5 < 10 numerically (not as text); the non-number 'abc' after them; absent last
        ("tag.x ASC", ["t8", "t1", "t3", "t2", "t4", "t5", "t6", "t7"]),
        (["name", "duration_ms DESC"], ["t1", "t2", "t6", "t7", "t3", "t4", "t8", "t5"]),
        ("status, trace.id DESC", ["t2", "t8", "t7", "t6", "t4", "t3", "t1", "t5"]),
        ("user.id DESC", ["t3", "t2", "t1", "t4", "t6", "t5", "t7", "t8"]),
    ],
)
def test_order_executes(db: duckdb.DuckDBPyConnection, order_by: str | list[str] | None, expected: list[str]) -> None:
    assert ordered(db, order_by) == expected


def test_ties_break_on_trace_id_so_pages_are_stable(db: duckdb.DuckDBPyConnection) -> None:
    assert ordered(db, "name", where="trace.name = 'chat'") == ["t1", "t2", "t6"]
    assert ordered(db, "name DESC", where="trace.name = 'chat'") == ["t1", "t2", "t6"]


@pytest.mark.parametrize(
    ("order_by", "cls", "message"),
    [
        ("bogus DESC", UnknownFieldError, "unknown field 'bogus' in order_by entry 'bogus DESC' at column 1"),
        (
            "duration_ms DOWN",
            FilterSyntaxError,
            "unexpected 'DOWN' in order_by entry 'duration_ms DOWN' at column 13; expected ASC or DESC",
        ),
        (
            ["name", "span.name"],
            FilterSyntaxError,
            "cannot order traces by span.name in order_by entry 'span.name' at column 1; "
            "order by trace.*, tag.<key>, metadata.<key>, finding.<name>, session.id or user.id "
            "(span fields order search_spans)",
        ),
        ("DESC", UnknownFieldError, "unknown field 'DESC'"),
        (
            "name DESC DESC",
            FilterSyntaxError,
            "unexpected 'DESC' in order_by entry 'name DESC DESC' at column 11",
        ),
        ("(name)", FilterSyntaxError, "expected a field, got '('"),
    ],
)
def test_bad_order_by(order_by: str | list[str], cls: type[Exception], message: str) -> None:
    with pytest.raises(cls) as caught:
        compile_order_by(order_by)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    "order_by",
    [None, "tag.x ASC", "tag.quality_score DESC", ["name", "duration_ms DESC"], "finding.correctness DESC", "user.id"],
)
@pytest.mark.parametrize("page", [1, 2, 3])
def test_keyset_pages_follow_the_order(
    db: duckdb.DuckDBPyConnection, order_by: str | list[str] | None, page: int
) -> None:
    """Paging with keyset_after (NULLs, mixed JSON types, ties) gives the order of one query."""
    from spanscope.query import keyset_after, order_terms, render_order

    terms = order_terms(order_by)
    order = render_order(terms)
    keys = ", ".join(f"{t.expr.text} AS k{i}" for i, t in enumerate(terms))
    key_params = [p for t in terms for p in t.expr.params]
    seen: list[str] = []
    last = None
    while True:
        after = keyset_after(terms, last) if last is not None else None
        where = f" AND {after.text}" if after else ""
        rows = db.execute(
            f"SELECT t.trace_id, {keys} FROM traces t WHERE t.project = ?{where} ORDER BY {order.text} LIMIT ?",
            [*key_params, PROJECT, *(after.params if after else ()), *order.params, page],
        ).fetchall()
        seen += [r[0] for r in rows]
        if len(rows) < page:
            break
        last = list(rows[-1][1:])
    assert seen == ordered(db, order_by)


def test_span_rows_order_by_span_fields() -> None:
    assert compile_order_by("duration_ms DESC", rows="spans") == (
        "s.duration_ms DESC NULLS LAST, s.trace_id, s.span_id",
        [],
    )
    sql, params = compile_order_by(["span.attributes.usage.total_tokens", "trace.duration_ms DESC"], rows="spans")
    assert sql.startswith("TRY_CAST(json_extract_string(s.attributes, ?) AS DOUBLE) ASC NULLS LAST")
    assert "t.duration_ms DESC NULLS LAST" in sql and params == ["/usage.total_tokens", "/usage.total_tokens"]
