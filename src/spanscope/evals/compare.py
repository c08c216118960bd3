"""Did it help? ``compare_runs`` (two evaluation runs) and ``compare`` (a finding or tag in production).

    cmp = spanscope.compare_runs(before, after)
    print(cmp)                      # per metric: means, difference, 95% CI, p, verdict
    cmp.worse                       # the records that got worse, per metric
    cmp.verdicts                    # {"exact_match": "better", "latency_ms": "no significant change", …}

    spanscope.evals.compare("user_thumbs_up", version("1.4.0"), version("1.5.0-rc1"))
    spanscope.evals.compare("response_safe_score", window("2024-05-01", "2024-05-08"),
                            window("2024-05-08", "2024-05-15"))

Runs are compared record by record where they share records (paired), otherwise as two groups; string
scores (categories, judge labels) become one 0/1 metric per category. See ``stats.py`` for the tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spanscope.client import Client
from spanscope.evals.run import EvalRun, client_or_default, get_run
from spanscope.evals.stats import MetricComparison, compare_metric, expand_categories, to_number

if TYPE_CHECKING:
    import pandas as pd

_LATENCY = "latency_ms"


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _signed(x: float | None) -> str:
    return "—" if x is None else f"{x:+.3f}"


@dataclass
class Comparison:
    """The comparison of metrics between A (before) and B (after)."""

    a: dict[str, Any]
    b: dict[str, Any]
    metrics: list[MetricComparison]
    worse: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    alpha: float = 0.05
    kind: str = "runs"

    @property
    def verdicts(self) -> dict[str, str]:
        return {m.metric: m.verdict for m in self.metrics}

    def metric(self, name: str) -> MetricComparison:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "a": self.a,
            "b": self.b,
            "alpha": self.alpha,
            "metrics": [m.to_dict() for m in self.metrics],
            "worse": self.worse,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        return cls(
            a=data["a"],
            b=data["b"],
            metrics=[MetricComparison(**m) for m in data["metrics"]],
            worse=data.get("worse") or {},
            alpha=data.get("alpha", 0.05),
            kind=data.get("kind", "runs"),
        )

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([m.to_dict() for m in self.metrics])

    def worse_records(self, metric: str | None = None) -> pd.DataFrame:
        """The records (paired) whose score got worse, with both values and both traces."""
        import pandas as pd

        rows = [{"metric": m, **r} for m, recs in self.worse.items() if metric in (None, m) for r in recs]
        return pd.DataFrame(rows, columns=["metric", "record_id", "a", "b", "trace_a", "trace_b"])

    def table(self) -> Any:
        """A rich Table: one row per metric."""
        from rich import box
        from rich.table import Table

        la, lb = self.a.get("label", "A"), self.b.get("label", "B")
        table = Table(
            title=f"A = {la}  →  B = {lb}   (α = {self.alpha:g})",
            box=box.SIMPLE_HEAD,
            collapse_padding=True,
            show_edge=False,
        )
        table.add_column("metric", no_wrap=True)
        for col in ("A", "B", "B - A", "95% CI", "p", "n"):
            table.add_column(col, justify="right", no_wrap=True)
        table.add_column("verdict", min_width=7)
        style = {"better": "green", "worse": "bold red", "insufficient data": "dim"}
        shown = {"no significant change": "no sig. change", "insufficient data": "too few data"}
        for m in self.metrics:
            ci = "—" if m.ci_low is None else f"{m.ci_low:+.2f}…{m.ci_high:+.2f}"
            p = "—" if m.p_value is None else (f"{m.p_value:.4f}" if m.p_value >= 0.0001 else "<0.0001")
            n = str(m.n_paired) if m.n_paired else f"{m.n_a}/{m.n_b}"
            s = style.get(m.verdict)
            text = shown.get(m.verdict, m.verdict)
            verdict = f"[{s}]{text}[/{s}]" if s else text
            table.add_row(m.metric, _fmt(m.mean_a), _fmt(m.mean_b), _signed(m.diff), ci, p, n, verdict)
        worse = [f"{k} on {len(v)}" for k, v in self.worse.items() if v]
        if worse:
            table.caption = "records that got worse: " + ", ".join(worse)
        return table

    def __str__(self) -> str:
        la, lb = self.a.get("label", "A"), self.b.get("label", "B")
        lines = [f"{la} -> {lb} (alpha {self.alpha:g})"]
        for m in self.metrics:
            ci = "" if m.ci_low is None else f" 95% CI [{m.ci_low:+.3f}, {m.ci_high:+.3f}]"
            p = "" if m.p_value is None else f" p={m.p_value:.4f}"
            lines.append(f"  {m.metric}: {_fmt(m.mean_a)} -> {_fmt(m.mean_b)} ({_signed(m.diff)}{ci}{p}) {m.verdict}")
        return "\n".join(lines)

    def print(self) -> None:
        from rich.console import Console

        Console().print(self.table())


def _run_label(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run.get("run_id"),
        "name": run.get("name"),
        "label": run.get("name") or run.get("run_id"),
        "dataset": run.get("dataset"),
        "dataset_version": run.get("dataset_version"),
        "records": len(run.get("results") or []),
    }


def compare_run_dicts(
    run_a: dict[str, Any],
    run_b: dict[str, Any],
    *,
    metrics: list[str] | None = None,
    lower_is_better: list[str] | tuple[str, ...] = (),
    include_latency: bool = False,
    alpha: float = 0.05,
    n_boot: int = 5000,
    n_perm: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Compare two runs given as dicts (``{"run_id", "name", "scorers", "results": [...]}``).

    ``latency_ms`` (the app call's wall time, lower is better) is compared too when ``include_latency``
    or when ``metrics`` names it: off by default, as it measures the machine as much as the app."""
    prefs: dict[str, bool] = {}
    names: list[str] = []
    for run in (run_a, run_b):
        for s in run.get("scorers") or []:
            if isinstance(s, dict) and s.get("name") and s["name"] not in prefs:
                prefs[s["name"]] = bool(s.get("higher_is_better", True))
                names.append(s["name"])
        for r in run.get("results") or []:
            for k in r.get("scores") or {}:
                if k not in names:
                    names.append(k)
    if metrics is not None:
        names = [n for n in metrics if n != _LATENCY]
    prefs.update({n: False for n in lower_is_better})

    def values(run: dict[str, Any], name: str) -> dict[str, Any]:
        if name == _LATENCY:
            return {str(r["record_id"]): r.get(_LATENCY) for r in run.get("results") or [] if not r.get("error")}
        return {
            str(r["record_id"]): (r.get("scores") or {}).get(name)
            for r in run.get("results") or []
            if not r.get("error")
        }

    traces_a = {str(r["record_id"]): r.get("trace_id") for r in run_a.get("results") or []}
    traces_b = {str(r["record_id"]): r.get("trace_id") for r in run_b.get("results") or []}
    kw = {"alpha": alpha, "n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    out: list[MetricComparison] = []
    worse: dict[str, list[dict[str, Any]]] = {}
    wanted = list(names)
    if (include_latency and metrics is None) or (metrics is not None and _LATENCY in metrics):
        wanted.append(_LATENCY)
        prefs.setdefault(_LATENCY, False)
    for name in wanted:
        va, vb = values(run_a, name), values(run_b, name)
        cats = expand_categories({**va, **{f"\0{k}": v for k, v in vb.items()}})
        pairs: list[tuple[str, dict[str, Any], dict[str, Any]]]
        if cats is not None:
            pairs = [(f"{name}={c}", {k: v == c for k, v in va.items() if v is not None},
                      {k: v == c for k, v in vb.items() if v is not None}) for c in cats]  # fmt: skip
        else:
            pairs = [(name, va, vb)]
        for label, xa, xb in pairs:
            hib = prefs.get(name, True)
            m = compare_metric(label, xa, xb, paired=True, higher_is_better=hib, **kw)
            if m.n_a == 0 and m.n_b == 0:
                continue
            out.append(m)
            got_worse = []
            for rid in xa:
                a_num, b_num = to_number(xa.get(rid)), to_number(xb.get(rid))
                if a_num is None or b_num is None or a_num == b_num:
                    continue
                if (b_num < a_num) == hib:
                    got_worse.append(
                        {
                            "record_id": rid,
                            "a": xa[rid],
                            "b": xb[rid],
                            "trace_a": traces_a.get(rid),
                            "trace_b": traces_b.get(rid),
                        }
                    )
            worse[label] = got_worse
    return Comparison(_run_label(run_a), _run_label(run_b), out, worse, alpha, "runs")


def _as_run_dict(run: EvalRun | str | dict[str, Any], client: Client | None) -> dict[str, Any]:
    if isinstance(run, dict):
        return run
    if isinstance(run, str):
        run = get_run(run, client=client)
    if not run.results:
        run = get_run(run.run_id, client=client)
    return {
        "run_id": run.run_id,
        "name": run.name,
        "dataset": run.dataset,
        "dataset_version": run.dataset_version,
        "scorers": run.scorers,
        "results": run.results,
    }


def compare_runs(
    run_a: EvalRun | str,
    run_b: EvalRun | str,
    *,
    metrics: list[str] | None = None,
    lower_is_better: list[str] | tuple[str, ...] = (),
    include_latency: bool = False,
    alpha: float = 0.05,
    n_boot: int = 5000,
    seed: int = 0,
    client: Client | None = None,
) -> Comparison:
    """Compare run B (after) with run A (before), metric by metric.

    For each scorer (and ``latency_ms`` with ``include_latency``): the means, B - A, a bootstrap 95%
    confidence interval and a paired sign-flip permutation test over the records both runs scored, the
    records that got worse, and a verdict (``better`` / ``worse`` / ``no significant change`` /
    ``insufficient data``). Runs are ``EvalRun`` objects or run ids / names. Scorers declared
    ``higher_is_better=False`` (and names in ``lower_is_better``) count a decrease as better.
    """
    a = _as_run_dict(run_a, client)
    b = _as_run_dict(run_b, client)
    return compare_run_dicts(
        a, b, metrics=metrics, lower_is_better=lower_is_better, alpha=alpha, n_boot=n_boot, seed=seed
    )


# ---------------------------------------------------------------------------------------------- production
def _quote(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _instant(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return _quote(value.astimezone(dt.UTC).isoformat())
    if isinstance(value, dt.date):
        return _quote(value.isoformat())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)  # epoch milliseconds
    return _quote(str(value))


def window(start: Any, end: Any) -> str:
    """A filter for traces that started in ``[start, end)`` (datetimes, ISO-8601 text or epoch ms)."""
    return f"trace.timestamp >= {_instant(start)} AND trace.timestamp < {_instant(end)}"


def version(value: Any, tag: str = "app.version") -> str:
    """A filter for traces whose tag ``tag`` (default ``app.version``) equals ``value``."""
    key = tag.replace("`", "``")
    return f"tag.`{key}` = {_quote(value)}"


def _cohort(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    if isinstance(spec, tuple | list) and len(spec) == 2:
        return window(*spec)
    if isinstance(spec, dict) and spec:
        return " AND ".join(
            f"tag.`{str(k).removeprefix('tag.').replace('`', '``')}` = {_quote(v)}" for k, v in spec.items()
        )
    raise TypeError("a cohort is a filter string, a (start, end) window or a {tag: value} dict")


def compare_values(
    field: str,
    values_a: dict[str, Any],
    values_b: dict[str, Any],
    *,
    label_a: str = "A",
    label_b: str = "B",
    higher_is_better: bool = True,
    alpha: float = 0.05,
    n_boot: int = 5000,
    n_perm: int = 10_000,
    seed: int = 0,
) -> Comparison:
    """Unpaired comparison of one finding/tag's values (keyed by trace id) between two cohorts."""
    kw = {"alpha": alpha, "n_boot": n_boot, "n_perm": n_perm, "seed": seed, "higher_is_better": higher_is_better}
    cats = expand_categories({**values_a, **{f"\0{k}": v for k, v in values_b.items()}})
    if cats is not None:
        metrics = [
            compare_metric(
                f"{field}={c}",
                {k: v == c for k, v in values_a.items()},
                {k: v == c for k, v in values_b.items()},
                paired=False,
                **kw,
            )
            for c in cats
        ]
    else:
        metrics = [compare_metric(field, values_a, values_b, paired=False, **kw)]
    return Comparison(
        {"label": label_a, "n": len(values_a)}, {"label": label_b, "n": len(values_b)}, metrics, {}, alpha, "production"
    )


def compare(
    field: str,
    a: Any,
    b: Any,
    *,
    filter: str | None = None,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    seed: int = 0,
    client: Client | None = None,
) -> Comparison:
    """Compare a finding (``"user_thumbs_up"``, ``"finding.x"``) or a tag (``"tag.quality_score"``) over
    production traces between cohort ``a`` and cohort ``b``: each a filter string, a ``(start, end)``
    time window, or a ``{tag: value}`` dict (see :func:`window`, :func:`version`). ``filter`` narrows both.
    Per trace the latest current finding counts (a trace-level one before one on a span)."""
    c = client_or_default(client)
    data = c._request(
        "POST",
        "/api/v1/findings/compare",
        {
            "field": field,
            "a": _cohort(a),
            "b": _cohort(b),
            "filter": filter,
            "higher_is_better": higher_is_better,
            "alpha": alpha,
            "seed": seed,
        },
    )
    return Comparison.from_dict(data)
