"""Evaluate a :class:`~spanscope.monitors.rules.Rule` at a point in time: SQL over the store's tables.

What is aggregated (one *observation* per row):

- **spans** when the aggregated field is a span field (``span.duration_ms``, ``span.attributes.<key>``), or for
  ``count()`` / ``error_rate`` when the filter's top-level AND holds span predicates. The span predicates
  (``span.name = 'llm.generate' AND span.kind = 'llm'``) select the spans; the rest of the filter selects
  their traces — the spans ``search_spans`` returns for the filter (all spans of matching traces when it
  has no span conditions). The window is on the span's start time.
- **traces** otherwise, selected by the whole filter as ``search_traces`` selects them; the window is on the
  trace's start time. ``error_rate`` counts a trace as failed when its root or any of its spans is ERROR (as
  the UI's dashboard does); ``finding.<name>`` is the mean of the trace's findings of that name (on the
  trace or its spans); ``tag.<key>`` / ``metadata.<key>`` read numbers, numeric strings and booleans (1/0).

Windows are half-open, ``[now - window, now)``; a change compares with ``[now - window - baseline, now - window)``.

The filter is compiled by ``spanscope.query.compile_filter``: over ``traces t`` for trace observations, with
``rows="spans"`` for span observations (the spans ``search_spans`` returns for the same filter). Everything
engine-specific goes through the store's ``dialect`` (DuckDB's by default), so rules run on every engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from spanscope.monitors.rules import Rule
from spanscope.query import DuckDBDialect, compile_filter, parse_filter
from spanscope.query.dialect import Dialect, Sql
from spanscope.query.nodes import conjuncts, is_span_only

_TRACE_ALIAS = re.compile(r"\bt\.")
_INF = float("inf")
_AGG_SQL = {
    "count": "count(*)",
    "error_rate": "avg(v)",
    "avg": "avg(v)",
    "min": "min(v)",
    "max": "max(v)",
    "sum": "sum(v)",
}
_DUCKDB = DuckDBDialect()


def _number(d: Dialect, text: Sql) -> tuple[str, list[Any]]:
    """A JSON value's text as a double: numbers, numeric strings, and booleans as 1/0."""
    v = text.text
    sql = f"CASE WHEN {v} = 'true' THEN 1.0 WHEN {v} = 'false' THEN 0.0 ELSE {d.try_double(v)} END"
    return sql, list(text.params) * 3


# -- the filter ----------------------------------------------------------------------------------------------


def has_span_conditions(text: str | None) -> bool:
    """Whether the filter's top-level AND holds span-level conditions (``span.*``, ancestor(), descendant())."""
    expr = parse_filter(text) if text else None
    return expr is not None and any(is_span_only(part) for part in conjuncts(expr))


def per_span(rule: Rule) -> bool:
    """Whether the rule aggregates spans (else traces); see the module docstring."""
    field_ = rule.aggregate.field
    if field_ is not None:
        return field_.per_span
    return has_span_conditions(rule.filter)


# -- observations ------------------------------------------------------------------------------------------------


def observations(
    rule: Rule, project: str, lo_ns: int, hi_ns: int, dialect: Dialect | None = None
) -> tuple[str, list[Any]]:
    """``SELECT trace_id, ts, v`` for every observation of ``rule`` in ``[lo_ns, hi_ns)``."""
    d = dialect or _DUCKDB
    agg = rule.aggregate
    f = agg.field
    if per_span(rule):
        if agg.func == "error_rate":
            value, vparams = "CASE WHEN s.status = 'ERROR' THEN 1.0 ELSE 0.0 END", []
        elif f is None:
            value, vparams = "1.0", []
        elif f.kind == "span.duration_ms":
            value, vparams = "s.duration_ms", []
        elif f.kind == "span.attribute":
            value, vparams = _number(d, d.json_text("s.attributes", (f.key or "",)))
        else:  # pragma: no cover - per_span() is only true for span fields
            raise AssertionError(f.kind)
        # The spans search_spans would return: those of matching traces that satisfy the span conditions.
        where, wparams = compile_filter(rule.filter, d, rows="spans")
        join = (
            " JOIN traces t ON t.project = s.project AND t.trace_id = s.trace_id" if _TRACE_ALIAS.search(where) else ""
        )
        sql = (
            f"SELECT s.trace_id AS trace_id, s.start_time_ns AS ts, {value} AS v FROM spans s{join} "
            f"WHERE s.project = ? AND s.start_time_ns >= ? AND s.start_time_ns < ? AND ({where})"
        )
        return sql, [*vparams, project, lo_ns, hi_ns, *wparams]
    if agg.func == "error_rate":
        # An uncorrelated IN runs on every engine (ClickHouse can't decorrelate this EXISTS in a subquery).
        value, vparams = (
            "CASE WHEN t.status = 'ERROR' OR t.trace_id IN (SELECT e.trace_id FROM spans e WHERE e.project = ? "
            "AND e.status = 'ERROR') THEN 1.0 ELSE 0.0 END",
            [project],
        )
    elif f is None:
        value, vparams = "1.0", []
    elif f.kind == "trace.duration_ms":
        value, vparams = "t.duration_ms", []
    elif f.kind in ("tag", "metadata"):
        column = "t.tags" if f.kind == "tag" else "t.metadata"
        value, vparams = _number(d, d.json_text(column, (f.key or "",)))
    elif f.kind == "finding":
        # The mean of each trace's findings of that name, joined to the matching traces (no correlated
        # subquery, which ClickHouse can't run here). A trace without one has no observation, as a NULL
        # value had none before: every aggregate but count() skips NULLs, and count() takes no field.
        num, nparams = _number(d, d.json_text("f.value", ()))
        traces, tparams = _trace_observations(d, "NULL", [], rule.filter, project, lo_ns, hi_ns)
        sql = (
            f"SELECT o.trace_id AS trace_id, o.ts AS ts, fa.fv AS v FROM ({traces}) o JOIN ("
            f"SELECT f.trace_id AS trace_id, avg({num}) AS fv FROM findings f WHERE f.project = ? AND f.name = ? "
            "GROUP BY f.trace_id) fa ON fa.trace_id = o.trace_id"
        )
        return sql, [*tparams, *nparams, project, f.key]
    else:  # pragma: no cover
        raise AssertionError(f.kind)
    return _trace_observations(d, value, vparams, rule.filter, project, lo_ns, hi_ns)


def _trace_observations(
    d: Dialect, value: str, vparams: list[Any], filter: str | None, project: str, lo_ns: int, hi_ns: int
) -> tuple[str, list[Any]]:
    where, wparams = compile_filter(filter, d)
    sql = (
        f"SELECT t.trace_id AS trace_id, t.start_time_ns AS ts, {value} AS v FROM traces t "
        f"WHERE t.project = ? AND t.start_time_ns >= ? AND t.start_time_ns < ? AND ({where})"
    )
    return sql, [*vparams, project, lo_ns, hi_ns, *wparams]


def measure(
    con: Any, rule: Rule, project: str, lo_ns: int, hi_ns: int, dialect: Dialect | None = None
) -> tuple[float | None, int]:
    """The aggregate's value over ``[lo_ns, hi_ns)`` and the number of observations it used."""
    d = dialect or _DUCKDB
    obs, params = observations(rule, project, lo_ns, hi_ns, d)
    agg = rule.aggregate
    agg_sql = d.quantile("v", float(agg.quantile or 0.5)) if agg.func == "quantile" else _AGG_SQL[agg.func]
    row = con.execute(f"SELECT {agg_sql}, count(v) FROM ({obs}) o", params).fetchone()
    value = None if row is None or row[0] is None else float(row[0])
    return value, int(row[1]) if row else 0


# -- evaluation --------------------------------------------------------------------------------------------------


def _holds(a: float, op: str, b: float) -> bool:
    return {
        ">": a > b,
        ">=": a >= b,
        "<": a < b,
        "<=": a <= b,
        "=": a == b,
        "!=": a != b,
    }[op]


@dataclass(slots=True)
class Evaluation:
    """One evaluation of a rule at ``at_ns``: the value, the condition's outcome and example traces."""

    rule: Rule
    project: str
    at_ns: int
    window_start_ns: int
    value: float | None
    samples: int
    firing: bool
    no_data: bool
    threshold: float
    baseline: float | None = None
    baseline_samples: int = 0
    baseline_start_ns: int | None = None
    change: float | None = None  # relative (a fraction) or absolute, as the rule's change says
    examples: list[dict[str, Any]] = field(default_factory=list)
    dialect: Dialect | None = None  # of the store it was measured on (for :func:`offending`)

    def to_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "project": self.project,
            "rule": r.text,
            "aggregate": r.aggregate.text,
            "filter": r.filter,
            "condition": r.condition_text,
            "window": r.window,
            "evaluated_at_ns": self.at_ns,
            "window_start_ns": self.window_start_ns,
            "window_end_ns": self.at_ns,
            "value": self.value,
            "samples": self.samples,
            "threshold": self.threshold,
            "baseline": self.baseline,
            "baseline_samples": self.baseline_samples,
            "baseline_start_ns": self.baseline_start_ns,
            "change": self.change,
            "firing": self.firing,
            "no_data": self.no_data,
            "examples": self.examples,
        }


def evaluate(
    con: Any,
    rule: Rule,
    project: str,
    at_ns: int,
    *,
    min_samples: int = 1,
    examples: int = 5,
    dialect: Dialect | None = None,
) -> Evaluation:
    """Evaluate ``rule`` for the window ending at ``at_ns``; ``examples`` offending traces when it fires.
    ``con`` is a cursor on the store and ``dialect`` the store's (DuckDB's by default)."""
    window_ns = int(rule.window_s * 1e9)
    lo = at_ns - window_ns
    value, samples = measure(con, rule, project, lo, at_ns, dialect)
    is_count = rule.aggregate.func == "count"
    if is_count and value is None:
        value = 0.0
    enough = is_count or (value is not None and samples >= max(1, min_samples))
    ev = Evaluation(rule, project, at_ns, lo, value, samples, False, not enough, 0.0, dialect=dialect)
    if rule.threshold is not None:
        ev.threshold = rule.threshold.value
        ev.firing = enough and value is not None and _holds(value, rule.threshold.op, rule.threshold.value)
    else:
        change = rule.change
        assert change is not None
        ev.threshold = change.amount
        base_lo = lo - int(change.baseline_s * 1e9)
        base, base_n = measure(con, rule, project, base_lo, lo, dialect)
        if is_count and base is None:
            base = 0.0
        ev.baseline, ev.baseline_samples, ev.baseline_start_ns = base, base_n, base_lo
        base_enough = is_count or (base is not None and base_n >= max(1, min_samples))
        ev.no_data = not (enough and base_enough)
        if not ev.no_data and value is not None and base is not None:
            delta = value - base
            if change.relative:
                # From a baseline of 0 any move is an infinite relative change (reported as None).
                delta = delta / abs(base) if base else (0.0 if delta == 0 else (1 if delta > 0 else -1) * _INF)
            ev.change = delta if abs(delta) != _INF else None
            moved = {"drops": -delta, "rises": delta, "changes": abs(delta)}[change.direction]
            ev.firing = _holds(moved, change.op, change.amount)
    if ev.firing and examples > 0:
        ev.examples = offending(con, ev, examples)
    return ev


def offending(con: Any, ev: Evaluation, limit: int) -> list[dict[str, Any]]:
    """The traces behind a firing evaluation, worst first: failed ones for ``error_rate``; for a threshold the
    observations on the wrong side of it; for a change those on the wrong side of the baseline."""
    rule = ev.rule
    obs, params = observations(rule, ev.project, ev.window_start_ns, ev.at_ns, ev.dialect)
    func = rule.aggregate.func
    cond, cparams, descending = "TRUE", [], True
    if func == "error_rate":
        cond = "v = 1.0"
    elif func in ("count", "sum"):
        pass
    elif rule.threshold is not None:
        op = rule.threshold.op
        cond, cparams = f"v {op} ?", [rule.threshold.value]
        descending = op not in ("<", "<=")
    elif rule.change is not None and ev.baseline is not None:
        down = rule.change.direction == "drops" or (
            rule.change.direction == "changes" and (ev.value or 0.0) < ev.baseline
        )
        cond, cparams, descending = ("v < ?" if down else "v > ?"), [ev.baseline], not down
    pick = "max(v)" if descending else "min(v)"
    order = (
        "last_ts DESC" if func in ("count", "error_rate") else f"worst {'DESC' if descending else 'ASC'}, last_ts DESC"
    )
    # Aliases unlike the columns: ClickHouse resolves a select alias in WHERE too (v would be the aggregate).
    rows = con.execute(
        f"SELECT trace_id, {pick} AS worst, max(ts) AS last_ts FROM ({obs}) o WHERE v IS NOT NULL AND {cond} "
        f"GROUP BY trace_id ORDER BY {order}, trace_id LIMIT ?",
        [*params, *cparams, int(limit)],
    ).fetchall()
    # float(): a literal 1.0 is a DECIMAL on DuckDB (it would reach JSON as the string "1.0").
    return [{"trace_id": r[0], "value": None if r[1] is None else float(r[1])} for r in rows]
