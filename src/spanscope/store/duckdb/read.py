"""Reads from the DuckDB store: whole traces, trace and span searches (filters compiled by ``spanscope.query``).

Searches page with a keyset token: it holds the ORDER BY values of the page's last row, and the next page
asks for the rows after them, so page 1,000 costs what page 1 costs (an OFFSET would sort and skip every
earlier row). Tokens from the first version (``{"o": offset}``) are still accepted.

A whole-trace read finds the trace's row through the ``traces.trace_id`` index, then reads its spans only
from row groups whose ``start_time_ns`` zone maps overlap the trace's time span (spans carry no index).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Sequence
from typing import Any, Final

import duckdb
import msgspec

from spanscope.model import Event, Finding, Span, Trace
from spanscope.query import (
    DuckDBDialect,
    FilterError,
    compile_filter,
    keyset_after,
    order_terms,
    parse_extract_field,
    render_order,
    resolve_extract_field,
)
from spanscope.query.extract import ExtractField, Source
from spanscope.store.base import SearchResult, TraceRow
from spanscope.store.schema import HOT_ATTRIBUTE_COLUMNS

MAX_RESULTS_LIMIT = 10_000

_encode = msgspec.json.encode
_decode = msgspec.json.decode

DIALECT: Final = DuckDBDialect(hot_columns=HOT_ATTRIBUTE_COLUMNS)

_TRACE_SELECT: Final = (
    "t.trace_id, t.name, t.status, t.start_time_ns, t.duration_ms, t.tags, t.root_span_id, t.end_time_ns"
)
_SPAN_SELECT: Final = (
    "s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.status, s.status_message, s.start_time_ns, "
    "s.end_time_ns, s.duration_ms, s.attributes, s.inputs, s.outputs, t.name, t.tags, t.start_time_ns, t.end_time_ns"
)


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


class ReadMixin:
    """The read half of :class:`DuckDBStore`."""

    _con: duckdb.DuckDBPyConnection
    dialect = DIALECT
    # ``column`` is one of a bound list parameter (the one engine-specific piece of the page enrichment).
    IN_LIST = "{column} IN (SELECT unnest(?))"
    # Where the newest-first search reads a project's time range (any rows that cover it: it only sizes windows).
    TIME_RANGE_OF = "traces WHERE project = ?"
    # The end of a select of spans by trace id, up to the conditions (all on sorting-key columns).
    SPANS_BY_ID = "inputs, outputs FROM spans WHERE"

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        return self._con.cursor()

    def sdk_drop_totals(self, project: str) -> dict[str, Any]:
        con = self._cursor()
        try:
            return sdk_drops(con, project)
        finally:
            con.close()

    # ------------------------------------------------------------------ one trace
    def _trace_rows_by_id(self, project: str, trace_id: str) -> tuple[Any, list[Any], list[Any], list[Any]] | None:
        """One trace's rows: ``traces`` (or None), findings, spans and events; None when there is nothing."""
        con = self._cursor()
        try:
            row = con.execute(
                "SELECT trace_id, name, status, start_time_ns, end_time_ns, duration_ms, tags, metadata, "
                "session_id, user_id, root_span_id FROM traces WHERE project = ? AND trace_id = ?",
                [project, trace_id],
            ).fetchone()
            finding_rows = con.execute(
                "SELECT finding_id, trace_id, span_id, name, value, source, rationale, time_ns, metadata "
                "FROM findings WHERE project = ? AND trace_id = ? ORDER BY time_ns, finding_id",
                [project, trace_id],
            ).fetchall()
            if row is None and not finding_rows:
                return None
            window, window_params = "", []
            if row is not None and row[3] is not None:
                window, window_params = " AND start_time_ns BETWEEN ? AND ?", [row[3], row[4]]
            span_rows = con.execute(
                "SELECT trace_id, span_id, parent_span_id, name, kind, start_time_ns, end_time_ns, status, "
                "status_message, attributes, inputs, outputs, events FROM spans "
                f"WHERE project = ? AND trace_id = ?{window} ORDER BY start_time_ns, span_id",
                [project, trace_id, *window_params],
            ).fetchall()
            event_rows = con.execute(
                "SELECT span_id, name, time_ns, attributes FROM events WHERE project = ? AND trace_id = ? "
                "ORDER BY time_ns",
                [project, trace_id],
            ).fetchall()
        finally:
            con.close()
        return row, finding_rows, span_rows, event_rows

    def get_trace(self, project: str, trace_id: str) -> Trace | None:
        found = self._trace_rows_by_id(project, trace_id)
        if found is None:
            return None
        row, finding_rows, span_rows, event_rows = found
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
        root = next((s for s in spans if s.span_id == row[10]), None)
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
            inputs=root.inputs if root else None,
            outputs=root.outputs if root else None,
            spans=spans,
            findings=findings,
        )

    # ------------------------------------------------------------------ searches
    def search_traces(
        self,
        project: str,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | str | None = None,
        page_token: str | None = None,
        extract_fields: Sequence[str] | None = None,
    ) -> SearchResult:
        rows, token = self.search_rows(
            "traces", project, filter_string, max_results, order_by, page_token, extract_fields
        )
        out = [
            TraceRow(
                trace_id=r["trace_id"],
                name=r["name"],
                status=r["status"],
                start_time_ns=r["start_time_ns"],
                duration_ms=r["duration_ms"],
                tags=r["tags"],
                request=r["request"],
                response=r["response"],
                findings=r["findings"],
                fields=r["fields"],
            )
            for r in rows
        ]
        return SearchResult(out, token)

    def search_spans(
        self,
        project: str,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | str | None = None,
        page_token: str | None = None,
        extract_fields: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """One row per span: the spans of the matching traces that satisfy the filter's span conditions
        (all their spans when it has none), each with its trace's name, tags and findings."""
        rows, token = self.search_rows(
            "spans", project, filter_string, max_results, order_by, page_token, extract_fields
        )
        return {"spans": rows, "next_page_token": token}

    def count_matching(self, rows: str, project: str, filter_string: str | None = None) -> int:
        """How many traces (``rows="traces"``) or spans (``"spans"``) a search would return in all."""
        where, params = compile_filter(filter_string, self.dialect, rows=rows)
        if rows == "traces":
            sql = f"SELECT count(*) FROM traces t WHERE t.project = ? AND ({where})"
        else:
            sql = (
                "SELECT count(*) FROM spans s JOIN traces t ON t.project = s.project AND t.trace_id = s.trace_id "
                f"WHERE s.project = ? AND ({where})"
            )
        con = self._cursor()
        try:
            return int(con.execute(sql, [project, *params]).fetchone()[0])  # type: ignore[index]
        finally:
            con.close()

    def iter_search(
        self,
        rows: str,
        project: str,
        filter_string: str | None = None,
        order_by: Sequence[str] | str | None = None,
        extract_fields: Sequence[str] | None = None,
        page_size: int = 5000,
        limit: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every matching row, a page at a time (keyset pages, so the cost per page stays flat)."""
        token: str | None = None
        left = limit
        while left is None or left > 0:
            want = page_size if left is None else min(page_size, left)
            page, token = self.search_rows(rows, project, filter_string, want, order_by, token, extract_fields)
            if page:
                yield page
            if left is not None:
                left -= len(page)
            if not token:
                return

    def search_rows(
        self,
        rows: str,
        project: str,
        filter_string: str | None,
        max_results: int,
        order_by: Sequence[str] | str | None,
        page_token: str | None,
        extract_fields: Sequence[str] | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of trace or span rows (plain dicts) and the token of the next page (None at the end).

        Newest-first searches (the default order) look at the newest 1/32 of the time range first, then 1/4,
        then everything, stopping as soon as a window holds a full page: rows outside a window are all older
        than rows inside it, so the page is the same, and row groups outside the window are skipped.
        """
        d = self.dialect
        terms = order_terms(order_by, d, rows=rows)
        order = render_order(terms, d)
        fields = [(f, parse_extract_field(f)) for f in (extract_fields or [])]
        limit = max(0, min(int(max_results), MAX_RESULTS_LIMIT))
        fingerprint = _fingerprint(rows, filter_string, order.text, order.params)
        cursor = decode_page_token(page_token, fingerprint)
        con = self._cursor()
        try:
            time_column = "t.start_time_ns" if rows == "traces" else "s.start_time_ns"
            newest_first = terms[0].expr.text == time_column and terms[0].descending and not isinstance(cursor, int)
            floors: list[int | None] = [None]
            if newest_first and limit > 0:
                floors = self._window_floors(con, project, cursor[0] if cursor else None)
            for floor in floors:
                found = self._page(con, rows, project, filter_string, terms, order, cursor, limit, floor)
                if len(found) > limit:
                    break
            token = None
            if len(found) > limit:
                found = found[:limit]
                width = 8 if rows == "traces" else 17
                token = encode_page_token(list(found[-1][width:]), fingerprint)
            if rows == "traces":
                out = self._trace_rows(con, project, found, fields)
            else:
                out = self._span_rows(con, project, found, fields)
        finally:
            con.close()
        return out, token

    def _window_floors(self, con: duckdb.DuckDBPyConnection, project: str, below: Any) -> list[int | None]:
        row = con.execute(
            f"SELECT min(start_time_ns), max(start_time_ns) FROM {self.TIME_RANGE_OF}", [project]
        ).fetchone()
        if not row or row[0] is None:
            return [None]
        lo, hi = int(row[0]), int(row[1])
        top = min(hi, int(below)) if isinstance(below, int) else hi
        floors: list[int | None] = [top - (hi - lo) // 32, top - (hi - lo) // 4]
        return [f for f in floors if f is not None and f > lo] + [None]

    def _page(
        self,
        con: duckdb.DuckDBPyConnection,
        rows: str,
        project: str,
        filter_string: str | None,
        terms: list[Any],
        order: Any,
        cursor: list[Any] | int | None,
        limit: int,
        floor: int | None,
    ) -> list[tuple[Any, ...]]:
        """The page's rows (limit + 1 of them when there are more), only rows starting at/after ``floor``."""
        d = self.dialect
        where, params = compile_filter(filter_string, d, rows=rows, span_floor_ns=floor if rows == "traces" else None)
        extra, extra_params, offset = "", [], 0
        if isinstance(cursor, int):
            offset = cursor
        elif cursor is not None:
            after = keyset_after(terms, cursor, d)
            extra, extra_params = f" AND {after.text}", list(after.params)
        if floor is not None:
            extra += f" AND {'t' if rows == 'traces' else 's'}.start_time_ns >= ?"
            extra_params.append(floor)
        keys = ", ".join(f"{t.expr.text} AS _k{i}" for i, t in enumerate(terms))
        key_params = [p for t in terms for p in t.expr.params]
        if rows == "traces":
            sql = (
                f"SELECT {_TRACE_SELECT}, {keys} FROM traces t WHERE t.project = ? AND ({where}){extra} "
                f"ORDER BY {order.text} LIMIT ? OFFSET ?"
            )
        else:
            sql = (
                f"SELECT {_SPAN_SELECT}, {keys} FROM spans s JOIN traces t "
                "ON t.project = s.project AND t.trace_id = s.trace_id "
                f"WHERE s.project = ? AND ({where}){extra} ORDER BY {order.text} LIMIT ? OFFSET ?"
            )
        return con.execute(
            sql, [*key_params, project, *params, *extra_params, *order.params, limit + 1, offset]
        ).fetchall()

    # ------------------------------------------------------------------ page enrichment
    def _current_findings(self, con: Any, project: str, ids: list[str]) -> list[tuple[Any, ...]]:
        """``(trace_id, span_id, name, value, time_ns)`` of the current findings of the given traces."""
        return con.execute(
            "SELECT trace_id, span_id, name, value, time_ns FROM findings_current "
            f"WHERE project = ? AND {self.IN_LIST.format(column='trace_id')}",
            [project, ids],
        ).fetchall()

    def _findings_of(self, con: duckdb.DuckDBPyConnection, project: str, ids: list[str]) -> dict[str, list[dict]]:
        by_trace: dict[str, list[dict[str, Any]]] = {}
        if not ids:
            return by_trace
        for tid, sid, name, value, time_ns in self._current_findings(con, project, ids):
            by_trace.setdefault(tid, []).append(
                {"span_id": sid, "name": name, "value": _loads(value), "time_ns": time_ns}
            )
        return by_trace

    def _spans_of(
        self,
        con: duckdb.DuckDBPyConnection,
        project: str,
        windows: list[tuple[str, int | None, int | None]],
        root_ids: list[str] | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """The spans of the given traces (only their roots when ``root_ids``), read from the row groups the
        traces' time windows overlap."""
        by_trace: dict[str, list[dict[str, Any]]] = {}
        known = [w for w in windows if w[1] is not None]
        if not known:
            return by_trace
        lo = min(w[1] for w in known)  # type: ignore[type-var]
        hi = max(w[2] for w in known)  # type: ignore[type-var]
        roots = f" AND {self.IN_LIST.format(column='span_id')}" if root_ids is not None else ""
        params: list[Any] = [project, lo, hi, [w[0] for w in known]]
        if root_ids is not None:
            params.append(root_ids)
        for r in con.execute(
            f"SELECT trace_id, span_id, parent_span_id, name, start_time_ns, attributes, {self.SPANS_BY_ID} "
            f"project = ? AND start_time_ns BETWEEN ? AND ? AND {self.IN_LIST.format(column='trace_id')}{roots} "
            "ORDER BY start_time_ns, span_id",
            params,
        ).fetchall():
            by_trace.setdefault(r[0], []).append(
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
        return by_trace

    def _trace_rows(
        self, con: duckdb.DuckDBPyConnection, project: str, found: list[tuple], fields: list[tuple[str, ExtractField]]
    ) -> list[dict[str, Any]]:
        ids = [r[0] for r in found]
        findings = self._findings_of(con, project, ids)
        windows = [(r[0], r[3], r[7]) for r in found]
        if any(f.needs_spans for _, f in fields):
            spans = self._spans_of(con, project, windows)
        else:
            spans = self._spans_of(con, project, windows, root_ids=[r[6] for r in found if r[6] is not None])
        out = []
        for r in found:
            tags = _loads(r[5]) or {}
            tfindings = findings.get(r[0], [])
            tspans = spans.get(r[0], [])
            root = next((s for s in tspans if s["span_id"] == r[6]), None)
            row = {
                "trace_id": r[0],
                "name": r[1],
                "status": r[2],
                "start_time_ns": r[3],
                "duration_ms": r[4],
                "tags": tags,
                "request": root["inputs"] if root else None,
                "response": root["outputs"] if root else None,
                "findings": summarize_findings(tfindings),
                "fields": {},
            }
            if fields:
                ctx = {"tags": tags, "findings": tfindings, "spans": tspans}
                row["fields"] = {text: resolve_extract_field(f, ctx) for text, f in fields}
            out.append(row)
        return out

    def _span_rows(
        self, con: duckdb.DuckDBPyConnection, project: str, found: list[tuple], fields: list[tuple[str, ExtractField]]
    ) -> list[dict[str, Any]]:
        ids = sorted({r[0] for r in found})
        findings = self._findings_of(con, project, ids)
        trace_spans: dict[str, list[dict[str, Any]]] = {}
        if any(f.source is Source.NAMED_SPAN for _, f in fields):
            windows = list({r[0]: (r[0], r[15], r[16]) for r in found}.values())
            trace_spans = self._spans_of(con, project, windows)
        out = []
        for r in found:
            tags = _loads(r[14]) or {}
            tfindings = findings.get(r[0], [])
            span = {
                "span_id": r[1],
                "parent_span_id": r[2],
                "name": r[3],
                "start_time_ns": r[7],
                "attributes": _loads(r[10]) or {},
                "inputs": _loads(r[11]),
                "outputs": _loads(r[12]),
            }
            row = {
                "trace_id": r[0],
                "span_id": r[1],
                "parent_span_id": r[2],
                "name": r[3],
                "kind": r[4],
                "status": r[5],
                "status_message": r[6],
                "start_time_ns": r[7],
                "end_time_ns": r[8],
                "duration_ms": r[9],
                "attributes": span["attributes"],
                "inputs": span["inputs"],
                "outputs": span["outputs"],
                "trace_name": r[13],
                "tags": tags,
                "findings": summarize_findings(tfindings),
                "fields": {},
            }
            if fields:
                values = {}
                for text, f in fields:
                    pool = trace_spans.get(r[0], []) if f.source is Source.NAMED_SPAN else [span]
                    values[text] = resolve_extract_field(f, {"tags": tags, "findings": tfindings, "spans": pool})
                row["fields"] = values
            out.append(row)
        return out

    # ------------------------------------------------------------------ raw SQL for analysis
    def query_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read-only query (built by ``spanscope.analysis`` through :attr:`dialect`) and fetch all rows."""
        con = self._cursor()
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

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


def _fingerprint(rows: str, filter_string: str | None, order_sql: str, order_params: Sequence[Any]) -> str:
    text = _encode([rows, (filter_string or "").strip(), order_sql, list(order_params)])
    return hashlib.sha1(text).hexdigest()[:12]


def encode_page_token(last: list[Any], fingerprint: str) -> str:
    """A token naming the row a page ended on (its ORDER BY values) and the search it belongs to."""
    return base64.urlsafe_b64encode(_encode({"k": last, "q": fingerprint})).decode().rstrip("=")


def decode_page_token(token: str | None, fingerprint: str | None = None) -> list[Any] | int | None:
    """The ORDER BY values a page ended on, an offset (first-version tokens), or None (no token)."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = _decode(base64.urlsafe_b64decode(padded.encode()))
        if "o" in data:
            offset = int(data["o"])
            if offset < 0:
                raise ValueError
            return offset
        keys = data["k"]
        if not isinstance(keys, list):
            raise ValueError
    except Exception:  # noqa: BLE001 - any malformed token is the same user error
        raise FilterError("invalid page_token", 1, "pass the next_page_token of the previous page unchanged") from None
    if fingerprint is not None and data.get("q") != fingerprint:
        raise FilterError(
            "page_token belongs to another search",
            1,
            "use it with the same filter and order_by, or start again without a page_token",
        )
    return keys


def sdk_drops(con: duckdb.DuckDBPyConnection, project: str) -> dict[str, Any]:
    """What SDKs reported dropping for ``project``: totals per reason and the last report's time."""
    rows = con.execute(
        "SELECT reason, sum(dropped), max(time_ns) FROM sdk_reports WHERE project = ? GROUP BY reason ORDER BY reason",
        [project],
    ).fetchall()
    return {
        "project": project,
        "dropped": {r[0]: int(r[1]) for r in rows},
        "last_report_ns": max((r[2] for r in rows), default=None),
    }
