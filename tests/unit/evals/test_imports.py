"""The quality-loop modules stay importable without the heavy dependencies (they load when used)."""

from __future__ import annotations

import subprocess
import sys


def test_quality_modules_import_light() -> None:
    code = (
        "import sys\n"
        "import spanscope.datasets, spanscope.evals, spanscope.feedback\n"
        "from spanscope.evals import evaluate, scorer, score_traces, compare_runs, llm_judge\n"
        "from spanscope.feedback import log_feedback\n"
        "names = ('duckdb', 'starlette', 'uvicorn', 'pandas', 'numpy', 'pyarrow', 'rich')\n"
        "heavy = [m for m in names if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
