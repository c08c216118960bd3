"""Regression detection beyond fixed thresholds: did a version (or the last window) make a metric worse?

Three entry points:

- :func:`compare` — two samples -> a :class:`Regression`: a Mann–Whitney U test (no normality assumed;
  latencies and scores rarely are normal), Cliff's delta as the effect size, the mean difference with a
  bootstrap 95 % interval, and ``confidence = 1 - p``;
- :func:`regressions` — the same on the store: per version (``by="tag.app.version"``, or a prompt version in
  ``metadata.prompt_version``), each version against the one before it (by first appearance) or an explicit
  ``baseline``/``candidate``; or, with ``by=None``, the last ``window`` against the ``previous`` one;
- :func:`change_point` / :func:`find_change_point` — the most likely single shift in a series (in time order)
  and its p-value (Pettitt's test).

The metric is a monitor field: ``tag.<key>``, ``metadata.<key>``, ``finding.<name>``, ``trace.duration_ms``,
``span.duration_ms`` or ``span.attributes.<key>`` (with ``filter`` selecting traces or, for span fields,
spans — as in monitors). Whether higher is better is guessed from the metric (durations, tokens, cost and
latency: lower is better) unless given.

Example::

    from spanscope.monitors.regressions import regressions
    for r in regressions(store, "demo", "tag.quality_score", by="tag.app.version"):
        print(r.candidate, r.effect, r.confidence, r.regression)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spanscope.monitors.evaluate import observations
from spanscope.monitors.rules import Aggregate, MetricField, Rule, parse_duration, parse_field
from spanscope.query import DuckDBDialect
from spanscope.query.dialect import Dialect

_MAX_NS = 2**63 - 1
_LOWER_IS_BETTER = ("duration", "latency", "token", "cost", "time_to_first", "ttft", "error")


@dataclass(slots=True)
class Regression:
    """A two-sample comparison of ``candidate`` against ``baseline`` for one metric."""

    metric: str
    baseline: str
    candidate: str
    n_baseline: int
    n_candidate: int
    mean_baseline: float
    mean_candidate: float
    median_baseline: float
    median_candidate: float
    delta: float  # mean_candidate - mean_baseline
    relative_delta: float | None  # delta / |mean_baseline|
    ci_low: float  # bootstrap 95 % interval of delta
    ci_high: float
    effect_size: float  # Cliff's delta of candidate vs baseline, in [-1, 1]
    effect: str  # negligible | small | medium | large
    p_value: float  # Mann–Whitney U, two-sided
    confidence: float  # 1 - p_value
    direction: str  # worse | better | same
    regression: bool  # worse, significant at alpha, and not a negligible effect
    higher_is_better: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ChangePoint:
    index: int  # the first observation after the shift
    p_value: float
    confidence: float
    mean_before: float
    mean_after: float
    n: int
    time_ns: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ranks(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average ranks (1-based) and the sizes of the tie groups."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    avg = first + (counts + 1) / 2.0  # 1-based average rank of each group
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(avg, counts)
    return ranks, counts


def _effect_label(delta: float) -> str:
    # Romano et al. (2006) thresholds for Cliff's delta.
    a = abs(delta)
    return "negligible" if a < 0.147 else "small" if a < 0.33 else "medium" if a < 0.474 else "large"


def compare(
    baseline: Sequence[float],
    candidate: Sequence[float],
    *,
    metric: str = "value",
    baseline_label: str = "baseline",
    candidate_label: str = "candidate",
    higher_is_better: bool = True,
    alpha: float = 0.05,
    bootstrap: int = 2000,
    seed: int = 0,
) -> Regression:
    """Compare two samples; raises ValueError when either is empty."""
    b = np.asarray([float(v) for v in baseline if v is not None and math.isfinite(float(v))])
    c = np.asarray([float(v) for v in candidate if v is not None and math.isfinite(float(v))])
    n1, n2 = len(b), len(c)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"need observations on both sides (baseline {n1}, candidate {n2})")
    ranks, ties = _ranks(np.concatenate([b, c]))
    n = n1 + n2
    u_c = float(ranks[n1:].sum()) - n2 * (n2 + 1) / 2.0  # candidate > baseline pairs (+ half the ties)
    cliff = 2.0 * u_c / (n1 * n2) - 1.0
    mu = n1 * n2 / 2.0
    tie_term = float((ties**3 - ties).sum()) / (n * (n - 1)) if n > 1 else 0.0
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
    if var <= 0:
        p = 1.0
    else:
        z = (abs(u_c - mu) - 0.5) / math.sqrt(var)  # continuity correction
        p = min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2)))
    mean_b, mean_c = float(b.mean()), float(c.mean())
    delta = mean_c - mean_b
    rng = np.random.default_rng(seed)
    diffs = rng.choice(c, (bootstrap, n2)).mean(axis=1) - rng.choice(b, (bootstrap, n1)).mean(axis=1)
    lo, hi = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    effect = _effect_label(cliff)
    if effect == "negligible" or p >= alpha:
        direction = "same"
    else:
        direction = "better" if (cliff > 0) == higher_is_better else "worse"
    return Regression(
        metric=metric,
        baseline=baseline_label,
        candidate=candidate_label,
        n_baseline=n1,
        n_candidate=n2,
        mean_baseline=mean_b,
        mean_candidate=mean_c,
        median_baseline=float(np.median(b)),
        median_candidate=float(np.median(c)),
        delta=delta,
        relative_delta=delta / abs(mean_b) if mean_b else None,
        ci_low=lo,
        ci_high=hi,
        effect_size=cliff,
        effect=effect,
        p_value=p,
        confidence=1.0 - p,
        direction=direction,
        regression=direction == "worse",
        higher_is_better=higher_is_better,
    )


def change_point(values: Sequence[float]) -> ChangePoint | None:
    """One shift in a series (in time order); None for fewer than 4 values.

    Whether there is a shift: Pettitt's test (rank based, so outliers don't fake one), ``p`` from its
    statistic ``K = max |U_t|``. Where: the split that best separates the means (largest between-segment sum
    of squares), since Pettitt's own arg-max drifts by a few places when the segments overlap in rank.
    """
    x = np.asarray([float(v) for v in values], dtype=float)
    n = len(x)
    if n < 4:
        return None
    ranks, _ = _ranks(x)
    t = np.arange(1, n)
    u = 2.0 * np.cumsum(ranks)[:-1] - t * (n + 1)
    k = float(np.max(np.abs(u)))
    p = min(1.0, 2.0 * math.exp(-6.0 * k * k / (n**3 + n**2)))
    left = np.cumsum(x)[:-1] / t
    right = (x.sum() - np.cumsum(x)[:-1]) / (n - t)
    split = int(np.argmax(t * (n - t) * (left - right) ** 2)) + 1
    return ChangePoint(split, p, 1.0 - p, float(x[:split].mean()), float(x[split:].mean()), n)


# -- on the store -------------------------------------------------------------------------------------------------


def _higher_is_better(f: MetricField) -> bool:
    text = f"{f.kind} {f.key or ''}".lower()
    return not any(word in text for word in _LOWER_IS_BETTER)


def _rule(metric: str, filter: str | None) -> Rule:
    f = parse_field(metric)
    return Rule(text=metric, aggregate=Aggregate("avg", f, None, f"avg({metric})"), filter=filter, window_s=1.0)


def _con(store: Any) -> tuple[Any, bool, Dialect | None]:
    """A cursor, whether to close it, and the store's dialect (a bare cursor is DuckDB's)."""
    if hasattr(store, "execute") and not hasattr(store, "search_traces"):
        return store, False, None  # already a cursor / connection
    barrier = getattr(store, "barrier", None)
    if callable(barrier):
        barrier()
    return store._cursor(), True, getattr(store, "dialect", None)


def _rows(
    con: Any, d: Dialect | None, rule: Rule, project: str, lo: int, hi: int, by: MetricField | None
) -> list[tuple[Any, ...]]:
    obs, params = observations(rule, project, lo, hi, d)
    if by is None:
        return con.execute(f"SELECT v, ts, NULL FROM ({obs}) o WHERE v IS NOT NULL ORDER BY ts", params).fetchall()
    column = "t.tags" if by.kind == "tag" else "t.metadata"
    group = (d or DuckDBDialect()).json_text(column, (by.key or "",))
    return con.execute(
        f"SELECT o.v, o.ts, {group.text} AS g FROM ({obs}) o JOIN traces t ON t.trace_id = o.trace_id "
        "WHERE t.project = ? AND o.v IS NOT NULL ORDER BY o.ts",
        [*group.params, *params, project],
    ).fetchall()


def regressions(
    store: Any,
    project: str,
    metric: str = "tag.quality_score",
    *,
    by: str | None = "tag.app.version",
    filter: str | None = None,
    baseline: str | None = None,
    candidate: str | None = None,
    window: str = "1d",
    previous: str = "7d",
    at_ns: int | None = None,
    higher_is_better: bool | None = None,
    alpha: float = 0.05,
    min_samples: int = 10,
) -> list[Regression]:
    """Compare versions (``by``) or time windows (``by=None``) for ``metric``; see the module docstring.

    ``store`` is a spanscope store (or a DuckDB cursor on one). Versions with fewer than ``min_samples``
    observations are skipped. With ``by=None`` the windows end at ``at_ns`` (default: the last observation).
    """
    rule = _rule(metric, filter)
    field = rule.aggregate.field
    assert field is not None
    hib = _higher_is_better(field) if higher_is_better is None else higher_is_better
    by_field = parse_field(by) if by else None
    if by_field is not None and by_field.kind not in ("tag", "metadata"):
        raise ValueError(f"by must be tag.<key> or metadata.<key>, got {by!r}")
    con, close, d = _con(store)
    try:
        if by_field is None:
            end = at_ns
            if end is None:
                last = _rows(con, d, rule, project, 0, _MAX_NS, None)
                if not last:
                    return []
                end = int(last[-1][1]) + 1
            w, prev = int(parse_duration(window) * 1e9), int(parse_duration(previous) * 1e9)
            cur = [r[0] for r in _rows(con, d, rule, project, end - w, end, None)]
            base = [r[0] for r in _rows(con, d, rule, project, end - w - prev, end - w, None)]
            if len(cur) < min_samples or len(base) < min_samples:
                return []
            return [
                compare(
                    base,
                    cur,
                    metric=metric,
                    baseline_label=f"previous {previous}",
                    candidate_label=f"last {window}",
                    higher_is_better=hib,
                    alpha=alpha,
                )
            ]
        groups: dict[str, list[float]] = {}
        for v, _, g in _rows(con, d, rule, project, 0, _MAX_NS, by_field):
            if g is not None:
                groups.setdefault(str(g), []).append(float(v))  # insertion order = first appearance
    finally:
        if close:
            con.close()
    versions = [g for g, vals in groups.items() if len(vals) >= min_samples]
    if baseline is not None or candidate is not None:
        base_v = baseline if baseline is not None else (versions[-2] if len(versions) > 1 else None)
        cand_v = candidate if candidate is not None else (versions[-1] if versions else None)
        pairs = [(base_v, cand_v)] if base_v in groups and cand_v in groups else []
    else:
        pairs = list(zip(versions, versions[1:], strict=False))
    return [
        compare(
            groups[b],
            groups[c],
            metric=metric,
            baseline_label=b,
            candidate_label=c,
            higher_is_better=hib,
            alpha=alpha,
        )
        for b, c in pairs
        if b is not None and c is not None
    ]


def find_change_point(
    store: Any, project: str, metric: str = "tag.quality_score", *, filter: str | None = None, since_ns: int = 0
) -> ChangePoint | None:
    """The most likely single shift of ``metric`` over time (observations since ``since_ns``, in time order)."""
    rule = _rule(metric, filter)
    con, close, d = _con(store)
    try:
        rows = _rows(con, d, rule, project, since_ns, _MAX_NS, None)
    finally:
        if close:
            con.close()
    cp = change_point([r[0] for r in rows])
    if cp is not None:
        cp.time_ns = int(rows[cp.index][1])
    return cp


__all__ = ["ChangePoint", "Regression", "change_point", "compare", "find_change_point", "regressions"]
