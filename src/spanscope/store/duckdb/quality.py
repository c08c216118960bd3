"""The quality-loop methods of :class:`~spanscope.store.duckdb.DuckDBStore`: datasets (``datasets.py``),
evaluation runs (``evals.py``) and finding history / values (``findings.py``).

Those modules are engine-neutral; this one gives them DuckDB's write primitives: one transaction per
operation, rows inserted through one Arrow table (``write.insert_rows``, the store's one insert path), rows
changed by ``UPDATE``, a dataset removed by ``DELETE``. ClickHouse's are in ``store/clickhouse/quality.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

import duckdb
import pyarrow as pa

from spanscope.store.datasets_core import QUALITY_COLUMNS
from spanscope.store.duckdb.datasets import DatasetMixin
from spanscope.store.duckdb.evals import EvalRunMixin
from spanscope.store.duckdb.findings import FindingsMixin
from spanscope.store.duckdb.write import insert_rows

_VERBS = {None: "INSERT", "ignore": "INSERT OR IGNORE", "replace": "INSERT OR REPLACE"}
_DATASET_TABLES = (
    ("dataset_members", "dataset"),
    ("dataset_revisions", "dataset"),
    ("dataset_versions", "dataset"),
    ("datasets", "name"),
)


@cache
def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a quality table (``datasets_core.QUALITY_COLUMNS``)."""
    return pa.schema([(name, getattr(pa, typ)()) for name, typ in QUALITY_COLUMNS[table]])


def _checked(table: str, columns: Any) -> list[str]:
    known = {name for name, _ in QUALITY_COLUMNS[table]}
    cols = list(columns)
    if not set(cols) <= known:  # names reach SQL text: only the table's own
        raise ValueError(f"unknown columns of {table}: {sorted(set(cols) - known)}")
    return cols


class QualityMixin(DatasetMixin, EvalRunMixin, FindingsMixin):
    """Datasets, evaluation runs and finding history, on the engine's connection."""

    _con: duckdb.DuckDBPyConnection

    @contextmanager
    def _write_op(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self._con.cursor()
        try:
            con.execute("BEGIN")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def _put_rows(self, con: Any, table: str, rows: list[tuple[Any, ...]], on_conflict: str | None = None) -> None:
        insert_rows(con, table, arrow_schema(table), rows, _VERBS[on_conflict])

    def _set_row(self, con: Any, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        sets = ", ".join(f"{c} = ?" for c in _checked(table, values))
        where = " AND ".join(f"{c} = ?" for c in _checked(table, key))
        con.execute(f"UPDATE {table} SET {sets} WHERE {where}", [*values.values(), *key.values()])

    def _drop_dataset_rows(self, con: Any, project: str, name: str) -> None:
        for table, col in _DATASET_TABLES:
            con.execute(f"DELETE FROM {table} WHERE project = ? AND {col} = ?", [project, name])
