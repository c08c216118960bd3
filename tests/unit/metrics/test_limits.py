"""Bounded label cardinality."""

from __future__ import annotations

from spanscope.metrics.limits import OTHER, OTHER_PROJECT, LabelLimiter


def test_admits_up_to_the_limit_then_other_and_counts_overflow() -> None:
    lim = LabelLimiter(3, max_projects=10)
    got = [lim.admit("p", "span_name", f"n{i}") for i in range(6)]
    assert got == ["n0", "n1", "n2", OTHER, OTHER, OTHER]
    assert lim.admit("p", "span_name", "n1") == "n1"  # an admitted value keeps its slot
    assert lim.overflow == {("p", "span_name"): 3}


def test_limits_are_per_project_and_per_label() -> None:
    lim = LabelLimiter(1, max_projects=10)
    assert lim.admit("a", "span_name", "x") == "x"
    assert lim.admit("b", "span_name", "y") == "y"
    assert lim.admit("a", "model", "m") == "m"
    assert lim.admit("a", "span_name", "z") == OTHER


def test_empty_value_is_free_and_never_folded() -> None:
    lim = LabelLimiter(1, max_projects=1)
    assert lim.admit("p", "model", "") == ""
    assert lim.admit("p", "model", "m") == "m"
    assert lim.admit("p", "model", "") == ""


def test_projects_are_capped_into_a_name_no_project_can_have() -> None:
    lim = LabelLimiter(5, max_projects=2)
    assert [lim.project(p) for p in ("a", "b", "c", "a")] == ["a", "b", OTHER_PROJECT, "a"]
    assert OTHER_PROJECT.startswith("_")  # project names start with a letter or digit


def test_seeded_values_take_their_slots_first() -> None:
    lim = LabelLimiter(2, max_projects=10)
    lim.seed("p", "span_name", ["frequent", "second", "third"])
    assert lim.admit("p", "span_name", "new") == OTHER
    assert lim.admit("p", "span_name", "second") == "second"
