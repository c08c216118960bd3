"""spanscope: LLM observability and trace quality.

The SDK (``configure``, ``trace``, ``span``, ``observe``…) imports only the standard library and msgspec;
``search_traces``/``get_trace``/``Client`` import pandas lazily, and nothing here imports the server.
"""

from __future__ import annotations

__version__ = "0.1.0"

from spanscope.client import Client, get_trace, search_traces  # noqa: E402
from spanscope.sdk import (  # noqa: E402
    configure,
    current_span,
    flush,
    observe,
    shutdown,
    span,
    stats,
    trace,
)

__all__ = [
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
