"""The filter tables of the DuckDB tests, executed on ClickHouse (chDB) with the ClickHouse dialect:
identical expected sets of traces on the same dataset."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spanscope.query import compile_filter, compile_order_by, keyset_after, order_terms, render_order
from spanscope.query.dialect_clickhouse import ClickHouseDialect
from spanscope.store.clickhouse import DIALECT, ClickHouseStore
from tests.unit.query import test_filter_duckdb as duck
from tests.unit.query import test_order_by as order_tests
from tests.unit.query import test_tree_and_percentiles as tree
from tests.unit.query.dataset import ALL_IDS, PROJECT

pytest.importorskip("chdb")

# test_order_by.test_order_executes' table (the same dataset, the same expected order).
ORDERS = next(m.args[1] for m in order_tests.test_order_executes.pytestmark if m.name == "parametrize")

CASES = (
    duck.TRACE_FIELDS + duck.TIMESTAMPS + duck.TAGS_AND_METADATA + duck.FINDINGS + duck.SPANS
    + duck.BOOLEAN_STRUCTURE + tree.TREE + tree.PERCENTILES
)  # fmt: skip


@pytest.fixture(scope="module")
def ch() -> Iterator[ClickHouseStore]:
    from tests.unit.query.dataset_clickhouse import load_clickhouse
    from tests.unit.store.engines import drop_database

    store = load_clickhouse()
    yield store
    store.close()
    drop_database(store.url)  # type: ignore[attr-defined]


def matching(store: ClickHouseStore, text: str, dialect: ClickHouseDialect = DIALECT) -> set[str]:
    sql, params = compile_filter(text, dialect)
    rows = store.query_rows(f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql})", [PROJECT, *params])
    return {row[0] for row in rows}


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_filter_matches_exactly(ch: ClickHouseStore, text: str, expected: set[str]) -> None:
    assert matching(ch, text) == expected


@pytest.mark.parametrize(("text", "expected"), duck.SPANS + tree.TREE)
def test_without_hot_columns(ch: ClickHouseStore, text: str, expected: set[str]) -> None:
    assert matching(ch, text, ClickHouseDialect()) == expected


def test_no_filter_matches_the_whole_project(ch: ClickHouseStore) -> None:
    assert matching(ch, "") == set(ALL_IDS)


@pytest.mark.parametrize(
    "text",
    [
        "tag.`x'); DROP TABLE pwned; --` = 'y''; DROP TABLE pwned; --'",
        'span.attributes.`"; SELECT pwned --` = 1',
        'span.inputs.`a"]`[-1].`$.pwned` IS NOT NULL',
        "finding.`'); DELETE FROM pwned; --` LIKE '%pwned'",
        "tag.x = 'back\\\\slash\ttab'",
    ],
)
def test_hostile_keys_and_values_are_bound_not_spliced(ch: ClickHouseStore, text: str) -> None:
    sql, params = compile_filter(text, DIALECT)
    assert "pwned" not in sql and ";" not in sql and "--" not in sql
    assert matching(ch, text) == set()
    assert ch.query_rows("SELECT count() FROM traces") == [(9,)]


def ordered(store: ClickHouseStore, order_by: list[str] | str | None, where: str = "") -> list[str]:
    where_sql, where_params = compile_filter(where, DIALECT)
    order_sql, order_params = compile_order_by(order_by, DIALECT)
    rows = store.query_rows(
        f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({where_sql}) ORDER BY {order_sql}",
        [PROJECT, *where_params, *order_params],
    )
    return [row[0] for row in rows]


@pytest.mark.parametrize(("order_by", "expected"), ORDERS)
def test_order_executes(ch: ClickHouseStore, order_by: str | list[str] | None, expected: list[str]) -> None:
    assert ordered(ch, order_by) == expected


def test_ties_break_on_trace_id_so_pages_are_stable(ch: ClickHouseStore) -> None:
    assert ordered(ch, "name", where="trace.name = 'chat'") == ["t1", "t2", "t6"]
    assert ordered(ch, "name DESC", where="trace.name = 'chat'") == ["t1", "t2", "t6"]


@pytest.mark.parametrize(
    "order_by",
    [None, "tag.x ASC", "tag.quality_score DESC", ["name", "duration_ms DESC"], "finding.correctness DESC", "user.id"],
)
@pytest.mark.parametrize("page", [1, 3])
def test_keyset_pages_follow_the_order(ch: ClickHouseStore, order_by: str | list[str] | None, page: int) -> None:
    terms = order_terms(order_by, DIALECT)
    order = render_order(terms, DIALECT)
    keys = ", ".join(f"{t.expr.text} AS k{i}" for i, t in enumerate(terms))
    key_params = [p for t in terms for p in t.expr.params]
    seen: list[str] = []
    last = None
    while True:
        after = keyset_after(terms, last, DIALECT) if last is not None else None
        where = f" AND {after.text}" if after else ""
        rows = ch.query_rows(
            f"SELECT t.trace_id, {keys} FROM traces t WHERE t.project = ?{where} ORDER BY {order.text} LIMIT ?",
            [*key_params, PROJECT, *(after.params if after else ()), *order.params, page],
        )
        seen += [r[0] for r in rows]
        if len(rows) < page:
            break
        last = list(rows[-1][1:])
    assert seen == ordered(ch, order_by)


@pytest.mark.parametrize(
    "order_by",
    ["finding.correctness DESC", "finding.correctness", "metadata.m DESC", "session.id", ["status", "tag.x DESC"]],
)
def test_order_is_duckdbs(ch: ClickHouseStore, db: object, order_by: str | list[str]) -> None:
    assert ordered(ch, order_by) == order_tests.ordered(db, order_by)  # type: ignore[arg-type]
