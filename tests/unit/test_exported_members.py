"""Pins the public surface: adding or removing a public name is a deliberate change."""

from __future__ import annotations

import subprocess
import sys

import spanscope


def test_all_is_pinned() -> None:
    assert sorted(spanscope.__all__) == sorted(
        [
            "Client",
            "__version__",
            "configure",
            "current_span",
            "flush",
            "get_trace",
            "observe",
            "search_traces",
            "shutdown",
            "span",
            "stats",
            "trace",
        ]
    )
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
