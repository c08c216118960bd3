"""The result of an evaluation: :class:`EvalRun` (per-record rows and aggregates), stored server-side.

``get_run(ref)`` loads a run by id or name (the latest of that name), ``list_runs()`` lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spanscope.client import Client

if TYPE_CHECKING:
    import pandas as pd

RUNS_PATH = "/api/v1/runs"


def client_or_default(client: Client | None) -> Client:
    if client is not None:
        return client
    from spanscope.client import _default_client

    return _default_client()


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def aggregate(results: list[dict[str, Any]], scorer_names: list[str]) -> dict[str, Any]:
    """Per scorer: count of values, mean (bools as 1/0) or category counts, errors, not applicable;
    per run: records, app errors, latency mean/p50/p95."""
    from spanscope.evals.stats import to_number

    out: dict[str, Any] = {"records": len(results), "app_errors": sum(1 for r in results if r.get("error"))}
    latencies = [r["latency_ms"] for r in results if isinstance(r.get("latency_ms"), int | float)]
    if latencies:
        out["latency_ms"] = {
            "mean": sum(latencies) / len(latencies),
            "p50": _quantile(latencies, 0.5),
            "p95": _quantile(latencies, 0.95),
        }
    scorers: dict[str, Any] = {}
    for name in scorer_names:
        values = [r["scores"].get(name) for r in results if not r.get("error")]
        present = [v for v in values if v is not None]
        errors = sum(1 for r in results if name in (r.get("errors") or {}))
        entry: dict[str, Any] = {
            "count": len(present),
            "errors": errors,
            "not_applicable": len(values) - len(present) - errors,
        }
        numbers = [x for v in present if (x := to_number(v)) is not None]
        if present and len(numbers) == len(present):
            entry["mean"] = sum(numbers) / len(numbers)
        elif present:
            counts: dict[str, int] = {}
            for v in present:
                counts[str(v)] = counts.get(str(v), 0) + 1
            entry["counts"] = counts
        scorers[name] = entry
    out["scorers"] = scorers
    return out


@dataclass
class EvalRun:
    """One evaluation run. ``to_pandas()`` gives one row per record; ``aggregates`` the summary."""

    run_id: str
    name: str
    dataset: str | None = None
    dataset_version: int | None = None
    dataset_hash: str | None = None
    app: str | None = None
    scorers: list[dict[str, Any]] = field(default_factory=list)
    status: str = "running"
    created_at_ns: int | None = None
    finished_at_ns: int | None = None
    aggregates: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRun:
        names = {f for f in cls.__dataclass_fields__}
        kwargs = {k: v for k, v in data.items() if k in names}
        kwargs["scorers"] = [s if isinstance(s, dict) else {"name": str(s)} for s in data.get("scorers") or []]
        return cls(**kwargs)

    @property
    def scorer_names(self) -> list[str]:
        return [s["name"] for s in self.scorers]

    @property
    def metrics(self) -> dict[str, float]:
        """Mean of each numeric / boolean scorer."""
        return {k: v["mean"] for k, v in (self.aggregates.get("scorers") or {}).items() if "mean" in v}

    def __repr__(self) -> str:
        means = ", ".join(f"{k}={v:.3f}" for k, v in self.metrics.items())
        return f"<EvalRun {self.name!r} id={self.run_id} records={len(self.results)} {self.status} {means}>"

    def to_pandas(self) -> pd.DataFrame:
        """One row per record: ``record_id, trace_id, source_trace_id``, the app's input fields,
        ``outputs, expected, latency_ms, error``, a column per scorer and ``<scorer>.rationale`` /
        ``<scorer>.error`` columns where any record has one."""
        import pandas as pd

        input_cols: list[str] = []
        for r in self.results:
            for k in (r.get("inputs") or {}) if isinstance(r.get("inputs"), dict) else {}:
                if k not in input_cols:
                    input_cols.append(k)
        names = self.scorer_names or sorted({k for r in self.results for k in r.get("scores") or {}})
        rows = []
        for r in self.results:
            row: dict[str, Any] = {
                "record_id": r.get("record_id"),
                "trace_id": r.get("trace_id"),
                "source_trace_id": r.get("source_trace_id"),
            }
            inputs = r.get("inputs") if isinstance(r.get("inputs"), dict) else {}
            for k in input_cols:
                row[k] = inputs.get(k)
            row.update(
                outputs=r.get("outputs"),
                expected=r.get("expected"),
                latency_ms=r.get("latency_ms"),
                error=r.get("error"),
            )
            for n in names:
                row[n] = (r.get("scores") or {}).get(n)
            for n in names:
                row[f"{n}.rationale"] = (r.get("rationales") or {}).get(n)
                row[f"{n}.error"] = (r.get("errors") or {}).get(n)
            rows.append(row)
        columns = [
            "record_id",
            "trace_id",
            "source_trace_id",
            *input_cols,
            "outputs",
            "expected",
            "latency_ms",
            "error",
            *names,
        ]
        for n in names:
            for suffix in (".rationale", ".error"):
                if any(row[n + suffix] is not None for row in rows):
                    columns.append(n + suffix)
        df = pd.DataFrame({c: pd.Series([row[c] for row in rows], dtype=object) for c in columns})
        df["latency_ms"] = pd.to_numeric(df["latency_ms"], errors="coerce")
        for n in names:
            values = [v for v in df[n] if v is not None]
            if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                df[n] = pd.to_numeric(df[n], errors="coerce")
        return df

    @property
    def df(self) -> pd.DataFrame:
        return self.to_pandas()

    def summary_table(self) -> Any:
        """A rich Table of the aggregates."""
        from rich.table import Table

        table = Table(title=f"run {self.name} ({self.run_id}) — {len(self.results)} record(s)")
        for col in ("scorer", "mean / counts", "values", "errors", "n/a"):
            table.add_column(col, justify="left" if col in ("scorer", "mean / counts") else "right")
        for name, agg in (self.aggregates.get("scorers") or {}).items():
            shown = (
                f"{agg['mean']:.3f}"
                if "mean" in agg
                else ", ".join(f"{k}: {v}" for k, v in (agg.get("counts") or {}).items())
            )
            table.add_row(
                name, shown, str(agg.get("count", 0)), str(agg.get("errors", 0)), str(agg.get("not_applicable", 0))
            )
        lat = self.aggregates.get("latency_ms")
        if lat:
            table.caption = (
                f"latency ms: mean {lat['mean']:.1f}, p50 {lat['p50']:.1f}, p95 {lat['p95']:.1f}; "
                f"app errors: {self.aggregates.get('app_errors', 0)}"
            )
        return table


def get_run(ref: str, *, results: bool = True, client: Client | None = None) -> EvalRun:
    """A stored run by id, or the latest run with that name. Raises ApiError(404) when unknown."""
    import urllib.parse

    c = client_or_default(client)
    data = c._request("GET", f"{RUNS_PATH}/{urllib.parse.quote(ref, safe='')}?results={'true' if results else 'false'}")
    return EvalRun.from_dict(data)


def list_runs(dataset: str | None = None, *, limit: int = 100, client: Client | None = None) -> list[EvalRun]:
    """Runs, newest first (without their per-record results)."""
    import urllib.parse

    c = client_or_default(client)
    query = urllib.parse.urlencode({k: v for k, v in {"dataset": dataset, "limit": limit}.items() if v is not None})
    data = c._request("GET", f"{RUNS_PATH}?{query}")
    return [EvalRun.from_dict(r) for r in data["runs"]]
