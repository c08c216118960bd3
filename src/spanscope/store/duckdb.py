"""The embedded store: one DuckDB file, owned by the server process (one writer).

Writes go through a :class:`GroupCommitWriter`; each group is one transaction: spans upserted (last write
wins), trace-level facts merged, findings and standalone events added, then the ``traces`` summary rows of
every touched trace recomputed from its spans. Reads use a cursor per call, so they run beside the writer.
"""

from __future__ import annotations

import base64
import os
import threading
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pyarrow as pa

from spanscope.ingest.native import IngestBatch
from spanscope.model import Event, Finding, Span, Trace
from spanscope.query import compile_filter, compile_order_by, parse_extract_field, resolve_extract_field
from spanscope.store.base import SearchResult, TraceRow
from spanscope.store.schema import MIGRATIONS, SCHEMA_VERSION
from spanscope.store.writer import GroupCommitWriter

DB_FILENAME = "spanscope.duckdb"
MAX_RESULTS_LIMIT = 10_000

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

_RECOMPUTE_TRACES = """
INSERT OR REPLACE INTO traces
WITH sp AS (
    SELECT s.* FROM spans s JOIN touched USING (project, trace_id)
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
    coalesce(r.status, 'UNSET'), r.inputs, r.outputs, coalesce(a.n, 0),
    i.tags, i.metadata, i.session_id, i.user_id
FROM touched t
LEFT JOIN ranked r ON r.project = t.project AND r.trace_id = t.trace_id AND r.rn = 1
LEFT JOIN agg a ON a.project = t.project AND a.trace_id = t.trace_id
LEFT JOIN trace_info i ON i.project = t.project AND i.trace_id = t.trace_id
"""


_INFO_SCHEMA = pa.schema(
    [("project", pa.string()), ("trace_id", pa.string()), ("tags", pa.string()), ("metadata", pa.string()),
     ("session_id", pa.string()), ("user_id", pa.string())]
)
_FINDING_SCHEMA = pa.schema(
    [("project", pa.string()), ("finding_id", pa.string()), ("trace_id", pa.string()), ("span_id", pa.string()),
     ("name", pa.string()), ("value", pa.string()), ("source", pa.string()), ("rationale", pa.string()),
     ("time_ns", pa.int64()), ("metadata", pa.string())]
)
_EVENT_SCHEMA = pa.schema(
    [("project", pa.string()), ("trace_id", pa.string()), ("span_id", pa.string()), ("name", pa.string()),
     ("time_ns", pa.int64()), ("attributes", pa.string())]
)


def _insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema, rows: list[tuple[Any, ...]], verb: str
) -> None:
    """Insert row tuples through one Arrow table: DuckDB's executemany costs ~1 ms per row."""
    cols = list(zip(*rows, strict=True))
    tbl = pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema)
    con.register("incoming_rows", tbl)
    try:
        con.execute(f"{verb} INTO {table} SELECT * FROM incoming_rows")
    finally:
        con.unregister("incoming_rows")


def _json_or_none(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


class DuckDBStore:
    """The default engine. ``path`` is a directory (the file inside is ``spanscope.duckdb``) or a file."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False, write_batch_rows: int = 20_000):
        p = Path(path)
        if p.suffix != ".duckdb":
            p.mkdir(parents=True, exist_ok=True)
            p = p / DB_FILENAME
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
        self.path = p
        self.read_only = read_only
        self._con = duckdb.connect(str(p), read_only=read_only)
        self._lock = threading.Lock()
        if not read_only:
            self._migrate()
            self._writer: GroupCommitWriter | None = GroupCommitWriter(self._write_many, max_rows=write_batch_rows)
        else:
            self._writer = None

    # ------------------------------------------------------------------ schema
    def _migrate(self) -> None:
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] if row and row[0] is not None else 0
        for version in sorted(MIGRATIONS):
            if version <= current:
                continue
            con.execute("BEGIN")
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (?)", [version])
            con.execute("COMMIT")
        assert max(MIGRATIONS) == SCHEMA_VERSION

    # ------------------------------------------------------------------ writes
    def write(self, project: str, batch: IngestBatch) -> None:
        if self._writer is None:
            raise RuntimeError("store is open read-only")
        if batch.accepted_total == 0:
            return
        self._writer.write(project, batch)

    def _write_many(self, jobs: list[tuple[str, IngestBatch]]) -> None:
        spans: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        touched: set[tuple[str, str]] = set()
        infos: dict[tuple[str, str], list[Any]] = {}
        findings: dict[tuple[str, str], tuple[Any, ...]] = {}
        events: list[tuple[Any, ...]] = []
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
        con = self._con.cursor()
        try:
            con.execute("BEGIN")
            if spans:
                cols = list(zip(*spans.values(), strict=True))
                tbl = pa.Table.from_arrays(
                    [pa.array(c, type=t) for c, t in zip(cols, _SPAN_TYPES, strict=True)], schema=_SPAN_SCHEMA
                )
                con.register("incoming_spans", tbl)
                con.execute("INSERT OR REPLACE INTO spans SELECT * FROM incoming_spans")
                con.unregister("incoming_spans")
            if infos:
                self._merge_trace_info(con, infos)
            if findings:
                _insert_rows(con, "findings", _FINDING_SCHEMA, list(findings.values()), "INSERT OR REPLACE")
            if events:
                _insert_rows(con, "events", _EVENT_SCHEMA, events, "INSERT")
            if touched:
                projects, trace_ids = zip(*touched, strict=True)
                con.register("touched", pa.table({"project": list(projects), "trace_id": list(trace_ids)}))
                con.execute(_RECOMPUTE_TRACES)
                con.unregister("touched")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    def _merge_trace_info(self, con: duckdb.DuckDBPyConnection, infos: dict[tuple[str, str], list[Any]]) -> None:
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
        _insert_rows(con, "trace_info", _INFO_SCHEMA, rows, "INSERT OR REPLACE")

    # ------------------------------------------------------------------ reads
    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def get_trace(self, project: str, trace_id: str) -> Trace | None:
        con = self._cursor()
        try:
            row = con.execute(
                "SELECT trace_id, name, status, start_time_ns, end_time_ns, duration_ms, tags, metadata, "
                "session_id, user_id, inputs, outputs FROM traces WHERE project = ? AND trace_id = ?",
                [project, trace_id],
            ).fetchone()
            finding_rows = con.execute(
                "SELECT finding_id, trace_id, span_id, name, value, source, rationale, time_ns, metadata "
                "FROM findings WHERE project = ? AND trace_id = ? ORDER BY time_ns, finding_id",
                [project, trace_id],
            ).fetchall()
            if row is None and not finding_rows:
                return None
            span_rows = con.execute(
                "SELECT trace_id, span_id, parent_span_id, name, kind, start_time_ns, end_time_ns, status, "
                "status_message, attributes, inputs, outputs, events FROM spans "
                "WHERE project = ? AND trace_id = ? ORDER BY start_time_ns, span_id",
                [project, trace_id],
            ).fetchall()
            event_rows = con.execute(
                "SELECT span_id, name, time_ns, attributes FROM events WHERE project = ? AND trace_id = ? "
                "ORDER BY time_ns",
                [project, trace_id],
            ).fetchall()
        finally:
            con.close()
        extra_events: dict[str, list[Event]] = {}
        for span_id, name, time_ns, attrs in event_rows:
            extra_events.setdefault(span_id, []).append(
                Event(name=name, time_ns=time_ns, attributes=_loads(attrs) or {})
            )
        spans = []
        for r in span_rows:
            evs = [msgspec.convert(e, Event) for e in (_loads(r[12]) or [])]
            evs.extend(extra_events.get(r[1], ()))
            evs.sort(key=lambda e: e.time_ns)
            spans.append(
                Span(
                    trace_id=r[0],
                    span_id=r[1],
                    parent_span_id=r[2],
                    name=r[3],
                    kind=r[4],
                    start_time_ns=r[5],
                    end_time_ns=r[6],
                    status=r[7],
                    status_message=r[8],
                    attributes=_loads(r[9]) or {},
                    inputs=_loads(r[10]),
                    outputs=_loads(r[11]),
                    events=evs,
                )
            )
        findings = [
            Finding(
                finding_id=f[0],
                trace_id=f[1],
                span_id=f[2],
                name=f[3],
                value=_loads(f[4]),
                source=f[5],
                rationale=f[6],
                time_ns=f[7],
                metadata=_loads(f[8]) or {},
            )
            for f in finding_rows
        ]
        if row is None:
            return Trace(
                trace_id=trace_id,
                project=project,
                name=None,
                status="UNSET",
                start_time_ns=None,
                end_time_ns=None,
                duration_ms=None,
                spans=spans,
                findings=findings,
            )
        return Trace(
            trace_id=row[0],
            project=project,
            name=row[1],
            status=row[2],
            start_time_ns=row[3],
            end_time_ns=row[4],
            duration_ms=row[5],
            tags=_loads(row[6]) or {},
            metadata=_loads(row[7]) or {},
            session_id=row[8],
            user_id=row[9],
            inputs=_loads(row[10]),
            outputs=_loads(row[11]),
            spans=spans,
            findings=findings,
        )

    def search_traces(
        self,
        project: str,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | str | None = None,
        page_token: str | None = None,
        extract_fields: list[str] | None = None,
    ) -> SearchResult:
        where, params = compile_filter(filter_string)
        order_sql, order_params = compile_order_by(order_by)
        fields = [(f, parse_extract_field(f)) for f in (extract_fields or [])]
        limit = max(0, min(int(max_results), MAX_RESULTS_LIMIT))
        offset = decode_page_token(page_token)
        sql = (
            "SELECT trace_id, name, status, start_time_ns, duration_ms, tags, inputs, outputs FROM traces t "
            f"WHERE t.project = ? AND ({where}) ORDER BY {order_sql} LIMIT ? OFFSET ?"
        )
        con = self._cursor()
        try:
            rows = con.execute(sql, [project, *params, *order_params, limit + 1, offset]).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r[0] for r in rows]
            findings_by_trace: dict[str, list[dict[str, Any]]] = {}
            spans_by_trace: dict[str, list[dict[str, Any]]] = {}
            if ids:
                for tid, sid, name, value, time_ns in con.execute(
                    "SELECT trace_id, span_id, name, value, time_ns FROM findings "
                    "WHERE project = ? AND list_contains(?, trace_id)",
                    [project, ids],
                ).fetchall():
                    findings_by_trace.setdefault(tid, []).append(
                        {"span_id": sid, "name": name, "value": _loads(value), "time_ns": time_ns}
                    )
                if any(f.needs_spans for _, f in fields):
                    for r in con.execute(
                        "SELECT trace_id, span_id, parent_span_id, name, start_time_ns, attributes, inputs, "
                        "outputs FROM spans WHERE project = ? AND list_contains(?, trace_id) "
                        "ORDER BY start_time_ns, span_id",
                        [project, ids],
                    ).fetchall():
                        spans_by_trace.setdefault(r[0], []).append(
                            {
                                "span_id": r[1],
                                "parent_span_id": r[2],
                                "name": r[3],
                                "start_time_ns": r[4],
                                "attributes": _loads(r[5]) or {},
                                "inputs": _loads(r[6]),
                                "outputs": _loads(r[7]),
                            }
                        )
        finally:
            con.close()
        out = []
        for r in rows:
            tags = _loads(r[5]) or {}
            tfindings = findings_by_trace.get(r[0], [])
            row = TraceRow(
                trace_id=r[0],
                name=r[1],
                status=r[2],
                start_time_ns=r[3],
                duration_ms=r[4],
                tags=tags,
                request=_loads(r[6]),
                response=_loads(r[7]),
                findings=summarize_findings(tfindings),
            )
            if fields:
                ctx = {"tags": tags, "findings": tfindings, "spans": spans_by_trace.get(r[0], [])}
                row.fields = {text: resolve_extract_field(f, ctx) for text, f in fields}
            out.append(row)
        token = encode_page_token(offset + limit) if more else None
        return SearchResult(out, token)

    def count_spans(self, project: str | None = None) -> int:
        con = self._cursor()
        try:
            if project is None:
                row = con.execute("SELECT count(*) FROM spans").fetchone()
            else:
                row = con.execute("SELECT count(*) FROM spans WHERE project = ?", [project]).fetchone()
            return int(row[0]) if row else 0
        finally:
            con.close()

    def stats(self) -> dict[str, Any]:
        return self._writer.stats() if self._writer else {}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        with self._lock:
            try:
                if not self.read_only:
                    self._con.execute("CHECKPOINT")
            finally:
                self._con.close()


def summarize_findings(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One value per finding name: the latest trace-level one, else the latest on any span."""
    best: dict[str, tuple[int, int, Any]] = {}
    for f in findings:
        rank = (1 if f["span_id"] is None else 0, f["time_ns"] or 0)
        cur = best.get(f["name"])
        if cur is None or rank >= cur[:2]:
            best[f["name"]] = (*rank, f["value"])
    return {name: v[2] for name, v in best.items()}


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(_encode({"o": offset})).decode().rstrip("=")


def decode_page_token(token: str | None) -> int:
    if not token:
        return 0
    from spanscope.query import FilterError

    try:
        padded = token + "=" * (-len(token) % 4)
        data = _decode(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        if offset < 0:
            raise ValueError
        return offset
    except Exception:  # noqa: BLE001 - any malformed token is the same user error
        raise FilterError("invalid page_token", 1) from None
