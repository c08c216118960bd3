"""What the write path stores beside what it was sent: typed hot columns, sort order, upsert without an index.

The read side (``spanscope.query``) relies on these, so they live next to the schema rather than in the write
path:

- **Hot columns** (``HOT_COLUMNS``): a few attributes copied into typed columns of ``spans`` when a span is
  written, with exactly the value the filter compiler's JSON extraction gives, so the planner can read the
  column instead of parsing ``attributes`` (``span.attributes.usage.total_tokens > 1000`` scans 8 bytes per
  span instead of ~120 bytes of JSON text).
- **Sort order**: spans are appended trace by trace, traces in start-time order. Time order gives the
  row groups tight ``start_time_ns`` zone maps (a whole-trace read and a time-bounded search skip almost
  every row group); keeping a trace's spans adjacent lets ZSTD store the text a trace repeats across its
  spans (a root span's inputs are usually its LLM span's inputs) once.
- **Upsert without a primary key**: an ART index on ``(project, trace_id, span_id)`` costs ~96 bytes per span
  on disk, more than the span itself. Last-write-wins is kept by deleting the stored copies of incoming
  spans first, looking only at row groups that can hold them: a stored span of a trace starts at or after
  the trace's recorded start (so spans of a trace seen for the first time need no delete at all).
  ``traces`` and ``trace_info`` are replaced the same way (:func:`delete_keys`): their composite primary
  keys served only ``INSERT OR REPLACE`` (DuckDB uses no composite index for lookups) and every checkpoint
  rewrote them, ~50 bytes per span of file between them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from spanscope.store.schema import HOT_SELECT, SPAN_ORDER


def insert_spans(con: duckdb.DuckDBPyConnection, incoming: str = "incoming_spans") -> None:
    """Upsert the spans of the registered relation ``incoming`` (the 15 columns of ``spans`` before the hot
    columns, at most one row per ``(project, trace_id, span_id)``) into ``spans``, last write wins.

    Call it inside the write transaction, before the ``traces`` summaries are rewritten (it reads the
    recorded start of each incoming trace).
    """
    row = con.execute(
        f"SELECT min(t.start_time_ns) FROM traces t JOIN (SELECT DISTINCT project, trace_id FROM {incoming}) i "
        "USING (project, trace_id)"
    ).fetchone()
    bound = row[0] if row else None
    if bound is not None:
        con.execute(
            f"DELETE FROM spans s WHERE s.start_time_ns >= ? AND EXISTS (SELECT 1 FROM {incoming} i "
            "WHERE i.project = s.project AND i.trace_id = s.trace_id AND i.span_id = s.span_id)",
            [bound],
        )
    con.execute(f"INSERT INTO spans BY NAME SELECT *, {HOT_SELECT} FROM {incoming} ORDER BY {SPAN_ORDER}")


def delete_keys(con: duckdb.DuckDBPyConnection, table: str, keys: list[tuple[str, str]]) -> None:
    """Delete the rows of ``table`` (``traces`` or ``trace_info``) whose ``(project, trace_id)`` is in ``keys``,
    before inserting their new versions (a replace, in the caller's transaction)."""
    if not keys:
        return
    if table not in ("traces", "trace_info"):
        raise ValueError(f"delete_keys does not handle {table!r}")
    con.register("replaced_keys", pa.table({"project": [k[0] for k in keys], "trace_id": [k[1] for k in keys]}))
    try:
        con.execute(
            f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM replaced_keys k "
            f"WHERE k.project = {table}.project AND k.trace_id = {table}.trace_id)"
        )
    finally:
        con.unregister("replaced_keys")
