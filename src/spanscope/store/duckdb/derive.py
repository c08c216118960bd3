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

import math
from typing import Any

import duckdb
import pyarrow as pa

from spanscope.store.schema import HOT_COLUMNS, HOT_SELECT, SPAN_ORDER, hot_column_sql

# The hot columns computed in Python by the writer (``hot_row``), beside the span's 15 columns.
HOT_EXACT = "hot_exact"
HOT_INCOMING: tuple[tuple[str, pa.DataType], ...] = (
    (HOT_EXACT, pa.bool_()),
    *(
        (f"hot_{col}", pa.string() if sql_type == "VARCHAR" else pa.float64())
        for col, (_, sql_type) in HOT_COLUMNS.items()
    ),
)
_HOT_KEYS = tuple((key, sql_type == "VARCHAR") for key, sql_type in HOT_COLUMNS.values())
_NOT_EXACT = (False,) + (None,) * len(HOT_COLUMNS)
# When the writer computed the hot values (the common case) DuckDB copies them; otherwise it extracts them
# from the JSON text (CASE evaluates each branch only for the rows that take it).
HOT_SELECT_PRECOMPUTED = ", ".join(
    f"CASE WHEN {HOT_EXACT} THEN hot_{col} ELSE {hot_column_sql(col)} END AS {col}" for col in HOT_COLUMNS
)


def hot_row(attributes: dict[str, Any]) -> tuple[Any, ...]:
    """``(exact, value...)``: a span's hot column values computed in Python, exactly as the SQL extraction
    (``hot_column_sql``) gives them, when every value is of a type where that is certain: a string for a text
    column, a finite int or float for a numeric one, or absent. Otherwise ``exact`` is False and DuckDB
    extracts them from the JSON text. Saves DuckDB parsing every span's attributes once per hot column."""
    out: list[Any] = [True]
    for key, is_text in _HOT_KEYS:
        value = attributes.get(key)
        if value is None:
            out.append(None)
        elif is_text:
            if type(value) is not str:
                return _NOT_EXACT
            out.append(value)
        elif type(value) is int and -(2**53) <= value <= 2**53:
            out.append(float(value))
        elif type(value) is float and math.isfinite(value):
            out.append(value)
        else:
            return _NOT_EXACT
    return tuple(out)


def insert_spans(
    con: duckdb.DuckDBPyConnection, incoming: str = "incoming_spans", *, precomputed: bool = False
) -> None:
    """Upsert the spans of the registered relation ``incoming`` (the 15 columns of ``spans`` before the hot
    columns, at most one row per ``(project, trace_id, span_id)``) into ``spans``, last write wins.

    ``precomputed``: ``incoming`` also has the ``HOT_INCOMING`` columns (from :func:`hot_row`) and its rows
    are already in ``SPAN_ORDER`` (the writer sorts them in Python, cheaper than DuckDB moving wide rows).

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
    if precomputed:
        hot = ", ".join(name for name, _ in HOT_INCOMING)
        con.execute(f"INSERT INTO spans BY NAME SELECT * EXCLUDE ({hot}), {HOT_SELECT_PRECOMPUTED} FROM {incoming}")
    else:
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
