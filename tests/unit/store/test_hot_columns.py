"""The writer computes hot columns in Python (``derive.hot_row``); they must equal DuckDB's own extraction
from the stored JSON (``hot_column_sql``) for every value, odd ones included, and rows stay in span order."""

from __future__ import annotations

import math
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.ingest.native import IngestBatch
from spanscope.model import Span
from spanscope.store.duckdb import DuckDBStore
from spanscope.store.duckdb.derive import hot_row
from spanscope.store.schema import HOT_COLUMNS, hot_column_sql

ODD_VALUES = [
    None, "gpt-4o", "", " 12 ", "1e3", "nan", "inf", "-0", "12abc", 0, 1, -1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63),
    0.0, -0.0, 1.5, 1e300, 5e-324, 123456789.123456789, True, False, [1, 2], ["a"], 3.0,
]  # fmt: skip


def _spans(values: list[object]) -> list[Span]:
    spans = []
    for i, v in enumerate(values):
        attrs = {key: v for key, _ in HOT_COLUMNS.values()} if v is not None else {}
        if i % 3 == 0:
            attrs["usage.total_tokens"] = i  # mixed: one exact column beside odd ones
        spans.append(
            Span(
                trace_id=f"{i % 4 + 1:032x}",
                span_id=f"{i + 1:016x}",
                name=f"s{i}",
                start_time_ns=1_700_000_000_000_000_000 + (len(values) - i) * 1000,
                end_time_ns=1_700_000_000_000_000_000 + (len(values) - i) * 1000 + 10,
                attributes=attrs,
            )
        )
    return spans


def _mismatches(store: DuckDBStore) -> list[tuple[object, ...]]:
    checks = " OR ".join(f"({col} IS DISTINCT FROM {hot_column_sql(col)})" for col in HOT_COLUMNS)
    return store._con.execute(f"SELECT span_id, attributes FROM spans WHERE {checks}").fetchall()


def test_hot_columns_equal_sql_extraction(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path)
    store.write("p", IngestBatch(spans=_spans(ODD_VALUES)))
    assert _mismatches(store) == []
    # and the common case is computed in Python (the flag), the odd ones left to SQL
    assert hot_row({"gen_ai.request.model": "m", "usage.total_tokens": 3})[0] is True
    assert hot_row({"usage.total_tokens": "3"})[0] is False
    assert hot_row({"spanscope.cost_usd": math.inf})[0] is False
    store.close()


def test_rows_are_stored_in_span_order(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path)
    store.write("p", IngestBatch(spans=_spans(list(range(40)))))
    got = store._con.execute("SELECT trace_id, start_time_ns, span_id FROM spans").fetchall()
    first = {t: min(s for tt, s, _ in got if tt == t) for t, _, _ in got}
    assert got == sorted(got, key=lambda r: (first[r[0]], r[0], r[1], r[2]))
    store.close()


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8)
)


@settings(max_examples=40, deadline=None)
@given(values=st.lists(_scalars, min_size=1, max_size=12))
def test_hot_columns_equal_sql_extraction_random(tmp_path_factory, values: list[object]) -> None:  # noqa: ANN001
    store = DuckDBStore(tmp_path_factory.mktemp("hot"))
    store.write("p", IngestBatch(spans=_spans(values)))
    assert _mismatches(store) == []
    store.close()


def test_clickhouse_span_tokens_column_is_the_sum_analysis_uses() -> None:
    # attr_tokens (ClickHouse, schema 0900) = total tokens, else input + output: on insert, and for spans written
    # before the column existed (the migration's mutation, or computed on read until it has run).
    import pytest

    pytest.importorskip("chdb")
    from spanscope.store.clickhouse import ClickHouseStore
    from tests.unit.store.engines import fresh_chdb_store

    cases = [
        {"usage.total_tokens": 7},
        {"gen_ai.usage.input_tokens": 3, "gen_ai.usage.output_tokens": 4},
        {"usage.total_tokens": 10, "gen_ai.usage.input_tokens": 1, "gen_ai.usage.output_tokens": 1},
        {"gen_ai.usage.input_tokens": 3},
        {"usage.total_tokens": "12"},
        {},
    ]
    want = [7.0, 7.0, 10.0, None, 12.0, None]
    spans = [
        Span(trace_id=f"{i + 1:032x}", span_id=f"{i + 1:016x}", name="llm", start_time_ns=10**18 + i,
             end_time_ns=10**18 + i + 5, attributes=attrs)
        for i, attrs in enumerate(cases)
    ]  # fmt: skip
    sql = "SELECT attr_tokens FROM spans ORDER BY span_id"
    with fresh_chdb_store() as store:
        store.write("p", IngestBatch(spans=spans[:3]))
        # as a store from before 0900: the column goes, and the migration runs again over the stored spans
        store._ex.command("ALTER TABLE spans_data DROP COLUMN attr_tokens")
        store._ex.command("DELETE FROM schema_migrations WHERE id = '0900_span_tokens'")
        store._ex.command("OPTIMIZE TABLE schema_migrations FINAL")
        migrated = ClickHouseStore(store._ex)
        assert "0900_span_tokens" in migrated.migrations_applied()
        migrated.write("p", IngestBatch(spans=spans[3:]))  # and new spans get it on insert
        assert [r[0] for r in migrated.query_rows(sql)] == want
        assert [r[0] for r in migrated.query_rows(sql.replace("spans ORDER", "spans_data FINAL ORDER"))] == want
