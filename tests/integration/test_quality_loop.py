"""The runnable example ``examples/quality_loop.py``: demo traces -> dataset -> ground truth -> two runs -> verdicts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quality_loop.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("quality_loop_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_quality_loop_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = load_example()
    comparison = example.main(tmp_path / "data", turns=240)
    verdicts = comparison.verdicts
    # the prompt change fixed answers: the text metrics moved, significantly
    for metric in ("exact_match", "contains", "levenshtein_ratio", "restates_order"):
        assert verdicts[metric] == "better", (metric, str(comparison))
        m = comparison.metric(metric)
        assert m.p_value is not None and m.p_value < 0.01 and m.ci_low is not None and m.ci_low > 0
    # budgets held in both runs: no change
    assert verdicts["token_budget_400"] == "no significant change"
    assert verdicts["latency_under_1000ms"] == "no significant change"
    assert comparison.metric("exact_match").n_paired == 40
    assert comparison.worse["exact_match"] == []  # v2's failures are a subset of v1's
    out = capsys.readouterr().out
    assert "A = prompt-v1" in out and "better" in out
    assert "ground truth for 40 records -> v2" in out and "40 fine-tuning examples" in out

    from spanscope.sdk.runtime import RUNTIME

    assert RUNTIME.processor is None  # the example shut the SDK down
