"""Evaluation: run an app over a dataset with scorers, score production traces, and tell whether a change
helped.

    import spanscope
    from spanscope.evals import exact_match, latency_under, llm_judge

    before = spanscope.evaluate(ds, app=answer_v1, scorers=[exact_match, latency_under(2000)])
    after = spanscope.evaluate(ds, app=answer_v2, scorers=[exact_match, latency_under(2000)])
    print(spanscope.compare_runs(before, after))

Modules: ``scorers`` (Score, @scorer, built-ins), ``judge`` (LLM-as-judge over the OpenAI chat-completions
wire format), ``runner`` (``evaluate``), ``run`` (``EvalRun``, ``get_run``, ``list_runs``), ``production``
(``score_traces``), ``compare`` (``compare_runs``, production ``compare``), ``stats`` (the tests).
Nothing heavy is imported here: pandas, numpy and rich load when a function needs them.
"""

from __future__ import annotations

from spanscope.evals.compare import Comparison, compare, compare_runs, version, window
from spanscope.evals.judge import llm_judge
from spanscope.evals.production import score_traces
from spanscope.evals.run import EvalRun, get_run, list_runs
from spanscope.evals.runner import evaluate
from spanscope.evals.scorers import (
    Score,
    Scorer,
    ScorerError,
    contains,
    exact_match,
    json_valid,
    latency_under,
    levenshtein_ratio,
    regex_match,
    scorer,
    token_budget,
)
from spanscope.evals.stats import MetricComparison

__all__ = [
    "Comparison",
    "EvalRun",
    "MetricComparison",
    "Score",
    "Scorer",
    "ScorerError",
    "compare",
    "compare_runs",
    "contains",
    "evaluate",
    "exact_match",
    "get_run",
    "json_valid",
    "latency_under",
    "levenshtein_ratio",
    "list_runs",
    "llm_judge",
    "regex_match",
    "score_traces",
    "scorer",
    "token_budget",
    "version",
    "window",
]
