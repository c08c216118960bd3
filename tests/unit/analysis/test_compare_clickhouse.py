"""compare() on ClickHouse (chDB): the member traces found once (``MATERIALIZED``) where the server takes it, the
plain statement where it does not (ClickHouse before 26.3), and the same answers as DuckDB either way."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest

from spanscope.analysis import engine
from spanscope.ingest.native import decode_ingest
from spanscope.store.duckdb import DuckDBStore
from tests.unit.analysis.test_engine import make_dataset
from tests.unit.store.engines import fresh_chdb_store

PAIRS = [
    ("tag.slow = true", "tag.slow = false"),
    (None, "tag.slow = true"),  # overlapping cohorts (grouped apart)
    ("span.kind = 'llm' AND span.duration_ms > 300", "tag.model = 'small'"),  # a correlated span condition
    ("span.name = 'db.query' AND span.duration_ms > p95", "ANY span(descendant(span.name = 'db.query'))"),
]


class OldServer:
    """A store whose server rejects ``MATERIALIZED`` CTEs, as ClickHouse before 26.3 does."""

    def __init__(self, store: Any):
        self.store = store
        self.dialect = store.dialect
        self.statements: list[str] = []

    def query_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        if "MATERIALIZED" in sql:
            raise RuntimeError("Code: 62. DB::Exception: Syntax error")
        return self.store.query_rows(sql, params)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DuckDBStore, Any]]:
    spans, infos = make_dataset(120, seed=7)
    batch = decode_ingest(msgspec.json.encode({"spans": spans, "traces": infos}))
    duck = DuckDBStore(Path(tmp_path_factory.mktemp("compare")) / "db")
    duck.write("p", batch)
    with fresh_chdb_store() as ch:
        ch.write("p", batch)
        yield duck, ch
    duck.close()


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


@pytest.mark.parametrize(("filter_a", "filter_b"), PAIRS)
def test_compare_same_answers_with_and_without_materialized_members(stores: Any, filter_a: Any, filter_b: Any) -> None:
    duck, ch = stores
    old = OldServer(ch)
    expected = _rounded(engine.compare(duck, "p", filter_a, filter_b))
    assert _rounded(engine.compare(ch, "p", filter_a, filter_b)) == expected
    assert _rounded(engine.compare(old, "p", filter_a, filter_b)) == expected
    assert engine._materialized_cte(ch) is not None and engine._materialized_cte(old) is None
    probes = [s for s in old.statements if "MATERIALIZED" in s]
    assert len(probes) == 1  # asked once per store, then the plain statement
