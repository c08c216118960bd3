"""Where finished records go: the :class:`SpanExporter` protocol, the batch it receives, and small exporters.

An exporter is called on the worker thread only, one batch at a time. ``export`` returns True when the
batch was delivered; it may set ``batch.rejected`` to the number of items the receiver refused (those are
counted as ``export_failed`` drops). Exceptions raised by an exporter are caught, logged once and counted;
they never reach the application. Add behaviour by wrapping exporters, not by adding flags.

The HTTP exporter lives in ``http.py``; the in-memory ``CaptureExporter`` for tests in ``spanscope.testing``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import IO, Protocol, runtime_checkable

from spanscope.model.records import Finding, Span, TraceInfo


@dataclass(slots=True)
class ExportBatch:
    """Model objects ready to send. ``deadline`` (a ``time.monotonic()`` value, or None) is when a waiting
    ``flush()`` gives up: exporters should not retry beyond it."""

    traces: list[TraceInfo] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    deadline: float | None = None
    rejected: int = 0

    def __len__(self) -> int:
        return len(self.traces) + len(self.spans) + len(self.findings)


@runtime_checkable
class SpanExporter(Protocol):
    """Receives batches on the worker thread. May also define ``after_fork()`` to reset per-process state."""

    def export(self, batch: ExportBatch) -> bool: ...

    def shutdown(self) -> None: ...


class ConsoleExporter:
    """Prints one line per span (to stdout unless ``file`` is given): handy while developing.

    >>> import spanscope
    >>> spanscope.configure(exporter=ConsoleExporter())
    """

    def __init__(self, file: IO[str] | None = None) -> None:
        self._file = file

    def export(self, batch: ExportBatch) -> bool:
        out = self._file or sys.stdout
        for s in batch.spans:
            parent = s.parent_span_id or "-" * 16
            line = (
                f"[spanscope] {s.trace_id} {parent} {s.span_id} {s.kind:<9} {s.status:<5} "
                f"{s.duration_ms:10.3f} ms  {s.name}"
            )
            if s.status_message:
                line += f"  ({s.status_message})"
            print(line, file=out)
        for f in batch.findings:
            where = f.span_id or "trace"
            print(f"[spanscope] {f.trace_id} finding {f.name}={f.value!r} on {where} ({f.source})", file=out)
        return True

    def shutdown(self) -> None:
        out = self._file or sys.stdout
        try:
            out.flush()
        except (OSError, ValueError):
            pass  # the stream may already be closed at interpreter exit
