"""Writes to the DuckDB store: one transaction per group of requests (see ``store.durable``).

Spans are upserted (last write wins), trace-level facts merged key by key, findings and standalone events
added, then the ``traces`` summary row of every touched trace recomputed from its spans. Every table is
written through one Arrow table per statement: DuckDB's ``executemany`` costs ~0.5 ms per row.
"""

from __future__ import annotations

import os
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from spanscope.ingest.native import IngestBatch
from spanscope.store.duckdb.derive import HOT_INCOMING, delete_keys, hot_row, insert_spans
from spanscope.store.reports import report_rows

_encode = msgspec.json.encode
_decode = msgspec.json.decode

_SPAN_COLUMNS = (
    "project",
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time_ns",
    "end_time_ns",
    "duration_ms",
    "status",
    "status_message",
    "attributes",
    "inputs",
    "outputs",
    "events",
)
_SPAN_TYPES = (
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.int64(),
    pa.int64(),
    pa.float64(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
    pa.string(),
)
_SPAN_SCHEMA = pa.schema(list(zip(_SPAN_COLUMNS, _SPAN_TYPES, strict=True)))
# What write_many registers: the span columns, then the hot values computed in Python (derive.hot_row).
_INCOMING_SCHEMA = pa.schema([*zip(_SPAN_COLUMNS, _SPAN_TYPES, strict=True), *HOT_INCOMING])
_INCOMING_TYPES = tuple(f.type for f in _INCOMING_SCHEMA)


def _in_span_order(spans: dict[tuple[str, str, str], tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows in ``SPAN_ORDER`` (a trace's spans together, traces by their earliest span, then by start and
    span id): sorting row references here is cheaper than DuckDB moving wide rows in an ``ORDER BY``."""
    first: dict[tuple[str, str], int] = {}
    for row in spans.values():
        key = (row[0], row[1])
        start = first.get(key)
        if start is None or row[6] < start:
            first[key] = row[6]
    return sorted(spans.values(), key=lambda r: (first[(r[0], r[1])], r[0], r[1], r[6], r[2]))


_RECOMPUTE_TRACES = """
INSERT INTO traces
WITH sp AS (
    -- The lower bound on start time lets DuckDB skip row groups by their zone maps: every span of a
    -- touched trace starts at or after the trace's known start or the batch's earliest span.
    SELECT s.* FROM spans s JOIN touched USING (project, trace_id) WHERE s.start_time_ns >= $bound
),
ranked AS (
    SELECT sp.*, row_number() OVER (
        PARTITION BY project, trace_id
        ORDER BY (parent_span_id IS NOT NULL), start_time_ns, span_id
    ) AS rn
    FROM sp
),
agg AS (
    SELECT project, trace_id, count(*) AS n, min(start_time_ns) AS mn, max(end_time_ns) AS mx
    FROM sp GROUP BY project, trace_id
)
SELECT
    t.project, t.trace_id, r.span_id, r.name, a.mn, a.mx, (a.mx - a.mn) / 1e6,
    coalesce(r.status, 'UNSET'), coalesce(a.n, 0),
    i.tags, i.metadata, i.session_id, i.user_id
FROM touched t
LEFT JOIN ranked r ON r.project = t.project AND r.trace_id = t.trace_id AND r.rn = 1
LEFT JOIN agg a ON a.project = t.project AND a.trace_id = t.trace_id
LEFT JOIN trace_info i ON i.project = t.project AND i.trace_id = t.trace_id
"""


_INFO_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("tags", pa.string()),
        ("metadata", pa.string()),
        ("session_id", pa.string()),
        ("user_id", pa.string()),
    ]
)
_TRACE_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("root_span_id", pa.string()),
        ("name", pa.string()),
        ("start_time_ns", pa.int64()),
        ("end_time_ns", pa.int64()),
        ("duration_ms", pa.float64()),
        ("status", pa.string()),
        ("span_count", pa.int32()),
        ("tags", pa.string()),
        ("metadata", pa.string()),
        ("session_id", pa.string()),
        ("user_id", pa.string()),
    ]
)
_FINDING_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("finding_id", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("name", pa.string()),
        ("value", pa.string()),
        ("source", pa.string()),
        ("rationale", pa.string()),
        ("time_ns", pa.int64()),
        ("metadata", pa.string()),
    ]
)
_EVENT_SCHEMA = pa.schema(
    [
        ("project", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("name", pa.string()),
        ("time_ns", pa.int64()),
        ("attributes", pa.string()),
    ]
)


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, rows: list[tuple[Any, ...]], verb: str = "INSERT"
) -> None:
    """Insert row tuples through one Arrow table: DuckDB's executemany costs ~1 ms per row. ``verb`` is
    ``INSERT``, ``INSERT OR REPLACE`` or ``INSERT OR IGNORE``; the store's one insert path."""
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    tbl = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)
    con.register("incoming_rows", tbl)
    try:
        con.execute(f"{verb} INTO {table} SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")


_SDK_REPORT_SCHEMA = pa.schema(
    [("project", pa.string()), ("time_ns", pa.int64()), ("sdk", pa.string()), ("version", pa.string()),
     ("reason", pa.string()), ("dropped", pa.int64()), ("report_id", pa.string())]
)  # fmt: skip


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, msgspec.Raw):  # inputs/outputs straight from an ingest body: already JSON
        return None if not len(value) or bytes(value) == b"null" else bytes(value).decode()
    return _encode(value).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


class WriteMixin:
    """The write half of :class:`DuckDBStore`."""

    _con: duckdb.DuckDBPyConnection
    read_only: bool

    def write(self, project: str, batch: IngestBatch) -> None:
        """Write one batch now, in its own transaction (tools and tests; the server uses ``write_many``)."""
        if self.read_only:
            raise RuntimeError("store is open read-only")
        if batch.accepted_total:
            self.write_many([(project, batch)])

    def write_many(self, jobs: list[tuple[str, IngestBatch]]) -> None:
        """Write a group of batches in one transaction."""
        spans: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        touched: set[tuple[str, str]] = set()
        infos: dict[tuple[str, str], list[Any]] = {}
        findings: dict[tuple[str, str], tuple[Any, ...]] = {}
        events: list[tuple[Any, ...]] = []
        reports: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for project, batch in jobs:
            for s in batch.spans:
                spans[(project, s.trace_id, s.span_id)] = (
                    project,
                    s.trace_id,
                    s.span_id,
                    s.parent_span_id,
                    s.name,
                    s.kind,
                    s.start_time_ns,
                    s.end_time_ns,
                    (s.end_time_ns - s.start_time_ns) / 1e6,
                    s.status,
                    s.status_message,
                    _encode(s.attributes).decode(),
                    _json_or_none(s.inputs),
                    _json_or_none(s.outputs),
                    _encode(s.events).decode() if s.events else None,
                    *hot_row(s.attributes),
                )
                touched.add((project, s.trace_id))
            for info in batch.traces:
                infos.setdefault((project, info.trace_id), []).append(info)
                touched.add((project, info.trace_id))
            for f in batch.findings:
                fid = f.finding_id or os.urandom(16).hex()
                findings[(project, fid)] = (
                    project,
                    fid,
                    f.trace_id,
                    f.span_id,
                    f.name,
                    _encode(f.value).decode(),
                    f.source,
                    f.rationale,
                    f.time_ns,
                    _json_or_none(f.metadata or None),
                )
            for e in batch.events:
                events.append((project, e.trace_id, e.span_id, e.name, e.time_ns, _encode(e.attributes).decode()))
            if batch.sdk_stats:  # (no id drawn for the batches without a report: the ingest path)
                for project_, rid, reason, t, sdk, version, n in report_rows(project, batch, os.urandom(8).hex()):
                    reports[(project_, rid, reason)] = (project_, t, sdk, version, reason, n, rid)
        con = self._con.cursor()
        try:
            con.execute("BEGIN")
            if spans:
                cols = list(zip(*_in_span_order(spans), strict=True))
                tbl = pa.Table.from_arrays(
                    [pa.array(c, type=t) for c, t in zip(cols, _INCOMING_TYPES, strict=True)], schema=_INCOMING_SCHEMA
                )
                con.register("incoming_spans", tbl)
                insert_spans(con, precomputed=True)  # last write wins, typed hot columns, trace/time order
                con.unregister("incoming_spans")
            info_rows = self._merge_trace_info(con, infos) if infos else {}
            if findings:
                insert_rows(con, "findings", _FINDING_SCHEMA, list(findings.values()), "INSERT OR REPLACE")
            if events:
                insert_rows(con, "events", _EVENT_SCHEMA, events, "INSERT")
            if reports:
                # a report replayed from the ingest log is there already (``store/reports.py``)
                insert_rows(con, "sdk_reports", _SDK_REPORT_SCHEMA, list(reports.values()), "INSERT OR IGNORE")
            if touched:
                self._update_summaries(con, touched, spans, info_rows)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _update_summaries(
        self,
        con: duckdb.DuckDBPyConnection,
        touched: set[tuple[str, str]],
        spans: dict[tuple[str, str, str], tuple[Any, ...]],
        info_rows: dict[tuple[str, str], tuple[Any, ...]],
    ) -> None:
        """Rewrite the ``traces`` row of every touched trace.

        A trace seen for the first time (the common case: the SDK sends a trace's spans within moments)
        is summarised here from the batch alone. A trace that already has a row is recomputed in SQL
        from all its spans, so pieces arriving in any order, and spans written twice, stay correct.
        """
        keys = list(touched)
        con.register("touched", pa.table({"project": [k[0] for k in keys], "trace_id": [k[1] for k in keys]}))
        try:
            existing = {
                (r[0], r[1]): r[2]
                for r in con.execute(
                    "SELECT t.project, t.trace_id, t.start_time_ns FROM traces t JOIN touched USING (project, trace_id)"
                ).fetchall()
            }
        finally:
            con.unregister("touched")
        by_trace: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for row in spans.values():
            by_trace.setdefault((row[0], row[1]), []).append(row)
        fresh_rows = []
        for key in keys:
            if key in existing:
                continue
            info = info_rows.get(key, (None, None, None, None))
            rows = by_trace.get(key)
            if not rows:
                fresh_rows.append((*key, None, None, None, None, None, "UNSET", 0, *info))
                continue
            root = min(rows, key=lambda r: (r[3] is not None, r[6], r[2]))
            start = min(r[6] for r in rows)
            end = max(r[7] for r in rows)
            fresh_rows.append((*key, root[2], root[4], start, end, (end - start) / 1e6, root[9], len(rows), *info))
        if fresh_rows:
            insert_rows(con, "traces", _TRACE_SCHEMA, fresh_rows, "INSERT")  # new traces: no row to replace
        stale = [k for k in keys if k in existing]
        if not stale:
            return
        # Every span of a stale trace starts at or after its known start or the batch's earliest span of
        # it; the bound lets DuckDB skip row groups by their zone maps instead of scanning all spans.
        bound = min(existing[k] if existing[k] is not None else 0 for k in stale)
        for k in stale:
            for r in by_trace.get(k, ()):
                bound = min(bound, r[6])
        con.register("touched", pa.table({"project": [k[0] for k in stale], "trace_id": [k[1] for k in stale]}))
        try:
            delete_keys(con, "traces", stale)  # replaced by the recomputed rows (no primary key: derive.py)
            con.execute(_RECOMPUTE_TRACES, {"bound": bound})
        finally:
            con.unregister("touched")

    def _merge_trace_info(
        self, con: duckdb.DuckDBPyConnection, infos: dict[tuple[str, str], list[Any]]
    ) -> dict[tuple[str, str], tuple[Any, ...]]:
        keys = list(infos)
        existing: dict[tuple[str, str], tuple[Any, ...]] = {}
        con.register("info_keys", pa.table({"project": [k[0] for k in keys], "trace_id": [k[1] for k in keys]}))
        for row in con.execute(
            "SELECT i.project, i.trace_id, i.tags, i.metadata, i.session_id, i.user_id "
            "FROM trace_info i JOIN info_keys USING (project, trace_id)"
        ).fetchall():
            existing[(row[0], row[1])] = row[2:]
        con.unregister("info_keys")
        rows = []
        for key, items in infos.items():
            old = existing.get(key)
            tags: dict[str, Any] = _loads(old[0]) or {} if old else {}
            metadata: dict[str, Any] = _loads(old[1]) or {} if old else {}
            session_id = old[2] if old else None
            user_id = old[3] if old else None
            for info in items:
                tags.update(info.tags)
                metadata.update(info.metadata)
                session_id = info.session_id or session_id
                user_id = info.user_id or user_id
            rows.append((key[0], key[1], _encode(tags).decode(), _encode(metadata).decode(), session_id, user_id))
        delete_keys(con, "trace_info", list(existing))  # replaced below (no primary key: derive.py)
        insert_rows(con, "trace_info", _INFO_SCHEMA, rows, "INSERT")
        return {(r[0], r[1]): r[2:] for r in rows}

    # ------------------------------------------------------------------ reads
