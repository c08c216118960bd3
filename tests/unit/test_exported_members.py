"""Pins the public surface: adding or removing a public name is a deliberate change."""

from __future__ import annotations

import subprocess
import sys

import spanscope


def test_all_is_pinned() -> None:
    assert sorted(spanscope.__all__) == sorted(
        [
            "Client", "ContextExecutor", "TailSampling", "__version__", "compare_runs", "configure",
            "current_span", "datasets", "evaluate", "export", "flush", "get_trace", "instrument", "log_feedback",
            "observe", "otel_context", "score_traces", "scorer", "search_spans", "search_traces", "shutdown",
            "span", "stats", "trace", "uninstrument", "wrap", "wrap_executor",
        ]
    )  # fmt: skip
    for name in spanscope.__all__:
        assert hasattr(spanscope, name)


def test_sdk_import_stays_light() -> None:
    code = (
        "import sys, spanscope\n"
        "heavy = [m for m in ('duckdb', 'starlette', 'uvicorn', 'pandas', 'pyarrow', 'rich', 'opentelemetry') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
