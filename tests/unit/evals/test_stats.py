"""Did it help? The paired and unpaired tests, verdicts, categories, and run comparisons record by record."""

from __future__ import annotations

import math
import random

import pytest

from spanscope.evals.compare import compare_run_dicts, compare_values, version, window
from spanscope.evals.stats import compare_metric, expand_categories, paired_test, to_number, unpaired_test


def test_to_number() -> None:
    assert [to_number(v) for v in (True, False, 3, 2.5, "x", None, float("nan"))] == [
        1.0,
        0.0,
        3.0,
        2.5,
        None,
        None,
        None,
    ]


def test_exact_sign_flip_p_values() -> None:
    # all 5 differences positive: only 2 of the 32 sign patterns are as extreme -> p = 1/16
    diff, lo, hi, p = paired_test([0] * 5, [1] * 5, n_boot=200)
    assert (diff, p) == (1.0, 2 / 32) and lo == hi == 1.0
    assert paired_test([1, 2, 3], [1, 2, 3])[3] == 1.0  # no difference at all


def test_paired_detects_a_real_improvement_and_not_noise() -> None:
    rng = random.Random(1)
    before = [rng.random() < 0.5 for _ in range(60)]
    after = [b or rng.random() < 0.6 for b in before]  # fixes failures, never breaks a success
    m = compare_metric("exact", dict(enumerate(before)), dict(enumerate(after)))
    assert m.verdict == "better" and m.p_value is not None and m.p_value < 0.01
    assert m.ci_low is not None and m.ci_high is not None and 0 < m.ci_low < m.diff < m.ci_high
    assert m.test == "paired sign-flip permutation" and m.n_paired == 60
    noise_a = {i: rng.gauss(0, 1) for i in range(60)}
    noise_b = {i: rng.gauss(0, 1) for i in range(60)}
    assert compare_metric("noise", noise_a, noise_b).verdict == "no significant change"
    worse = compare_metric("latency", {i: 1.0 for i in range(30)}, {i: 2.0 + i / 100 for i in range(30)},
                           higher_is_better=False)  # fmt: skip
    assert worse.verdict == "worse"


def test_insufficient_and_unpaired() -> None:
    m = compare_metric("x", {"a": 1}, {"a": 0})
    assert (m.verdict, m.p_value, m.diff) == ("insufficient data", None, -1.0)
    assert compare_metric("x", {}, {}).mean_a is None
    a = {f"a{i}": 0.2 + i / 1000 for i in range(40)}
    b = {f"b{i}": 0.5 + i / 1000 for i in range(40)}
    assert compare_metric("x", a, b, paired=True).verdict == "insufficient data"  # paired, but nothing shared
    m = compare_metric("x", a, b, paired=False)
    assert m.verdict == "better" and m.test == "permutation (unpaired)" and m.n_paired == 0
    assert math.isclose(m.diff or 0, 0.3)
    diff, lo, hi, p = unpaired_test([0.0] * 3000, [0.0] * 2999 + [1.0])
    assert p > 0.05 and lo <= diff <= hi  # the large-sample path (normal approximation)


def test_categories_become_indicator_metrics() -> None:
    assert expand_categories({"a": 1}) is None
    assert expand_categories({"a": "good", "b": "bad", "c": None}) == {"bad": {"a": False, "b": True},
                                                                       "good": {"a": True, "b": False}}  # fmt: skip
    cmp = compare_values("label", {f"t{i}": "bad" for i in range(30)}, {f"u{i}": "good" for i in range(30)})
    assert {m.metric: m.verdict for m in cmp.metrics} == {"label=bad": "worse", "label=good": "better"}


def _run(name: str, scores: dict[str, dict[str, object]], hib: bool = True) -> dict[str, object]:
    return {
        "run_id": name,
        "name": name,
        "scorers": [{"name": "exact", "higher_is_better": True}, {"name": "cost", "higher_is_better": hib}],
        "results": [
            {"record_id": rid, "trace_id": f"{name}-{rid}", "scores": s, "latency_ms": 10.0}
            for rid, s in scores.items()
        ],
    }


def test_run_comparison_pairs_records_and_lists_the_worse_ones() -> None:
    a = _run("A", {str(i): {"exact": i % 2 == 0, "cost": 1.0, "label": "ok"} for i in range(20)}, hib=False)
    b = _run(
        "B", {str(i): {"exact": i != 3, "cost": 2.0, "label": "ok" if i < 10 else "meh"} for i in range(20)}, hib=False
    )
    cmp = compare_run_dicts(a, b, n_boot=500)
    assert list(cmp.verdicts) == ["exact", "cost", "label=meh", "label=ok"]
    assert cmp.verdicts["exact"] == "better" and cmp.verdicts["cost"] == "worse"
    assert [w["record_id"] for w in cmp.worse["exact"]] == []  # record 3 failed in A too
    assert len(cmp.worse["cost"]) == 20 and cmp.worse["cost"][0] == {"record_id": "0", "a": 1.0, "b": 2.0,
                                                                       "trace_a": "A-0", "trace_b": "B-0"}  # fmt: skip
    assert "latency_ms" not in cmp.verdicts
    with_latency = compare_run_dicts(a, b, metrics=["exact", "latency_ms"], n_boot=200)
    assert list(with_latency.verdicts) == ["exact", "latency_ms"]
    assert with_latency.verdicts["latency_ms"] == "no significant change"
    text = str(cmp)
    assert text.startswith("A -> B (alpha 0.05)") and "exact: 0.500 -> 0.950" in text
    again = type(cmp).from_dict(cmp.to_dict())
    assert again.verdicts == cmp.verdicts and again.worse == cmp.worse
    df = cmp.to_pandas()
    assert list(df["metric"]) == list(cmp.verdicts) and "p_value" in df.columns
    assert len(cmp.worse_records("cost")) == 20 and list(cmp.worse_records().columns)[:2] == ["metric", "record_id"]


def test_failed_app_calls_are_left_out() -> None:
    a = _run("A", {str(i): {"exact": True} for i in range(5)})
    b = _run("B", {str(i): {"exact": False} for i in range(5)})
    for r in b["results"][:3]:  # type: ignore[index]
        r["error"] = "boom"
    m = compare_run_dicts(a, b, n_boot=200).metric("exact")
    assert (m.n_a, m.n_b, m.n_paired) == (5, 2, 2)


@pytest.mark.parametrize(
    ("made", "text"),
    [
        (window("2024-05-01", "2024-05-08"), "trace.timestamp >= '2024-05-01' AND trace.timestamp < '2024-05-08'"),
        (window(1714521600000, 1715126400000), "trace.timestamp >= 1714521600000 AND trace.timestamp < 1715126400000"),
        (version("1.4.0"), "tag.`app.version` = '1.4.0'"),
        (version("it's", tag="odd`key"), "tag.`odd``key` = 'it''s'"),
    ],
)
def test_cohort_filters(made: str, text: str) -> None:
    assert made == text
