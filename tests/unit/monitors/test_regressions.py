"""Regression statistics: Mann–Whitney U, Cliff's delta, bootstrap interval, Pettitt change point."""

from __future__ import annotations

import random

import pytest

from spanscope.monitors.regressions import change_point, compare


def normal(n: int, mu: float, sigma: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mu, sigma) for _ in range(n)]


def test_a_clear_drop_in_quality_is_a_regression_with_a_large_effect() -> None:
    r = compare(normal(200, 0.72, 0.1, 1), normal(60, 0.5, 0.1, 2), metric="tag.quality_score")
    assert r.regression and r.direction == "worse" and r.effect == "large"
    assert r.effect_size < -0.8 and r.confidence > 0.999
    assert r.ci_low < r.delta < r.ci_high < 0
    assert r.relative_delta == pytest.approx(r.delta / r.mean_baseline)


def test_same_distribution_is_not_a_regression() -> None:
    r = compare(normal(300, 0.7, 0.1, 3), normal(300, 0.7, 0.1, 4))
    assert not r.regression and r.direction == "same"
    assert r.ci_low < 0 < r.ci_high


def test_lower_is_better_flips_the_verdict() -> None:
    slower = compare(normal(100, 500, 50, 5), normal(100, 800, 50, 6), higher_is_better=False)
    assert slower.regression and slower.effect_size > 0.8
    faster = compare(normal(100, 800, 50, 7), normal(100, 500, 50, 8), higher_is_better=False)
    assert faster.direction == "better" and not faster.regression


def test_known_values_small_samples() -> None:
    # Every candidate value beats every baseline value: Cliff's delta is exactly 1.
    r = compare([1, 2, 3], [4, 5, 6])
    assert r.effect_size == 1.0 and r.mean_baseline == 2 and r.mean_candidate == 5 and r.median_candidate == 5
    # Ties count half: [1, 2] vs [2, 3] -> pairs (c > b): 3, ties: 1, (c < b): 0 -> (3 + 0.5 - 0.5) / 4.
    assert compare([1, 2], [2, 3]).effect_size == pytest.approx(0.75)
    assert compare([1, 1, 1], [1, 1, 1]).p_value == 1.0  # no variance at all
    with pytest.raises(ValueError, match="need observations"):
        compare([], [1.0])


def test_change_point_finds_the_shift() -> None:
    series = normal(80, 0.75, 0.05, 9) + normal(40, 0.5, 0.05, 10)
    cp = change_point(series)
    assert cp is not None and cp.index == 80 and cp.confidence > 0.999
    assert cp.mean_before == pytest.approx(0.75, abs=0.03) and cp.mean_after == pytest.approx(0.5, abs=0.03)
    flat = change_point(normal(100, 0.7, 0.1, 11))
    assert flat is not None and flat.p_value > 0.05
    assert change_point([1, 2, 3]) is None
