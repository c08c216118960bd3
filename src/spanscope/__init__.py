"""spanscope: LLM observability and trace quality.

The SDK (``configure``, ``trace``, ``span``, ``observe``…) imports only the standard library and msgspec;
``search_traces``/``get_trace``/``Client`` import pandas lazily, and nothing here imports the server.
"""

from __future__ import annotations

__version__ = "0.1.0"

from spanscope.client import Client, export, get_trace, search_spans, search_traces  # noqa: E402
from spanscope.evals import compare_runs, evaluate, score_traces, scorer  # noqa: E402
from spanscope.feedback import log_feedback  # noqa: E402
from spanscope.sdk import (  # noqa: E402
    ContextExecutor,
    TailSampling,
    configure,
    current_span,
    flush,
    observe,
    otel_context,
    shutdown,
    span,
    stats,
    trace,
    wrap,
    wrap_executor,
)
from spanscope.sdk.instrument import instrument, uninstrument  # noqa: E402

__all__ = [
    "Client",
    "ContextExecutor",
    "TailSampling",
    "__version__",
    "compare_runs",
    "configure",
    "current_span",
    "datasets",
    "evaluate",
    "export",
    "flush",
    "get_trace",
    "instrument",
    "log_feedback",
    "observe",
    "otel_context",
    "score_traces",
    "scorer",
    "search_spans",
    "search_traces",
    "shutdown",
    "span",
    "stats",
    "trace",
    "uninstrument",
    "wrap",
    "wrap_executor",
]


def __getattr__(name: str) -> object:
    # ``spanscope.analysis`` / ``spanscope.datasets`` without importing them on ``import spanscope``.
    if name in ("analysis", "datasets"):
        import importlib

        return importlib.import_module(f"spanscope.{name}")
    raise AttributeError(f"module 'spanscope' has no attribute {name!r}")
