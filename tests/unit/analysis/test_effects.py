"""Effect sizes and rank correlation against values worked out by hand or with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from spanscope.analysis.effects import cohens_d, difference, ks_statistic, pearson, ranks, spearman


def test_ks_statistic() -> None:
    assert ks_statistic([1, 2, 3, 4], [1, 2, 3, 4]) == 0
    assert ks_statistic([1, 2], [3, 4]) == 1
    assert ks_statistic([1, 2, 3, 4], [3, 4, 5, 6]) == pytest.approx(0.5)


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
