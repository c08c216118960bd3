"""Datasets, evaluation runs and finding history on ClickHouse: the engine-neutral methods of
``store/duckdb/{datasets,evals,findings}.py`` over ClickHouse's write primitives.

Reads run unchanged: the views of ``schema.py`` (migrations ``0100_datasets``, ``0101_eval_runs``) have the
DuckDB tables' names and columns and keep the newest version of each key.

ClickHouse has no transactions. What stands in for them: every row one operation writes carries that
operation's ``_version`` (a per-process increasing ns clock), and each operation writes last the one row
that makes the others visible. An operation's ``_version`` is above every ``_version`` already in the
dataset and run tables, so it supersedes what it read even from a replica whose clock runs behind. So a
crash half-way leaves nothing visible:

- **create a dataset**: version 0's row, then the dataset's row. Version rows count only while a live
  dataset row as old as them or older exists, so a lone version 0 is never read, and creating again works.
- **commit a version**: revisions (content-addressed: a repeat is the same row), members, then the
  version's row. A version's members are the rows written with its row's ``_version``: members of an
  interrupted commit are never read, and the next commit of that number writes its own.
- **delete a dataset**: one tombstone row (``deleted = 1``). Versions, members and revisions of that
  dataset are older than any later dataset of the same name, so they are never read again; the delete then
  drops them (lightweight ``DELETE … WHERE _version < <the tombstone's>``, which spares a dataset of the same
  name created meanwhile). A crash or a failed ``DELETE`` (a ``Distributed`` table takes none) only leaves
  rows that nothing reads.

Evaluation runs are idempotent when redone instead: results are keyed ``(project, run_id, record_id)``
(sent again, they replace themselves), and a run's row is rewritten whole (read, change, write a newer
version) with its ``record_count`` recounted from the stored results every time, so the next
``add_run_results`` or ``finish_run`` mends an interrupted one.

Concurrency: changes are serialized per process (``_LOCK`` of ``datasets.py`` / ``evals.py``). Two
replicas changing the same dataset or run at the same moment: the newer ``_version`` wins whole (a
version's members come from the same operation as its row, never a mix).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from spanscope.store.clickhouse.executor import Cursor, Executor
from spanscope.store.datasets_core import quality_column_names
from spanscope.store.duckdb.quality import QualityMixin

log = logging.getLogger("spanscope.store")
_DATASET_ROWS: Final = ("dataset_members_data", "dataset_revisions_data", "dataset_versions_data")
_clock_lock = threading.Lock()
_last_version = 0


def next_version(floor: int = 0) -> int:
    """The ``_version`` of a new operation: the time in ns, strictly increasing within the process (two
    operations in the same ns must not tie, or a read could not tell which is newer) and above ``floor``."""
    global _last_version
    with _clock_lock:
        _last_version = max(time.time_ns(), _last_version + 1, floor + 1)
        return _last_version


# The newest ``_version`` an operation may have to supersede: a replica whose clock is behind another's must
# still write a newer dataset version, or a newer state of a run, than the one it read (a Lamport clock
# carried by the tables themselves). Small tables; results and members are never superseded across replicas.
_NEWEST: Final = (
    "SELECT greatest((SELECT max(_version) FROM datasets_data), (SELECT max(_version) FROM dataset_versions_data), "
    "(SELECT max(_version) FROM eval_runs_data))"
)


class Operation(Cursor):
    """A cursor for one write operation, with the ``_version`` its rows carry."""

    def __init__(self, executor: Executor, version: int):
        super().__init__(executor)
        self.version = version


class ClickHouseQualityMixin(QualityMixin):
    """The quality methods of :class:`~spanscope.store.clickhouse.ClickHouseStore`."""

    _ex: Executor

    @contextmanager
    def _write_op(self) -> Iterator[Operation]:  # type: ignore[override]
        row = self._ex.rows(_NEWEST)
        op = Operation(self._ex, next_version(int(row[0][0] or 0) if row else 0))
        try:
            yield op
        finally:
            op.close()

    def _put_rows(self, con: Any, table: str, rows: list[tuple[Any, ...]], on_conflict: str | None = None) -> None:
        # on_conflict needs nothing here: keyed tables keep the newest row, and "ignore" rows are equal anyway.
        if rows:
            cols = quality_column_names(table)
            self._ex.insert(f"{table}_data", (*cols, "_version"), [(*r, con.version) for r in rows])

    def _set_row(self, con: Any, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        cols = quality_column_names(table)
        if not set(key) | set(values) <= set(cols):  # names reach SQL text: only the table's own
            raise ValueError(f"unknown columns of {table}: {sorted(set(key) | set(values) - set(cols))}")
        where = " AND ".join(f"{c} = ?" for c in key)
        row = con.execute(f"SELECT {', '.join(cols)} FROM {table} WHERE {where}", list(key.values())).fetchone()
        if row is None:
            return
        new = {**dict(zip(cols, row, strict=True)), **values}
        self._put_rows(con, table, [tuple(new[c] for c in cols)])

    def _drop_dataset_rows(self, con: Any, project: str, name: str) -> None:
        self._ex.insert(
            "datasets_data",
            ("project", "name", "created_at_ns", "deleted", "_version"),
            [(project, name, 0, 1, con.version)],
        )
        for table in _DATASET_ROWS:  # hidden by the tombstone already: storage only (module doc)
            try:
                self._ex.command(
                    f"DELETE FROM {table} WHERE project = ? AND dataset = ? AND _version < ?",
                    [project, name, con.version],
                )
            except Exception:  # noqa: BLE001 - the rows stay unread; logged for the operator
                log.warning("could not drop the rows of deleted dataset %r from %s", name, table, exc_info=True)


__all__ = ["ClickHouseQualityMixin", "Operation", "next_version"]
