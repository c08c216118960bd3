"""Scorers: the built-ins, @scorer functions, what a scorer may return, and specs from the CLI."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from spanscope.evals import Score, ScorerError, scorer
from spanscope.evals.scorers import (
    as_scorer,
    contains,
    exact_match,
    json_valid,
    latency_under,
    levenshtein,
    levenshtein_ratio,
    normalize,
    parse_scorer_spec,
    regex_match,
    token_budget,
    total_tokens,
)


def run(s: Any, outputs: Any, expected: Any = None, inputs: Any = None, trace: Any = None) -> Score:
    return as_scorer(s).score(inputs=inputs, outputs=outputs, expected=expected, trace=trace)


def span(kind: str, **attributes: Any) -> SimpleNamespace:
    return SimpleNamespace(kind=kind, attributes=attributes)


@pytest.mark.parametrize(
    ("scorer_", "outputs", "expected", "value"),
    [
        (exact_match, "Refund started.", "Refund started.", True),
        (exact_match, " Refund   started. ", "Refund started.", True),  # whitespace is normalized
        (exact_match, "refund started.", "Refund started.", False),
        (exact_match(case_sensitive=False), "refund started.", "Refund started.", True),
        (exact_match, 42, 42, True),
        (exact_match, 42, "42", True),
        (exact_match, {"a": 1}, {"a": 1}, True),
        (exact_match(field="choices[0].text"), {"choices": [{"text": "yes"}]}, "yes", True),
        (exact_match, "x", None, None),  # no ground truth: not applicable
        (contains, "Your refund for order A12345 is on its way", "order a12345", True),
        (contains("refund"), "No REFUND here", None, True),
        (contains(substring=["refund", "order"]), "refund only", None, False),
        (contains(case_sensitive=True), "Order", "order", False),
        (regex_match(r"\bA\d{5}\b"), "order A12345", None, True),
        (regex_match("^yes$"), "no", None, False),
        (json_valid, '{"a": [1]}', None, True),
        (json_valid, "{a: 1}", None, False),
        (json_valid, {"already": "parsed"}, None, True),
        (json_valid, 3, None, False),
        (levenshtein_ratio, "kitten", "sitting", round(1 - 3 / 7, 6)),
        (levenshtein_ratio, "", "", 1.0),
        (levenshtein_ratio, "abc", None, None),
    ],
)
def test_builtins(scorer_: Any, outputs: Any, expected: Any, value: Any) -> None:
    assert run(scorer_, outputs, expected).value == value


def test_builtins_are_configurable_copies() -> None:
    strict = exact_match(case_sensitive=False, name="exact_ci")
    assert strict.name == "exact_ci" and exact_match.name == "exact_match"
    assert exact_match.options == {} and strict.options == {"case_sensitive": False, "name": "exact_ci"}
    assert strict.describe() == {"name": "exact_ci", "source": "code", "higher_is_better": True,
                                 "builtin": "exact_match", "options": {"case_sensitive": False}}  # fmt: skip
    with pytest.raises(TypeError, match="unknown option"):
        exact_match(nope=1)
    with pytest.raises(TypeError, match="positional"):
        json_valid("a", "b")
    assert run(contains, "abc").value is None and "expected" in (run(contains, "abc").rationale or "")
    with pytest.raises(ScorerError, match="needs a pattern"):
        run(regex_match(""), "x")


def test_trace_scorers() -> None:
    trace = SimpleNamespace(
        duration_ms=812.5,
        spans=[span("chain", **{"usage.total_tokens": 999}), span("llm", **{"usage.total_tokens": 300}),
               span("llm", **{"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20})],
    )  # fmt: skip
    assert total_tokens(trace) == 420  # LLM spans add up; the root's own total is not counted twice
    assert total_tokens(SimpleNamespace(spans=[span("chain", **{"usage.total_tokens": 9})])) == 9
    assert total_tokens(SimpleNamespace(spans=[])) is None
    fast = run(latency_under(1000), "x", trace=trace)
    assert (fast.value, fast.rationale) == (True, "812.5 ms (limit 1000 ms)")
    assert latency_under(500).name == "latency_under_500ms" and run(latency_under(500), "x", trace=trace).value is False
    budget = run(token_budget(400), "x", trace=trace)
    assert (budget.value, budget.rationale, budget.metadata) == (False, "420 tokens (budget 400)", {"tokens": 420})
    assert token_budget(500).name == "token_budget_500" and token_budget(500).needs_trace
    with pytest.raises(ScorerError, match="no trace"):
        run(latency_under(5), "x", trace=None)
    assert run(token_budget(5), "x", trace=SimpleNamespace(spans=[])).value is None


def test_custom_scorers_get_only_what_they_ask_for() -> None:
    seen: dict[str, Any] = {}

    @scorer
    def mentions_order(inputs: dict[str, Any], outputs: str) -> bool:
        seen["args"] = (inputs, outputs)
        return inputs["order"] in outputs

    assert mentions_order.name == "mentions_order" and not mentions_order.needs_trace
    assert run(mentions_order, "order A1 shipped", inputs={"order": "A1"}).value is True
    assert seen["args"] == ({"order": "A1"}, "order A1 shipped")
    assert mentions_order({"order": "B2"}, "nothing") is False  # calling the object calls the function

    @scorer(name="short", higher_is_better=False, source="llm")
    def length(outputs: str) -> Score:
        return Score(len(outputs), rationale=f"{len(outputs)} chars")

    assert (length.name, length.higher_is_better, length.source) == ("short", False, "llm")
    assert run(length, "abcd") == Score(4, "4 chars")

    def everything(**kwargs: Any) -> tuple[int, str]:
        return len(kwargs), "all four"

    assert run(everything, "x") == Score(4, "all four") and as_scorer(everything).needs_trace

    with pytest.raises(TypeError, match="must take some of"):
        scorer(lambda a, b: 1)
    with pytest.raises(ValueError, match="source"):
        scorer(lambda outputs: 1, source="robot")
    with pytest.raises(TypeError, match="not a scorer"):
        as_scorer(3)


@pytest.mark.parametrize(
    ("returned", "score"),
    [
        (True, Score(True)),
        (0.5, Score(0.5)),
        ("good", Score("good")),
        (None, Score(None)),
        ((1, "why"), Score(1, "why")),
        ({"value": 2, "rationale": "r", "metadata": {"k": 1}}, Score(2, "r", {"k": 1})),
    ],
)
def test_normalize(returned: Any, score: Score) -> None:
    assert normalize(returned) == score


def test_normalize_refuses_non_scores() -> None:
    import numpy as np

    assert normalize(np.float64(0.25)) == Score(0.25) and type(normalize(np.int64(3)).value) is int
    with pytest.raises(TypeError, match="must return"):
        normalize([1, 2])
    with pytest.raises(ValueError, match="finite"):
        normalize(float("nan"))


def test_levenshtein() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3 and levenshtein("same", "same") == 0
    assert levenshtein("flaw", "lawn") == 2


def test_scorer_specs_from_the_cli(tmp_path: Path) -> None:
    assert parse_scorer_spec("exact_match") is exact_match
    assert parse_scorer_spec("latency_under(500)").name == "latency_under_500ms"
    assert parse_scorer_spec("contains('refund')").options == {"substring": "refund"}
    assert parse_scorer_spec("regex_match(pattern='^Y', name='yes')").name == "yes"
    assert parse_scorer_spec("token_budget(n=10)").name == "token_budget_10"
    (tmp_path / "my_scorers.py").write_text("def polite(outputs):\n    return 'please' in outputs\n")
    custom = parse_scorer_spec(f"{tmp_path / 'my_scorers.py'}:polite")
    assert custom.name == "polite" and run(custom, "yes please").value is True
    with pytest.raises(ValueError, match="needs arguments"):
        parse_scorer_spec("latency_under")
    with pytest.raises(ValueError, match="unknown scorer"):
        parse_scorer_spec("nope")
    with pytest.raises(ValueError, match="no attribute"):
        parse_scorer_spec(f"{tmp_path / 'my_scorers.py'}:missing")
