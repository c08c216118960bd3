"""Reads from the DuckDB store: whole traces and trace searches (filter compiled by ``spanscope.query``)."""

from __future__ import annotations

import base64
from typing import Any

import duckdb
import msgspec

from spanscope.model import Event, Finding, Span, Trace
from spanscope.query import FilterError, compile_filter, compile_order_by, parse_extract_field, resolve_extract_field
from spanscope.store.base import SearchResult, TraceRow

MAX_RESULTS_LIMIT = 10_000

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


class ReadMixin:
    """The read half of :class:`DuckDBStore`."""

    _con: duckdb.DuckDBPyConnection

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
    try:
        padded = token + "=" * (-len(token) % 4)
        data = _decode(base64.urlsafe_b64decode(padded.encode()))
        offset = int(data["o"])
        if offset < 0:
            raise ValueError
        return offset
    except Exception:  # noqa: BLE001 - any malformed token is the same user error
        raise FilterError("invalid page_token", 1) from None
