"""Reads the web UI needs that the Store contract doesn't cover, in SQL over the store's tables (any SQL engine).

Every function takes a cursor from ``store._cursor()`` (the caller closes it) and returns plain JSON-able
data; those that compile filters or read JSON also take the store's ``dialect`` (DuckDB by default), so the
same queries run on the ClickHouse engine. Filters are compiled by ``spanscope.query`` exactly as
``search_traces`` compiles them, so the UI and the API always agree on what a filter matches.

- :func:`trace_outline`: every span of a trace as compact columns (one request for a 10k-span tree).
- :func:`span_detail`: one span's inputs, outputs, attributes, events and findings.
- :func:`trace_findings`: the findings of a trace (refreshed after feedback).
- :func:`list_traces`: a page of traces with tokens, cost, findings and a total, sortable by each column.
- :func:`completion_fields`: field names, tag/metadata/attribute keys, span and finding names.
- :func:`dashboard`: counts, error rate, latency percentiles per span name, tokens and cost per model, and
  series over time buckets (requests, errors, latency, the mean of a finding or tag).
- :func:`list_projects`: the projects that hold traces.

Token and cost roll-ups read ``usage.total_tokens`` (else ``gen_ai.usage.input_tokens + output_tokens``, else
OpenInference's ``llm.token_count.total``) and ``spanscope.cost_usd``. A trace's tokens are the sum over its
``llm`` spans; when none carries them, the root span's own value (SDKs often put the total there).
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import duckdb
import msgspec

from spanscope.model.conventions import SPAN_KINDS, STATUSES
from spanscope.query import compile_filter
from spanscope.query.dialect import Dialect, Sql
from spanscope.query.grammar import CANONICAL_NAMES
from spanscope.store.duckdb.read import DIALECT, summarize_findings

_decode = msgspec.json.decode


def _attr(d: Dialect, key: str, numeric: bool) -> Sql:
    """SQL for a span attribute: its typed hot column when the schema keeps one, else read from the JSON."""
    hot = d.hot_column(key, numeric)
    if hot is not None:
        return Sql(hot)
    return d.json_number("attributes", (key,)) if numeric else d.json_text("attributes", (key,))


def tokens_sql(d: Dialect) -> Sql:
    """A span's token count, as SQL over ``spans`` (alias-free column names)."""
    total = _attr(d, "usage.total_tokens", True)
    parts = Sql.join(" + ", [_attr(d, "gen_ai.usage.input_tokens", True), _attr(d, "gen_ai.usage.output_tokens", True)])
    openinference = _attr(d, "llm.token_count.total", True)
    return Sql.join(", ", [total, parts, openinference]).wrap("COALESCE({})")


def cost_sql(d: Dialect) -> Sql:
    """A span's cost in USD, as SQL over ``spans``."""
    return _attr(d, "spanscope.cost_usd", True)


def model_sql(d: Dialect) -> Sql:
    """A span's model name, as SQL over ``spans``."""
    keys = ("gen_ai.request.model", "gen_ai.response.model", "llm.model_name")
    return Sql.join(", ", [_attr(d, k, False) for k in keys]).wrap("COALESCE({})")


_STATUS_CODE: Final = {s: i for i, s in enumerate(STATUSES)}
_KIND_CODE: Final = {k: i for i, k in enumerate(SPAN_KINDS)}

# Sortable columns of the traces page -> SQL over the joined row (m = trace summary, a = span roll-up).
SORTS: Final[dict[str, str]] = {
    "time": "m.start_time_ns",
    "name": "m.name",
    "duration": "m.duration_ms",
    "status": "m.status",
    "spans": "m.span_count",
    "tokens": "a.tokens",
    "cost": "a.cost",
    "tags": "m.tags",  # as text (Dialect.stored_text)
    "findings": "fc.n",
}
_NEEDS_ROLLUP: Final = frozenset({"tokens", "cost", "findings"})


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


def _finding_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "finding_id": row[0],
        "span_id": row[1],
        "name": row[2],
        "value": _loads(row[3]),
        "source": row[4],
        "rationale": row[5],
        "time_ns": row[6],
        "metadata": _loads(row[7]) or {},
    }


_FINDING_COLS: Final = "finding_id, span_id, name, value, source, rationale, time_ns, metadata"


# -- one trace -------------------------------------------------------------------------------------------------


def trace_findings(con: duckdb.DuckDBPyConnection, project: str, trace_id: str) -> list[dict[str, Any]]:
    rows = con.execute(
        f"SELECT {_FINDING_COLS} FROM findings WHERE project = ? AND trace_id = ? ORDER BY time_ns, finding_id",
        [project, trace_id],
    ).fetchall()
    return [_finding_dict(r) for r in rows]


def trace_outline(
    con: duckdb.DuckDBPyConnection,
    project: str,
    trace_id: str,
    *,
    io_hash: bool = False,
    dialect: Dialect = DIALECT,
) -> dict[str, Any] | None:
    """The trace summary plus every span as columns, ordered by start time.

    ``spans`` holds parallel lists: ``id``, ``parent`` (index into the lists, -1 for a root or an orphan),
    ``name`` (index into ``names``), ``kind`` (index into ``kinds``), ``status`` (index into ``statuses``),
    ``start``/``end`` (microseconds after ``t0_ns``), ``tokens``, ``cost`` and ``findings`` (count). Span
    bodies are left out: :func:`span_detail` fetches one when it is opened. With ``io_hash``, ``in_hash`` and
    ``out_hash`` add a short digest of each span's inputs and outputs (to flag differences when comparing).
    """
    d = dialect
    row = con.execute(
        "SELECT trace_id, name, status, start_time_ns, end_time_ns, duration_ms, tags, metadata, session_id, "
        "user_id, span_count FROM traces WHERE project = ? AND trace_id = ?",
        [project, trace_id],
    ).fetchone()
    if row is None:
        row = _summary_from_spans(con, project, trace_id)
        if row is None:
            return None
    tokens, cost = tokens_sql(d), cost_sql(d)
    io_cols = ""
    if io_hash:
        digests = (d.md5_hex(f"COALESCE({d.stored_text(col)}, '')") for col in ("inputs", "outputs"))
        io_cols = "".join(f", left({digest}, 10)" for digest in digests)
    # One plain read of the trace's spans; parent indexes, offsets and finding counts are joined here in
    # Python (a few ms for a 10k-span trace), so the query is the same on every engine.
    rows = con.execute(
        f"SELECT span_id, parent_span_id, name, kind, status, start_time_ns, end_time_ns, {tokens.text}, "
        f"{cost.text}{io_cols} FROM spans WHERE project = ? AND trace_id = ? ORDER BY start_time_ns, span_id",
        [*tokens.params, *cost.params, project, trace_id],
    ).fetchall()
    findings = trace_findings(con, project, trace_id)
    per_span = Counter(f["span_id"] for f in findings if f["span_id"] is not None)
    index = {r[0]: i for i, r in enumerate(rows)}
    t0 = min((r[5] for r in rows), default=None)
    names: dict[str, int] = {}
    name_idx = [names.setdefault(r[2], len(names)) for r in rows]
    return {
        "trace": {
            "trace_id": row[0],
            "project": project,
            "name": row[1],
            "status": row[2],
            "start_time_ns": row[3],
            "end_time_ns": row[4],
            "duration_ms": row[5],
            "tags": _loads(row[6]) or {},
            "metadata": _loads(row[7]) or {},
            "session_id": row[8],
            "user_id": row[9],
            "span_count": row[10],
        },
        "t0_ns": row[3] if t0 is None else t0,
        "names": list(names),
        "kinds": list(SPAN_KINDS),
        "statuses": list(STATUSES),
        "spans": {
            "id": [r[0] for r in rows],
            "parent": [index.get(r[1], -1) if r[1] is not None else -1 for r in rows],
            "name": name_idx,
            "kind": [_KIND_CODE.get(r[3], _KIND_CODE["other"]) for r in rows],
            "status": [_STATUS_CODE.get(r[4], 0) for r in rows],
            "start": [_micros(r[5] - t0) for r in rows] if t0 is not None else [],
            "end": [_micros(r[6] - t0) for r in rows] if t0 is not None else [],
            "tokens": [None if r[7] is None else round(r[7]) for r in rows],
            "cost": [r[8] for r in rows],
            "findings": [per_span.get(r[0], 0) for r in rows],
            **({"in_hash": [r[9] for r in rows], "out_hash": [r[10] for r in rows]} if io_hash else {}),
        },
        "findings": findings,
    }


def _micros(ns: int) -> int:
    """Nanoseconds as whole microseconds, rounded toward zero (as SQL integer division does)."""
    return ns // 1000 if ns >= 0 else -(-ns // 1000)


def _summary_from_spans(con: duckdb.DuckDBPyConnection, project: str, trace_id: str) -> tuple[Any, ...] | None:
    """A trace row built from its spans, for a trace whose summary row isn't written yet."""
    return con.execute(
        "SELECT trace_id, argMin(name, (parent_span_id IS NOT NULL, start_time_ns)), "
        "argMin(status, (parent_span_id IS NOT NULL, start_time_ns)), min(start_time_ns), max(end_time_ns), "
        "(max(end_time_ns) - min(start_time_ns)) / 1e6, NULL, NULL, NULL, NULL, count(*) "
        "FROM spans WHERE project = ? AND trace_id = ? GROUP BY trace_id",
        [project, trace_id],
    ).fetchone()


def span_detail(con: duckdb.DuckDBPyConnection, project: str, trace_id: str, span_id: str) -> dict[str, Any] | None:
    """One span with everything: inputs, outputs, attributes, events (merged, by time) and its findings."""
    r = con.execute(
        "SELECT span_id, parent_span_id, name, kind, start_time_ns, end_time_ns, duration_ms, status, "
        "status_message, attributes, inputs, outputs, events FROM spans "
        "WHERE project = ? AND trace_id = ? AND span_id = ?",
        [project, trace_id, span_id],
    ).fetchone()
    if r is None:
        return None
    events = list(_loads(r[12]) or [])
    for name, time_ns, attrs in con.execute(
        "SELECT name, time_ns, attributes FROM events WHERE project = ? AND trace_id = ? AND span_id = ?",
        [project, trace_id, span_id],
    ).fetchall():
        events.append({"name": name, "time_ns": time_ns, "attributes": _loads(attrs) or {}})
    events.sort(key=lambda e: e.get("time_ns") or 0)
    findings = con.execute(
        f"SELECT {_FINDING_COLS} FROM findings WHERE project = ? AND trace_id = ? AND span_id = ? "
        "ORDER BY time_ns, finding_id",
        [project, trace_id, span_id],
    ).fetchall()
    return {
        "trace_id": trace_id,
        "span_id": r[0],
        "parent_span_id": r[1],
        "name": r[2],
        "kind": r[3],
        "start_time_ns": r[4],
        "end_time_ns": r[5],
        "duration_ms": r[6],
        "status": r[7],
        "status_message": r[8],
        "attributes": _loads(r[9]) or {},
        "inputs": _loads(r[10]),
        "outputs": _loads(r[11]),
        "events": events,
        "findings": [_finding_dict(f) for f in findings],
    }


# -- many traces -------------------------------------------------------------------------------------------------


def _matching(d: Dialect, filter_string: str | None, from_ns: int | None, to_ns: int | None) -> tuple[str, list[Any]]:
    """``WHERE`` over ``traces t`` for a project, a filter and a half-open time range, with its params."""
    where, params = compile_filter(filter_string, d)
    sql = f"t.project = ? AND ({where})"
    if from_ns is not None:
        sql += " AND t.start_time_ns >= ?"
        params.append(from_ns)
    if to_ns is not None:
        sql += " AND t.start_time_ns < ?"
        params.append(to_ns)
    return sql, params


def _rollup_sql(d: Dialect, ids_sql: str) -> Sql:
    """Tokens, cost and error spans per trace for the traces in ``ids_sql`` (a query of trace ids, no params);
    its one parameter after the attribute keys is the project."""
    tokens, cost = tokens_sql(d), cost_sql(d)
    sql = f"""
        SELECT trace_id,
               COALESCE(sum(tok) FILTER (WHERE kind = 'llm'), max(tok) FILTER (WHERE parent_span_id IS NULL))
                   AS tokens,
               COALESCE(sum(cst) FILTER (WHERE kind = 'llm'), max(cst) FILTER (WHERE parent_span_id IS NULL))
                   AS cost,
               count(*) FILTER (WHERE status = 'ERROR') AS error_spans
        FROM (SELECT trace_id, kind, parent_span_id, status, {tokens.text} AS tok, {cost.text} AS cst
              FROM spans WHERE project = ? AND trace_id IN ({ids_sql}))
        GROUP BY trace_id
    """
    return Sql(sql, (*tokens.params, *cost.params))


def list_traces(
    con: duckdb.DuckDBPyConnection,
    project: str,
    filter_string: str | None = None,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    sort: str = "time",
    descending: bool = True,
    limit: int = 50,
    offset: int = 0,
    dialect: Dialect = DIALECT,
) -> dict[str, Any]:
    """A page of the traces matching a filter and time range, with a total and per-trace roll-ups.

    Raises:
        FilterError: the filter is malformed (its ``column`` says where).
        ValueError: an unknown ``sort`` column.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown sort column {sort!r}; expected one of {', '.join(SORTS)}")
    d = dialect
    where, params = _matching(d, filter_string, from_ns, to_ns)
    total = con.execute(f"SELECT count(*) FROM traces t WHERE {where}", [project, *params]).fetchone()
    direction = "DESC" if descending else "ASC"
    key = d.stored_text(SORTS[sort]) if sort == "tags" else SORTS[sort]
    order = f"{key} {direction} NULLS LAST, m.trace_id"
    matched = (
        f"SELECT t.trace_id, t.name, t.status, t.start_time_ns, t.duration_ms, t.tags, t.span_count, "
        f"t.session_id, t.user_id FROM traces t WHERE {where}"
    )
    cols = "m.trace_id, m.name, m.status, m.start_time_ns, m.duration_ms, m.tags, m.span_count, m.session_id, m.user_id"
    if sort in _NEEDS_ROLLUP:
        # The order needs the roll-up of every matching trace, so compute it before paging.
        rollup = _rollup_sql(d, "SELECT trace_id FROM m")
        sql = f"""
            WITH m AS ({matched}),
                 a AS ({rollup.text}),
                 fc AS (SELECT trace_id, count(*) AS n FROM findings
                        WHERE project = ? AND trace_id IN (SELECT trace_id FROM m) GROUP BY trace_id)
            SELECT {cols}, a.tokens, a.cost, a.error_spans FROM m
            LEFT JOIN a USING (trace_id) LEFT JOIN fc USING (trace_id)
            ORDER BY {order} LIMIT ? OFFSET ?
        """
        args = [project, *params, *rollup.params, project, project, limit, offset]
        rows = con.execute(d.outer_joins(sql), args).fetchall()
    else:
        # Page first, then roll up only the page's traces.
        rollup = _rollup_sql(d, "SELECT trace_id FROM m")
        sql = f"""
            WITH m AS (SELECT * FROM ({matched}) m ORDER BY {order} LIMIT ? OFFSET ?),
                 a AS ({rollup.text})
            SELECT {cols}, a.tokens, a.cost, a.error_spans FROM m LEFT JOIN a USING (trace_id) ORDER BY {order}
        """
        args = [project, *params, limit, offset, *rollup.params, project]
        rows = con.execute(d.outer_joins(sql), args).fetchall()
    ids = [r[0] for r in rows]
    by_trace: dict[str, list[dict[str, Any]]] = {}
    if ids:
        for tid, sid, name, value, time_ns in con.execute(
            "SELECT trace_id, span_id, name, value, time_ns FROM findings "
            f"WHERE project = ? AND {d.in_list('trace_id')}",
            [project, ids],
        ).fetchall():
            finding = {"span_id": sid, "name": name, "value": _loads(value), "time_ns": time_ns}
            by_trace.setdefault(tid, []).append(finding)
    traces = [
        {
            "trace_id": r[0],
            "name": r[1],
            "status": r[2],
            "start_time_ns": r[3],
            "duration_ms": r[4],
            "tags": _loads(r[5]) or {},
            "span_count": r[6],
            "session_id": r[7],
            "user_id": r[8],
            "tokens": None if r[9] is None else round(r[9]),
            "cost": r[10],
            "error_spans": r[11] or 0,
            "findings": summarize_findings(by_trace.get(r[0], [])),
            "finding_count": len(by_trace.get(r[0], [])),
        }
        for r in rows
    ]
    return {"traces": traces, "total": int(total[0]) if total else 0, "offset": offset, "limit": limit}


def completion_fields(
    con: duckdb.DuckDBPyConnection, project: str, limit: int = 500, *, dialect: Dialect = DIALECT
) -> dict[str, Any]:
    """What the filter bar completes: field names, keys seen in the data, span and finding names."""
    d = dialect

    def column(sql: str, *params: Any) -> list[Any]:
        return [r[0] for r in con.execute(sql, [*params, limit]).fetchall() if r[0] is not None]

    def keys(table: str, col: str, sample: int) -> list[str]:
        return column(
            f"SELECT k FROM (SELECT {d.json_keys(col)} AS k FROM "
            f"(SELECT {col} FROM {table} WHERE project = ? AND {col} IS NOT NULL LIMIT {sample})) "
            "GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
            project,
        )

    return {
        "fields": [n for n in CANONICAL_NAMES if "<" not in n],
        "prefixes": ["tag.", "metadata.", "finding.", "span.attributes.", "span.inputs.", "span.outputs."],
        "tag_keys": keys("traces", "tags", 50_000),
        "metadata_keys": keys("traces", "metadata", 50_000),
        "attribute_keys": keys("spans", "attributes", 50_000),
        "span_names": column(
            "SELECT name FROM spans WHERE project = ? GROUP BY name ORDER BY count(*) DESC, name LIMIT ?", project
        ),
        "finding_names": column(
            "SELECT name FROM findings WHERE project = ? GROUP BY name ORDER BY count(*) DESC, name LIMIT ?", project
        ),
        "numeric_tag_keys": column(
            f"SELECT k FROM (SELECT {d.json_keys('tags')} AS k, tags FROM "
            "(SELECT tags FROM traces WHERE project = ? AND tags IS NOT NULL LIMIT 5000)) "
            f"WHERE {d.json_key_is_number('tags', 'k')} GROUP BY k ORDER BY count(*) DESC, k LIMIT ?",
            project,
        ),
        "kinds": list(SPAN_KINDS),
        "statuses": list(STATUSES),
    }


def list_projects(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT project, count(*), max(start_time_ns) FROM traces GROUP BY project ORDER BY 3 DESC NULLS LAST, 1"
    ).fetchall()
    return [{"name": r[0], "traces": r[1], "last_start_time_ns": r[2]} for r in rows]


# -- dashboard ---------------------------------------------------------------------------------------------------


def _as_number(d: Dialect, text: Sql) -> Sql:
    """A JSON value's text as a double: numbers, numeric strings, and booleans as 1/0."""
    v = text.text
    sql = f"CASE WHEN {v} = 'true' THEN 1.0 WHEN {v} = 'false' THEN 0.0 ELSE {d.try_double(v)} END"
    return Sql(sql, text.params * 3)


def _metric_sql(d: Dialect, project: str, metric: str | None) -> tuple[str, list[Any]] | None:
    """Per-trace SQL (over ``m``) giving the value of ``finding:<name>`` or ``tag:<key>`` to average, and its
    params."""
    if not metric or ":" not in metric:
        return None
    kind, _, name = metric.partition(":")
    if kind == "finding":
        v = _as_number(d, d.json_text("f.value", ()))
        sql = (
            f"SELECT m.trace_id, m.start_time_ns, avg({v.text}) AS val FROM m "
            "JOIN findings f ON f.trace_id = m.trace_id WHERE f.project = ? AND f.name = ? GROUP BY 1, 2"
        )
        return sql, [*v.params, project, name]
    if kind == "tag":
        v = _as_number(d, d.json_text("m.tags", (name,)))
        return f"SELECT m.trace_id, m.start_time_ns, {v.text} AS val FROM m", list(v.params)
    return None


def dashboard(
    con: duckdb.DuckDBPyConnection,
    project: str,
    filter_string: str | None = None,
    *,
    from_ns: int | None = None,
    to_ns: int | None = None,
    metric: str | None = None,
    buckets: int = 24,
    top_names: int = 15,
    dialect: Dialect = DIALECT,
) -> dict[str, Any]:
    """Aggregates over the traces matching a filter in a time range (see the module docstring)."""
    d = dialect
    where, params = _matching(d, filter_string, from_ns, to_ns)
    # A trace counts as an error when it failed or any of its spans did (a caught tool error leaves the root OK).
    # (An uncorrelated IN: ClickHouse can't decorrelate an EXISTS inside a CTE that is joined.)
    m = (
        "m AS (SELECT t.trace_id, t.status, t.start_time_ns, t.duration_ms, t.tags, (t.status = 'ERROR' OR "
        "t.trace_id IN (SELECT e.trace_id FROM spans e WHERE e.project = ? AND e.status = 'ERROR')) "
        f"AS failed FROM traces t WHERE {where})"
    )
    base = [project, project, *params]
    p50_p95 = f"{d.quantile('duration_ms', 0.5)}, {d.quantile('duration_ms', 0.95)}"
    summary = con.execute(
        f"WITH {m} SELECT count(*), count(*) FILTER (WHERE failed), {p50_p95}, min(start_time_ns), "
        "max(start_time_ns) FROM m",
        base,
    ).fetchone()
    assert summary is not None
    count, errors, p50, p95, first_ns, last_ns = summary
    rollup = _rollup_sql(d, "SELECT trace_id FROM m")
    roll = con.execute(
        f"WITH {m}, a AS ({rollup.text}) SELECT sum(tokens), sum(cost) FROM a", [*base, *rollup.params, project]
    ).fetchone()
    per_name = con.execute(
        f"WITH {m} SELECT s.name, count(*), {d.quantile('s.duration_ms', 0.5)}, {d.quantile('s.duration_ms', 0.95)}, "
        "count(*) FILTER (WHERE s.status = 'ERROR') FROM spans s JOIN m ON s.trace_id = m.trace_id "
        "WHERE s.project = ? GROUP BY s.name ORDER BY count(*) DESC, s.name LIMIT ?",
        [*base, project, top_names],
    ).fetchall()
    model, tokens, cost = model_sql(d), tokens_sql(d), cost_sql(d)
    per_model = con.execute(
        f"WITH {m} SELECT model, count(*), sum(tok), sum(cst) FROM ("
        f"SELECT {model.text} AS model, {tokens.text} AS tok, {cost.text} AS cst FROM spans s "
        "JOIN m ON s.trace_id = m.trace_id WHERE s.project = ? AND s.kind = 'llm') "
        "WHERE model IS NOT NULL GROUP BY model ORDER BY sum(tok) DESC NULLS LAST, model",
        [*base, *model.params, *tokens.params, *cost.params, project],
    ).fetchall()
    lo = from_ns if from_ns is not None else first_ns
    hi = to_ns if to_ns is not None else (last_ns + 1 if last_ns is not None else None)
    series: dict[str, Any] = {"bucket_start_ns": [], "bucket_ns": 0}
    if count and lo is not None and hi is not None and hi > lo:
        buckets = max(1, min(int(buckets), 500))
        width = max(1, -(-(hi - lo) // buckets))
        bucket = f"LEAST(CAST({d.int_div(f'start_time_ns - {int(lo)}', str(int(width)))} AS BIGINT), {buckets - 1})"
        rows = con.execute(
            f"WITH {m} SELECT {bucket} AS b, count(*), count(*) FILTER (WHERE failed), {p50_p95} "
            "FROM m GROUP BY b ORDER BY b",
            base,
        ).fetchall()
        by_bucket = {r[0]: r for r in rows}
        series = {
            "bucket_start_ns": [lo + i * width for i in range(buckets)],
            "bucket_ns": width,
            "count": [by_bucket[i][1] if i in by_bucket else 0 for i in range(buckets)],
            "errors": [by_bucket[i][2] if i in by_bucket else 0 for i in range(buckets)],
            "p50_ms": [by_bucket[i][3] if i in by_bucket else None for i in range(buckets)],
            "p95_ms": [by_bucket[i][4] if i in by_bucket else None for i in range(buckets)],
        }
        metric_sql = _metric_sql(d, project, metric)
        if metric_sql is not None:
            sql, mparams = metric_sql
            mrows = con.execute(
                f"WITH {m}, v AS ({sql}) SELECT {bucket} AS b, avg(val), count(val) FROM v "
                "WHERE val IS NOT NULL GROUP BY b ORDER BY b",
                [*base, *mparams],
            ).fetchall()
            by_m = {r[0]: r for r in mrows}
            series["metric"] = metric
            series["metric_mean"] = [by_m[i][1] if i in by_m else None for i in range(buckets)]
            series["metric_count"] = [by_m[i][2] if i in by_m else 0 for i in range(buckets)]
    return {
        "summary": {
            "count": count,
            "errors": errors,
            "error_rate": (errors / count) if count else None,
            "p50_ms": p50,
            "p95_ms": p95,
            "tokens": None if not roll or roll[0] is None else round(roll[0]),
            "cost_usd": roll[1] if roll else None,
            "from_ns": lo,
            "to_ns": hi,
        },
        "span_names": [{"name": r[0], "count": r[1], "p50_ms": r[2], "p95_ms": r[3], "errors": r[4]} for r in per_name],
        "models": [
            {"model": r[0], "spans": r[1], "tokens": None if r[2] is None else round(r[2]), "cost_usd": r[3]}
            for r in per_model
        ],
        "series": series,
    }
