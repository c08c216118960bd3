"""Effect sizes for comparing two cohorts, and rank correlation (standard library only).

Every ranked difference gets a score in [0, 1], so numeric and categorical fields rank on one scale:

- numeric values: the Kolmogorov-Smirnov statistic (the largest gap between the two cumulative
  distributions), reported with Cohen's d (difference of means over the pooled standard deviation);
- anything else: the total variation distance between the two value distributions (half the sum of the
  absolute differences of each value's share), reported with the values whose share moved most.

A field present in only one cohort's rows counts "absent" as a value, so presence itself can differ.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

_ABSENT = "(absent)"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def ks_statistic(a: Sequence[float], b: Sequence[float]) -> float:
    """The two-sample Kolmogorov-Smirnov statistic: max |F_a(x) - F_b(x)|, in one walk over both sorted samples."""
    if not a or not b:
        return 0.0
    xs, ys = sorted(a), sorted(b)
    n, m = len(xs), len(ys)
    i = j = 0
    best = 0.0
    while i < n and j < m:  # once one sample is used up, the gap only shrinks
        x = xs[i] if xs[i] <= ys[j] else ys[j]
        while i < n and xs[i] <= x:
            i += 1
        while j < m and ys[j] <= x:
            j += 1
        gap = abs(i / n - j / m)
        if gap > best:
            best = gap
    return best


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float | None:
    """(mean b - mean a) / pooled standard deviation; None when it is undefined."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    pooled = math.sqrt(((len(a) - 1) * va + (len(b) - 1) * vb) / (len(a) + len(b) - 2))
    return None if pooled == 0 else (mb - ma) / pooled


def total_variation(a: Sequence[Any], b: Sequence[Any]) -> tuple[float, list[dict[str, Any]]]:
    """Total variation distance between the value distributions, and the values that moved most."""
    ca, cb = _counts(a), _counts(b)
    na, nb = max(len(a), 1), max(len(b), 1)
    shifts = []
    for value in set(ca) | set(cb):
        share_a, share_b = ca[value] / na, cb[value] / nb
        shifts.append({"value": value, "share_a": share_a, "share_b": share_b, "diff": share_b - share_a})
    tvd = sum(abs(s["diff"]) for s in shifts) / 2
    shifts.sort(key=lambda s: -abs(s["diff"]))
    return tvd, shifts[:5]


def _counts(values: Sequence[Any]) -> Counter[Any]:
    """How often each value occurs (:func:`_key`: None as absent, lists and objects by their text)."""
    try:
        counts = Counter(values)  # hashable values: counted in C
    except TypeError:  # a list or an object among them
        return Counter(_key(v) for v in values)
    if None in counts:
        counts[_ABSENT] += counts.pop(None)
    return counts


def _key(value: Any) -> Any:
    if value is None:
        return _ABSENT
    if isinstance(value, dict | list):
        return str(value)
    return value


def _numbers(values: Sequence[Any]) -> tuple[list[float], int]:
    """The values that are numbers (:func:`is_number`), and how many values are present (not None)."""
    nums: list[float] = []
    present = 0
    for v in values:
        if v is None:
            continue
        present += 1
        kind = type(v)
        if kind is str:
            continue
        if (kind is int) or (kind is float and math.isfinite(v)) or (kind is not float and is_number(v)):
            nums.append(v)
    return nums, present


def difference(a: Sequence[Any], b: Sequence[Any]) -> dict[str, Any]:
    """How the values of one field differ between cohort a and cohort b (``None`` = absent on that row)."""
    nums_a, present_a = _numbers(a)
    nums_b, present_b = _numbers(b)
    numeric = bool(nums_a or nums_b) and len(nums_a) == present_a and len(nums_b) == present_b
    presence = {"present_a": present_a / max(len(a), 1), "present_b": present_b / max(len(b), 1)}
    if numeric:
        ks = ks_statistic(nums_a, nums_b)
        presence_gap = abs(presence["present_a"] - presence["present_b"])
        return {
            "type": "numeric",
            "effect": max(ks, presence_gap),
            "metric": "ks",
            "ks": ks,
            "cohens_d": cohens_d(nums_a, nums_b),
            "mean_a": sum(nums_a) / len(nums_a) if nums_a else None,
            "mean_b": sum(nums_b) / len(nums_b) if nums_b else None,
            **presence,
        }
    tvd, top = total_variation(a, b)
    return {"type": "categorical", "effect": tvd, "metric": "tvd", "tvd": tvd, "top_values": top, **presence}


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties getting their average rank (as Spearman's rho needs)."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    n = len(x)
    if n < 2:
        return None
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    return pearson(ranks(x), ranks(y))
