"""Analysis over a store, inside the server (or on a store opened directly): SQL built through the store's
dialect, results as plain JSON-able data. ``spanscope.analysis`` is the public face that calls these through
the HTTP API.

Every function takes the same filter as ``search_traces``. Span measures (latency, errors, usage) are taken
over the spans that ``search_spans`` would return for it: the spans of matching traces that satisfy the
filter's span conditions (all their spans when it has none).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import msgspec

from spanscope.analysis import effects
from spanscope.analysis.critical import PathSpan, critical_path, path_to_dicts, time_by_name
from spanscope.query import Dialect, FilterError, FilterSyntaxError, compile_filter, parse_filter
from spanscope.query.fields import FieldValue, field_value
from spanscope.query.grammar import Scope
from spanscope.query.nodes import Comparison, PercentileComparison, Related, SpanQuantifier, comparisons

QUANTILES: Final = (0.5, 0.9, 0.95, 0.99)
SAMPLE_ROWS: Final = 5_000  # traces per cohort, for value distributions in compare()
USAGE_KINDS: Final = ("llm", "embedding")
_BUCKETS: Final = {"m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9}
_BUCKET_RE: Final = re.compile(r"^\s*(\d+)?\s*(m|min|h|hour|d|day|w|week)s?\s*$", re.IGNORECASE)
_TRACE_ALIAS: Final = re.compile(r"\bt\.")
_decode = msgspec.json.decode
_SPAN_ERROR: Final = "s.status = 'ERROR'"
_TRACE_ERROR: Final = "t.status = 'ERROR'"
_MODEL_CALL: Final = "s.kind IN ('llm', 'embedding')"


class AnalysisStore(Protocol):
    dialect: Dialect

    def query_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...


def bucket_ns(text: str | None) -> int | None:
    """``"1h"`` -> nanoseconds; None for no bucketing. Units: m(in), h(our), d(ay), w(eek)."""
    if not text:
        return None
    match = _BUCKET_RE.match(text)
    if not match:
        raise FilterSyntaxError(f"invalid time bucket {text!r}", 1, "use e.g. 5m, 1h, 1d or 1w")
    return int(match.group(1) or 1) * _BUCKETS[match.group(2)[0].lower()]


def _span_source(
    store: AnalysisStore, project: str | None, filter_string: str | None, extra_sql: str = ""
) -> tuple[str, list[Any]]:
    """``FROM … WHERE …`` over the spans a filter selects (joined with traces only when it needs them).

    ``project`` None means every project (usage totals by project).
    """
    where, params = compile_filter(filter_string, store.dialect, rows="spans")
    needs_trace = bool(_TRACE_ALIAS.search(where) or _TRACE_ALIAS.search(extra_sql))
    source = "spans s"
    if needs_trace:
        source += " JOIN traces t ON t.project = s.project AND t.trace_id = s.trace_id"
    scope, scope_params = ("s.project = ? AND ", [project]) if project is not None else ("", [])
    return f"FROM {source} WHERE {scope}({where})", [*scope_params, *params]


def _group_keys(store: AnalysisStore, by: Sequence[str]) -> list[FieldValue]:
    return [field_value(name, store.dialect, rows="spans") for name in by]


def latency(
    store: AnalysisStore,
    project: str,
    filter_string: str | None = None,
    by: Sequence[str] = ("span.name",),
    bucket: str | None = None,
) -> dict[str, Any]:
    """Span count, errors, error rate and latency percentiles (p50/p90/p95/p99, mean, max) per group."""
    d = store.dialect
    keys = _group_keys(store, by)
    width = bucket_ns(bucket)
    selects = [k.sql.text for k in keys]
    key_params = [p for k in keys for p in k.sql.params]
    if width:
        selects.append(d.bucket("s.start_time_ns", width))
    group_sql = ", ".join(selects)
    source, params = _span_source(store, project, filter_string, group_sql)
    measures = (
        f"count(*), {d.count_if(_SPAN_ERROR)}, {d.quantiles('s.duration_ms', QUANTILES)}, "
        "avg(s.duration_ms), max(s.duration_ms)"
    )
    head = f"{group_sql}, " if selects else ""
    sql = f"SELECT {head}{measures} {source}{_group_by(len(selects))}"
    rows = store.query_rows(sql, [*key_params, *params])
    columns = [*by, *(["bucket_start_ns"] if width else []), "count", "errors", "error_rate"]
    columns += [f"p{_pct(q)}_ms" for q in QUANTILES] + ["mean_ms", "max_ms"]
    out = []
    n = len(selects)
    for r in rows:
        count, errors, qs, mean, mx = r[n], r[n + 1], r[n + 2] or [None] * len(QUANTILES), r[n + 3], r[n + 4]
        out.append([*r[:n], count, errors, errors / count if count else None, *qs, mean, mx])
    out.sort(key=lambda row: (-(row[n] or 0), _group_order(row[:n])))
    if width:
        out.sort(key=lambda row: (row[n - 1], -(row[n] or 0)))
    return {"columns": columns, "rows": out}


def usage(
    store: AnalysisStore,
    project: str | None,
    filter_string: str | None = None,
    by: Sequence[str] = ("model",),
    bucket: str | None = None,
) -> dict[str, Any]:
    """Model calls, tokens and cost per group, over the spans of kind llm/embedding (the model calls).

    Tokens: ``usage.total_tokens``, else ``gen_ai.usage.input_tokens + gen_ai.usage.output_tokens``; cost:
    ``spanscope.cost_usd``. A group key ``project`` groups by project (``project`` None: all projects).
    """
    d = store.dialect
    selects: list[str] = []
    key_params: list[Any] = []
    for name in by:
        if name.strip().lower() == "project":
            selects.append("s.project")
            continue
        key = field_value(name, d, rows="spans")
        selects.append(key.sql.text)
        key_params += key.sql.params
    width = bucket_ns(bucket)
    if width:
        selects.append(d.bucket("s.start_time_ns", width))
    group_sql = ", ".join(selects)
    kinds = ", ".join(f"'{k}'" for k in USAGE_KINDS)
    source, params = _span_source(store, project, filter_string, group_sql)
    tokens = d.span_tokens("s")
    measures = (
        f"count(*), sum(s.attr_input_tokens), sum(s.attr_output_tokens), sum({tokens}), sum(s.attr_cost_usd), "
        f"{d.count_if(_SPAN_ERROR)}"
    )
    head = f"{group_sql}, " if selects else ""
    sql = f"SELECT {head}{measures} {source} AND s.kind IN ({kinds}){_group_by(len(selects))}"
    rows = store.query_rows(sql, [*key_params, *params])
    columns = [*by, *(["bucket_start_ns"] if width else [])]
    columns += ["calls", "input_tokens", "output_tokens", "total_tokens", "cost_usd", "errors"]
    n = len(selects)
    out = [list(r) for r in rows]
    out.sort(key=lambda row: (-(row[n + 4] or 0), -(row[n + 3] or 0), _group_order(row[:n])))
    if width:
        out.sort(key=lambda row: (row[n - 1], -(row[n + 4] or 0)))
    return {"columns": columns, "rows": out}


def _group_order(keys: Sequence[Any]) -> list[tuple[bool, str]]:
    """A total order of group keys for ties: by text, a missing key (None) after any value (even the text "None"),
    so both engines list groups alike whatever order their GROUP BY gives."""
    return [(v is None, str(v)) for v in keys]


def _group_by(n: int) -> str:
    # By position: the same expression written twice would bind its parameters twice.
    return f" GROUP BY {', '.join(str(i + 1) for i in range(n))}" if n else ""


def _pct(q: float) -> str:
    text = f"{q * 100:g}"
    return text.replace(".", "_")


# -- compare ------------------------------------------------------------------------------------------------


def _filter_keys(filter_string: str | None) -> set[str]:
    """Field names a filter tests (``tag.quality_score``…), to leave out of the ranked differences."""
    expr = parse_filter(filter_string)
    names: set[str] = set()

    def walk(node: Any) -> None:
        for leaf in comparisons(node):
            if isinstance(leaf, Comparison | PercentileComparison):
                field = leaf.field
                if field.spec.name in ("tag.<key>", "metadata.<key>", "span.attributes.<key>"):
                    names.add(field.spec.name.replace("<key>", str(field.path[0])))
                elif field.finding_name is not None:
                    names.add(f"finding.{field.finding_name}")
                else:
                    names.add(field.spec.name)
            elif isinstance(leaf, SpanQuantifier | Related) and leaf.condition is not None:
                walk(leaf.condition)

    if expr is not None:
        walk(expr)
    return names


def compare(
    store: AnalysisStore,
    project: str,
    filter_a: str | None,
    filter_b: str | None,
    top: int = 20,
) -> dict[str, Any]:
    """What differs between the traces matching ``filter_a`` (cohort a) and ``filter_b`` (cohort b).

    Returns ``cohorts`` (traces, error rate, duration percentiles, tokens per trace) and ``span_names`` (per span
    name: spans per trace, error rate, p50/p95 latency and mean tokens in each cohort, with differences), both
    over the whole cohorts, and ``differences``: tags, metadata, findings and span attributes (per span name)
    ranked by effect size, leaving out the fields the two filters test. Differences are measured on the newest
    ``SAMPLE_ROWS`` (5,000) traces of each cohort: the same traces on every engine, the app as it behaves now,
    and, as stores keep spans in time order, a read of one recent time range whatever the cohorts' sizes.
    """
    d = store.dialect
    wa, pa_ = compile_filter(filter_a, d)
    wb, pb_ = compile_filter(filter_b, d)
    members_sql = (
        "SELECT t.project, t.trace_id, t.status, t.duration_ms, t.start_time_ns, "
        f"COALESCE({wa}, FALSE) AS in_a, COALESCE({wb}, FALSE) AS in_b "
        f"FROM traces t WHERE t.project = ? AND (({wa}) OR ({wb}))"
    )
    members_params = [*pa_, *pb_, project, *pa_, *pb_]
    rows = _measures(store, project, members_sql, members_params, apart=False)
    if any(r[0] is None and r[1] and r[2] for r in rows):
        rows = _measures(store, project, members_sql, members_params, apart=True)  # a trace in both cohorts
    cohorts: dict[str, Any] = {}
    names: dict[str, dict[str, Any]] = {}
    samples: dict[str, list[tuple[Any, ...]]] = {}
    for label, flt, where, params, flag in (("a", filter_a, wa, pa_, 1), ("b", filter_b, wb, pb_, 2)):
        # A cohort's rows are those with its flag true: in grouping sets the other set's rows hold NULL there
        # (DuckDB) or 0 (ClickHouse, where flags are 1/0).
        totals = next((r for r in rows if r[0] is None and r[flag]), None)
        traces, errors, quantiles, first, last = (0, 0, None, None, None)
        if totals is not None:
            traces, errors, quantiles, first, last = totals[3], totals[4], totals[5], totals[8], totals[9]
        p50, p95 = [None if q is None or q != q else q for q in quantiles or (None, None)]  # NaN: no durations
        mine = [r for r in rows if r[0] is not None and r[flag]]
        cohorts[label] = {
            "filter": flt,
            "traces": traces,
            "error_rate": errors / traces if traces else None,
            "p50_ms": p50,
            "p95_ms": p95,
            "tokens_per_trace": sum(r[7] or 0 for r in mine) / traces if traces else None,
        }
        for r in mine:
            entry = names.setdefault(r[0], {"name": r[0]})
            entry[f"spans_per_trace_{label}"] = r[3] / traces if traces else None
            entry[f"error_rate_{label}"] = r[4] / r[3] if r[3] else None
            q = r[5] or [None, None]
            entry[f"p50_ms_{label}"], entry[f"p95_ms_{label}"] = q[0], q[1]
            entry[f"tokens_mean_{label}"] = r[6]
        samples[label] = _newest(store, project, where, params, traces, first, last)
    for entry in names.values():
        for measure in ("spans_per_trace", "error_rate", "p50_ms", "p95_ms", "tokens_mean"):
            a, b = entry.get(f"{measure}_a"), entry.get(f"{measure}_b")
            entry[f"{measure}_diff"] = (b - a) if a is not None and b is not None else None
        p95a, p95b = entry.get("p95_ms_a"), entry.get("p95_ms_b")
        entry["p95_ratio"] = (p95b / p95a) if p95a and p95b is not None else None
    # Differences under a nanosecond are ties (engines round the last bit apart), broken by name: the same
    # order on every engine, whatever order the rows came back in.
    span_names = sorted(names.values(), key=lambda e: (-round(abs(e.get("p95_ms_diff") or 0), 6), e["name"]))
    values = _sample(store, project, samples["a"], samples["b"])
    skip = _filter_keys(filter_a) | _filter_keys(filter_b)
    differences = []
    for field in sorted(set(values["a"]) | set(values["b"])):
        span_name, _, name = field.rpartition("|")
        if name in skip:
            continue
        va, vb = values["a"].get(field), values["b"].get(field)
        if va is None or vb is None:
            continue
        diff = effects.difference(va, vb)
        differences.append({"field": name, "span_name": span_name or None, "n_a": len(va), "n_b": len(vb), **diff})
    differences.sort(key=lambda e: (-e["effect"], e["field"]))
    return {"cohorts": cohorts, "span_names": span_names, "differences": differences[:top]}


def _measures(
    store: AnalysisStore, project: str, members_sql: str, members_params: list[Any], *, apart: bool
) -> list[tuple[Any, ...]]:
    """Rows per cohort (name None: traces, errors, [p50, p95] duration, first and last start) and per span name
    and cohort (spans, errors, [p50, p95] latency, mean tokens, model-call tokens), in one statement that finds the
    member traces once: DuckDB materializes a CTE used twice; ClickHouse inlines one at each use unless it is
    ``MATERIALIZED`` (26.3+, where the server takes it: this statement at 10M spans 1.9 -> 1.4 s).

    Grouped by the pair of cohort flags, which tells each cohort's rows apart unless a trace is in both
    cohorts; ``apart`` groups by each flag on its own instead (grouping sets: every row aggregated twice).
    """
    d = store.dialect
    by_trace, by_span = "in_a, in_b", "s.name, c.in_a, c.in_b"
    if apart:
        by_trace, by_span = "GROUPING SETS ((in_a), (in_b))", "GROUPING SETS ((s.name, c.in_a), (s.name, c.in_b))"
    # Every column named: ClickHouse takes a UNION's unnamed NULLs for one ambiguous column. The unused
    # min(project), min(trace_id) (and the join's redundant c.project = ?): ClickHouse 26.9 computes a correlated
    # subquery in a SELECT list (as a filter's span condition is) only while the columns it correlates on are
    # used further up. (Not a join key: a key of two strings makes DuckDB's join 10% slower.) ClickHouse, which
    # materializes ``m``, gives each span its flags from sets of the members' ids instead of a join.
    traces = (
        f"SELECT NULL AS name, in_a, in_b, count(*) AS n, {d.count_if(_TRACE_ERROR)} AS errors, "
        f"{d.quantiles('t.duration_ms', (0.5, 0.95))} AS q, NULL AS tokens_mean, NULL AS model_tokens, "
        "min(t.start_time_ns) AS first_ns, max(t.start_time_ns) AS last_ns, min(t.project) AS any_project, "
        f"min(t.trace_id) AS any_trace FROM m t GROUP BY {by_trace}"
    )
    members, settings = f"m AS ({members_sql})", ""
    materialized = _materialized_cte(store)
    member_of = getattr(d, "member_of", None)
    if materialized is not None and member_of is not None:  # ClickHouse: each span's flags from sets of ids
        members, settings = materialized("m", members_sql)
        # (named apart from m's columns, and set in a subquery: ClickHouse resolves names in the sets' subqueries
        # against the outer statement's aliases, which with a tree condition in a filter breaks its GROUP BY)
        in_a = member_of("m", "m.in_a", "m.trace_id", "trace_id")
        in_b = member_of("m", "m.in_b", "m.trace_id", "trace_id")
        source = (
            f"(SELECT *, {in_a} AS s_in_a, {in_b} AS s_in_b FROM spans WHERE project = ?) s WHERE s.s_in_a OR s.s_in_b"
        )
        flags, params = "s.s_in_a, s.s_in_b", [project]
        by_span = by_span.replace("c.in_", "s.s_in_")
    else:
        flags = "c.in_a, c.in_b"
        source, params = (
            "spans s JOIN m c ON s.trace_id = c.trace_id WHERE s.project = ? AND c.project = ?",
            [project] * 2,
        )
    tokens = d.span_tokens("s")
    spans = (
        f"SELECT s.name, {flags}, count(*), {d.count_if(_SPAN_ERROR)}, "
        f"{d.quantiles('s.duration_ms', (0.5, 0.95))}, avg({tokens}), "
        f"sum(CASE WHEN {_MODEL_CALL} THEN {tokens} END), NULL, NULL, NULL, NULL "
        f"FROM {source} GROUP BY {by_span}"
    )
    sql = f"WITH {members} {traces} UNION ALL {spans}{settings}"
    return store.query_rows(sql, [*members_params, *params])


_MATERIALIZES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _materialized_cte(store: AnalysisStore) -> Callable[[str, str], tuple[str, str]] | None:
    """The dialect's spelling of a CTE computed once (``materialized_cte``: the ``WITH`` item and the statement's
    trailing ``SETTINGS``) when the store's server takes it (ClickHouse 26.3+), else None. Asked once per store."""
    spell = getattr(store.dialect, "materialized_cte", None)
    if spell is None:
        return None
    takes = _MATERIALIZES.get(store)
    if takes is None:
        cte, settings = spell("m", "SELECT 1 AS x")
        try:
            takes = store.query_rows(f"WITH {cte} SELECT x FROM m{settings}") == [(1,)]
        except Exception:  # an older server: a syntax error, an unknown setting
            takes = False
        _MATERIALIZES[store] = takes
    return spell if takes else None


def _newest(
    store: AnalysisStore, project: str, where: str, params: list[Any], traces: int, first: int | None, last: int | None
) -> list[tuple[Any, ...]]:
    """The newest ``SAMPLE_ROWS`` traces of a cohort of ``traces`` traces started between ``first`` and ``last``:
    ``(trace_id, start, end, tags, metadata)``, newest first (then by id, so the same on every engine).

    Read in a window guessed from an even spread of the cohort over its time range, widened until it holds
    ``SAMPLE_ROWS`` of them (a full window means none older can be among the newest), instead of the filter
    running over every trace.
    """
    spread = 2
    while traces:
        bound = None
        if first is not None and last is not None and spread * SAMPLE_ROWS < traces:
            bound = last - (last - first) * spread * SAMPLE_ROWS // traces
        window, window_params = (" AND t.start_time_ns >= ?", [bound]) if bound is not None else ("", [])
        rows = store.query_rows(
            "SELECT t.trace_id, t.start_time_ns, t.end_time_ns, t.tags, t.metadata FROM traces t "
            f"WHERE t.project = ?{window} AND ({where}) "
            "ORDER BY t.start_time_ns DESC NULLS LAST, t.trace_id LIMIT ?",
            [project, *window_params, *params, SAMPLE_ROWS],
        )
        if bound is None or len(rows) >= SAMPLE_ROWS:
            return rows
        spread *= 4
    return []


def _sample(
    store: AnalysisStore, project: str, rows_a: list[tuple[Any, ...]], rows_b: list[tuple[Any, ...]]
) -> dict[str, dict[str, list]]:
    """Values per field over each cohort's sampled traces (rows of ``_newest``): ``tag.k``, ``metadata.k``,
    ``finding.n`` per trace, ``<span name>|span.attributes.k`` per span (None where a row lacks the field)."""
    out: dict[str, dict[str, list[Any]]] = {"a": {}, "b": {}}
    rows = {r[0]: r for r in (*rows_a, *rows_b)}
    if not rows:
        return out
    ids = sorted(rows)
    among = store.dialect.in_list("trace_id")
    findings: dict[str, dict[str, Any]] = {}
    for tid, name, value in store.query_rows(
        f"SELECT trace_id, name, value FROM findings_current WHERE project = ? AND {among} ORDER BY time_ns",
        [project, ids],
    ):
        findings.setdefault(tid, {})[name] = _decode(value)
    spans: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    starts = [r[1] for r in rows.values() if r[1] is not None]
    ends = [r[2] for r in rows.values() if r[2] is not None]
    if starts and ends:
        # A trace's spans start within its own start and end: the sample's time range bounds the read.
        for tid, name, attrs in store.query_rows(
            f"SELECT trace_id, name, attributes FROM spans WHERE project = ? AND {among} "
            "AND start_time_ns BETWEEN ? AND ?",
            [project, ids, min(starts), max(ends)],
        ):
            spans.setdefault(tid, []).append((name, (_decode(attrs) if attrs else {}) or {}))

    def collect(into: dict[str, list[Any]], prefix: str, dicts: list[dict[str, Any]]) -> None:
        for k in {k for item in dicts for k in item}:
            into[f"{prefix}{k}"] = [item.get(k) for item in dicts]

    for label, members in (("a", rows_a), ("b", rows_b)):
        collect(out[label], "tag.", [(_decode(r[3]) if r[3] else {}) or {} for r in members])
        collect(out[label], "metadata.", [(_decode(r[4]) if r[4] else {}) or {} for r in members])
        collect(out[label], "finding.", [findings.get(r[0], {}) for r in members])
        by_name: dict[str, list[dict[str, Any]]] = {}
        for r in members:
            for name, attrs in spans.get(r[0], ()):
                by_name.setdefault(name, []).append(attrs)
        for name, dicts in by_name.items():
            collect(out[label], f"{name}|span.attributes.", dicts)
    return out


# -- critical path --------------------------------------------------------------------------------------------


def _path_spans(
    store: AnalysisStore, project: str, trace_ids: list[str], lo: int | None, hi: int | None
) -> dict[str, list[PathSpan]]:
    window, params = "", [project, trace_ids]
    if lo is not None and hi is not None:
        window, params = " AND start_time_ns BETWEEN ? AND ?", [*params, lo, hi]
    by_trace: dict[str, list[PathSpan]] = {}
    for r in store.query_rows(
        "SELECT trace_id, span_id, parent_span_id, name, kind, start_time_ns, end_time_ns FROM spans "
        f"WHERE project = ? AND {store.dialect.in_list('trace_id')}{window}",
        params,
    ):
        by_trace.setdefault(r[0], []).append(PathSpan(*r[1:]))
    return by_trace


def critical_path_of(store: AnalysisStore, project: str, trace_id: str) -> dict[str, Any] | None:
    """The critical path of one trace: its segments in time order and the time per span name."""
    row = store.query_rows(
        "SELECT start_time_ns, end_time_ns, duration_ms FROM traces WHERE project = ? AND trace_id = ?",
        [project, trace_id],
    )
    if not row:
        return None
    spans = _path_spans(store, project, [trace_id], row[0][0], row[0][1]).get(trace_id, [])
    segments = critical_path(spans)
    by_name = time_by_name(segments)
    total = sum(by_name.values()) or None
    return {
        "trace_id": trace_id,
        "duration_ms": row[0][2],
        "segments": path_to_dicts(segments),
        "by_name": [
            {"name": n, "ms": ms, "share": ms / total if total else None}
            for n, ms in sorted(by_name.items(), key=lambda kv: -kv[1])
        ],
    }


def critical_path_summary(
    store: AnalysisStore, project: str, filter_string: str | None = None, max_traces: int = 2000
) -> dict[str, Any]:
    """Which span names account for the most critical-path time over the (newest ``max_traces``) traces
    matching the filter: total and mean ms on the path, share of all path time, traces where it is on it."""
    where, params = compile_filter(filter_string, store.dialect)
    traces = store.query_rows(
        f"SELECT t.trace_id, t.start_time_ns, t.end_time_ns FROM traces t WHERE t.project = ? AND ({where}) "
        "AND t.span_count > 0 ORDER BY t.start_time_ns DESC, t.trace_id LIMIT ?",
        [project, *params, int(max_traces)],
    )
    totals: dict[str, float] = {}
    present: dict[str, int] = {}
    if traces:
        lo = min(r[1] for r in traces if r[1] is not None)
        hi = max(r[2] for r in traces if r[2] is not None)
        spans = _path_spans(store, project, [r[0] for r in traces], lo, hi)
        for r in traces:
            for name, ms in time_by_name(critical_path(spans.get(r[0], []))).items():
                totals[name] = totals.get(name, 0.0) + ms
                present[name] = present.get(name, 0) + 1
    grand = sum(totals.values()) or None
    n = len(traces)
    rows = [
        {
            "name": name,
            "total_ms": ms,
            "mean_ms_per_trace": ms / n,
            "share": ms / grand if grand else None,
            "traces": present[name],
        }
        for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])
    ]
    return {"traces": n, "by_name": rows}


# -- correlate ------------------------------------------------------------------------------------------------

_AGGS: Final = {"max": "max", "min": "min", "sum": "sum", "mean": "avg", "avg": "avg"}


def correlate(
    store: AnalysisStore,
    project: str,
    a: str,
    b: str,
    filter_string: str | None = None,
    agg: str = "max",
    max_points: int = 200_000,
) -> dict[str, Any]:
    """Pearson and Spearman correlation of two numeric fields, with the number of pairs.

    Two trace-level fields (``tag.quality_score``, ``trace.duration_ms``, ``finding.x``…) pair per trace;
    two span fields pair per span (over the spans the filter selects); a trace field with a span field pairs
    per trace, the span field reduced over the trace's selected spans with ``agg`` (max, min, sum or mean).
    """
    d = store.dialect
    if agg.lower() not in _AGGS:
        raise FilterSyntaxError(f"invalid agg {agg!r}", 1, "use max, min, sum or mean")
    fa = field_value(a, d, rows="spans", numeric=True)
    fb = field_value(b, d, rows="spans", numeric=True)
    span_level = [f.scope is Scope.SPAN for f in (fa, fb)]
    if all(span_level):
        source, params = _span_source(store, project, filter_string, fa.sql.text + fb.sql.text)
        sql = f"SELECT {fa.sql.text}, {fb.sql.text} {source} LIMIT ?"
        rows = store.query_rows(sql, [*fa.sql.params, *fb.sql.params, *params, int(max_points)])
        unit = "span"
    elif not any(span_level):
        where, params = compile_filter(filter_string, d)
        sql = f"SELECT {fa.sql.text}, {fb.sql.text} FROM traces t WHERE t.project = ? AND ({where}) LIMIT ?"
        rows = store.query_rows(sql, [*fa.sql.params, *fb.sql.params, project, *params, int(max_points)])
        unit = "trace"
    else:
        span_f, trace_f = (fa, fb) if span_level[0] else (fb, fa)
        source, params = _span_source(store, project, filter_string, "t.")
        func = _AGGS[agg.lower()]
        sql = (
            f"SELECT any_value({trace_f.sql.text}), {func}({span_f.sql.text}) {source} "
            "GROUP BY t.project, t.trace_id LIMIT ?"
        )
        rows = store.query_rows(sql, [*trace_f.sql.params, *span_f.sql.params, *params, int(max_points)])
        if not span_level[0]:
            rows = [(r[0], r[1]) for r in rows]
        else:
            rows = [(r[1], r[0]) for r in rows]
        unit = "trace"
    pairs = [(float(x), float(y)) for x, y in rows if x is not None and y is not None]
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    return {
        "a": a,
        "b": b,
        "unit": unit,
        "n": len(pairs),
        "pearson": effects.pearson(xs, ys),
        "spearman": effects.spearman(xs, ys),
        "mean_a": sum(xs) / len(xs) if xs else None,
        "mean_b": sum(ys) / len(ys) if ys else None,
    }


def check_filter(filter_string: str | None) -> None:
    """Parse ``filter_string`` (raising FilterError with a column) before running anything."""
    if filter_string:
        parse_filter(filter_string)


__all__ = [
    "FilterError",
    "bucket_ns",
    "compare",
    "correlate",
    "critical_path_of",
    "critical_path_summary",
    "latency",
    "usage",
]
