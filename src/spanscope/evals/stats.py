"""Is a difference real or noise? Paired and unpaired comparisons of one metric between two groups.

- **Paired** (the same records scored in both runs): the mean of the per-record differences, a
  percentile bootstrap 95% confidence interval of it (records resampled with replacement) and a two-sided
  sign-flip permutation test (exact up to 12 records, Monte Carlo beyond), which assumes nothing about the
  shape of the differences and suits 0/1 scores as well as continuous ones.
- **Unpaired** (two time windows or two app versions in production): the difference of the means, a
  bootstrap interval resampling each group, and a two-sided permutation test of the group labels (beyond
  4000 values in all, Welch's normal approximation, which is as good there and far cheaper).

The verdict is ``better`` / ``worse`` when ``p < alpha`` (default 0.05; direction by
``higher_is_better``), ``no significant change`` otherwise, ``insufficient data`` below two values per
group (or two shared records when paired). Booleans count as 1/0. numpy is imported when called.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

VERDICTS: Final = ("better", "worse", "no significant change", "insufficient data")
_EXACT_MAX: Final = 12
_CHUNK: Final = 256
_LARGE: Final = 4000  # unpaired groups larger than this (together) use the normal approximation


def to_number(value: Any) -> float | None:
    """A score as a float: bools are 1/0, finite numbers themselves; anything else None."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


@dataclass(slots=True)
class MetricComparison:
    """One metric compared between group A (before) and group B (after)."""

    metric: str
    n_a: int
    n_b: int
    n_paired: int
    mean_a: float | None
    mean_b: float | None
    diff: float | None  # B - A (paired: the mean per-record difference)
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    test: str
    verdict: str
    higher_is_better: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def significant(self) -> bool:
        return self.verdict in ("better", "worse")


def _bootstrap_ci(rng: Any, values: Any, n_boot: int) -> tuple[float, float]:
    import numpy as np

    n = len(values)
    means = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        k = min(_CHUNK, n_boot - start)
        means[start : start + k] = values[rng.integers(0, n, (k, n))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def paired_test(
    a: list[float], b: list[float], *, n_boot: int = 5000, n_perm: int = 10_000, seed: int = 0
) -> tuple[float, float, float, float]:
    """``(mean difference B - A, ci_low, ci_high, p_value)`` over paired values."""
    import numpy as np

    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    n = len(d)
    observed = float(d.mean())
    rng = np.random.default_rng(seed)
    lo, hi = _bootstrap_ci(rng, d, n_boot)
    if not np.any(d):
        return observed, lo, hi, 1.0
    tol = 1e-12 * max(1.0, abs(observed))
    if n <= _EXACT_MAX:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        means = (signs * d).mean(axis=1)
        p = float(np.mean(np.abs(means) >= abs(observed) - tol))
        return observed, lo, hi, p
    extreme = 0
    for start in range(0, n_perm, _CHUNK):
        k = min(_CHUNK, n_perm - start)
        signs = rng.choice(np.array([-1.0, 1.0]), size=(k, n))
        extreme += int(np.sum(np.abs((signs * d).mean(axis=1)) >= abs(observed) - tol))
    return observed, lo, hi, (extreme + 1) / (n_perm + 1)


def unpaired_test(
    a: list[float], b: list[float], *, n_boot: int = 5000, n_perm: int = 10_000, seed: int = 0
) -> tuple[float, float, float, float]:
    """``(mean(B) - mean(A), ci_low, ci_high, p_value)`` for two independent groups."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    observed = float(xb.mean() - xa.mean())
    if len(xa) + len(xb) > _LARGE:
        return (observed, *_welch(xa, xb))
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    for start in range(0, n_boot, _CHUNK):
        k = min(_CHUNK, n_boot - start)
        ma = xa[rng.integers(0, len(xa), (k, len(xa)))].mean(axis=1)
        mb = xb[rng.integers(0, len(xb), (k, len(xb)))].mean(axis=1)
        diffs[start : start + k] = mb - ma
    lo, hi = (float(x) for x in np.percentile(diffs, [2.5, 97.5]))
    pooled = np.concatenate([xa, xb])
    if np.all(pooled == pooled[0]):
        return observed, lo, hi, 1.0
    tol = 1e-12 * max(1.0, abs(observed))
    extreme = 0
    na = len(xa)
    for start in range(0, n_perm, _CHUNK):
        k = min(_CHUNK, n_perm - start)
        perm = np.argsort(rng.random((k, len(pooled))), axis=1)
        shuffled = pooled[perm]
        d = shuffled[:, na:].mean(axis=1) - shuffled[:, :na].mean(axis=1)
        extreme += int(np.sum(np.abs(d) >= abs(observed) - tol))
    return observed, lo, hi, (extreme + 1) / (n_perm + 1)


def _welch(xa: Any, xb: Any) -> tuple[float, float, float]:
    """95% interval and two-sided p of the difference of means by the normal approximation, which at
    thousands of values per group is as good as resampling and costs nothing."""
    diff = float(xb.mean() - xa.mean())
    se = math.sqrt(float(xa.var(ddof=1)) / len(xa) + float(xb.var(ddof=1)) / len(xb))
    if se == 0:
        return diff, diff, 1.0 if diff == 0 else 0.0
    return diff - 1.96 * se, diff + 1.96 * se, math.erfc(abs(diff) / se / math.sqrt(2))


def verdict(diff: float | None, p: float | None, alpha: float, higher_is_better: bool) -> str:
    if diff is None or p is None:
        return "insufficient data"
    if p < alpha and diff != 0:
        return "better" if (diff > 0) == higher_is_better else "worse"
    return "no significant change"


def compare_metric(
    metric: str,
    a: dict[str, Any],
    b: dict[str, Any],
    *,
    paired: bool = True,
    higher_is_better: bool = True,
    alpha: float = 0.05,
    n_boot: int = 5000,
    n_perm: int = 10_000,
    seed: int = 0,
) -> MetricComparison:
    """Compare values keyed by record (or trace) id. Paired over the shared keys when ``paired`` and at
    least two are shared; otherwise unpaired over every value."""
    va = {k: x for k, v in a.items() if (x := to_number(v)) is not None}
    vb = {k: x for k, v in b.items() if (x := to_number(v)) is not None}
    shared = sorted(set(va) & set(vb)) if paired else []
    kw = {"n_boot": n_boot, "n_perm": n_perm, "seed": seed}
    if paired and len(shared) >= 2:
        xa, xb = [va[k] for k in shared], [vb[k] for k in shared]
        diff, lo, hi, p = paired_test(xa, xb, **kw)
        test = "paired sign-flip permutation" + (" (exact)" if len(shared) <= _EXACT_MAX else "")
        mean_a, mean_b = sum(xa) / len(xa), sum(xb) / len(xb)
    elif not paired and len(va) >= 2 and len(vb) >= 2:
        diff, lo, hi, p = unpaired_test(list(va.values()), list(vb.values()), **kw)
        test = "permutation (unpaired)" if len(va) + len(vb) <= _LARGE else "Welch z-test (unpaired, large samples)"
        mean_a, mean_b = sum(va.values()) / len(va), sum(vb.values()) / len(vb)
    else:
        mean_a = sum(va.values()) / len(va) if va else None
        mean_b = sum(vb.values()) / len(vb) if vb else None
        return MetricComparison(
            metric, len(va), len(vb), len(shared), mean_a, mean_b,
            None if mean_a is None or mean_b is None else mean_b - mean_a,
            None, None, None, "none", "insufficient data", higher_is_better,
        )  # fmt: skip
    return MetricComparison(
        metric, len(va), len(vb), len(shared), mean_a, mean_b, diff, lo, hi, p, test,
        verdict(diff, p, alpha, higher_is_better), higher_is_better,
    )  # fmt: skip


def expand_categories(values: dict[str, Any]) -> dict[str, dict[str, Any]] | None:
    """String-valued metrics as one 0/1 metric per category (``name=value``); None if numeric."""
    present = [v for v in values.values() if v is not None]
    if not present or not all(isinstance(v, str) for v in present):
        return None
    return {c: {k: (v == c) for k, v in values.items() if v is not None} for c in sorted(set(present))}
