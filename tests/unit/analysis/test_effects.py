"""Effect sizes and rank correlation against values worked out by hand or with numpy."""

from __future__ import annotations

import bisect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.analysis.effects import cohens_d, difference, ks_statistic, pearson, ranks, spearman


def test_ks_statistic() -> None:
    assert ks_statistic([1, 2, 3, 4], [1, 2, 3, 4]) == 0
    assert ks_statistic([1, 2], [3, 4]) == 1
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(0.5)


def _ks_by_definition(a: list[float], b: list[float]) -> float:
    xs, ys = sorted(a), sorted(b)
    return max(abs(bisect.bisect_right(xs, x) / len(xs) - bisect.bisect_right(ys, x) / len(ys)) for x in {*xs, *ys})


samples = st.lists(st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=40)


@settings(max_examples=400, deadline=None)
@given(samples, samples)
def test_ks_statistic_is_the_largest_gap_between_the_two_distributions(a: list[float], b: list[float]) -> None:
    assert ks_statistic(a, b) == _ks_by_definition(a, b)


def test_difference_tells_numbers_from_other_values() -> None:
    # bools, text, non-finite floats and nested values are not numbers; None is absence
    assert difference([1, 2.5, None], [3, None, None])["type"] == "numeric"
    for odd in (True, "3", float("nan"), float("inf"), [1], {"x": 1}):
        d = difference([1, 2, odd], [1, 2, 3])
        assert d["type"] == "categorical", odd
    assert difference([None, None], [None])["present_a"] == 0.0


def test_cohens_d_matches_numpy() -> None:
    a, b = [1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 9.0]
    pooled = np.sqrt((3 * np.var(a, ddof=1) + 3 * np.var(b, ddof=1)) / 6)
    assert cohens_d(a, b) == pytest.approx((np.mean(b) - np.mean(a)) / pooled)
    assert cohens_d([1, 1], [1, 1]) is None


def test_categorical_difference_is_total_variation() -> None:
    d = difference(["x", "x", "y", None], ["y", "y", "y", "y"])
    assert d["type"] == "categorical" and d["effect"] == pytest.approx(0.75)
    assert d["top_values"][0] == {"value": "y", "share_a": 0.25, "share_b": 1.0, "diff": 0.75}
    assert d["present_a"] == 0.75 and d["present_b"] == 1.0


def test_numeric_difference_counts_presence() -> None:
    d = difference([1, 2, None, None], [1, 2, 3, 4])
    assert d["type"] == "numeric" and d["effect"] == pytest.approx(0.5) and d["metric"] == "ks"


def test_ranks_and_correlations() -> None:
    assert ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    rng = np.random.default_rng(1)
    x = rng.normal(size=200)
    y = x * 0.5 + rng.normal(size=200)
    assert pearson(list(x), list(y)) == pytest.approx(np.corrcoef(x, y)[0, 1])
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    assert spearman(list(x), list(y)) == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert pearson([1, 1, 1], [1, 2, 3]) is None
