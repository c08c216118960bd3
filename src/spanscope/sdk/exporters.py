"""Where finished records go: the :class:`SpanExporter` protocol, the batch it receives, and small exporters.

An exporter is called on the worker thread only, one batch at a time. ``export`` returns True when the
batch was delivered; it may set ``batch.rejected`` to the number of items the receiver refused (those are
counted as ``export_failed`` drops). Exceptions raised by an exporter are caught, logged once and counted;
they never reach the application. Add behaviour by wrapping exporters, not by adding flags
(:class:`FanoutExporter` sends every batch to several).

Exporters receive model objects (``spanscope.model.Span``/``TraceInfo``/``Finding``) with plain Python
payloads. An exporter that sets the class attribute ``accepts_raw = True`` (the HTTP exporter) receives the
worker's wire records instead: ``encode.WireSpan`` objects whose attributes, inputs, outputs and events are
already-encoded JSON (``msgspec.Raw``), to copy into a request body without encoding them again.

The HTTP exporter lives in ``transport.py``; the in-memory ``CaptureExporter`` for tests in
``spanscope.testing``.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, runtime_checkable

from spanscope.model.records import Finding, TraceInfo
from spanscope.sdk.guard import log_once


@dataclass(slots=True)
class ExportBatch:
    """Records ready to send. ``deadline`` (a ``time.monotonic()`` value, or None) is when a waiting
    ``flush()`` gives up: exporters should not retry beyond it. ``sdk_stats`` is the SDK's health report to
    send along (drops by reason since the last delivered batch, see ``processor.py``). ``raw`` says the
    spans are wire records with encoded payloads (see the module docs)."""

    traces: list[TraceInfo] = field(default_factory=list)
    spans: list[Any] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    deadline: float | None = None
    rejected: int = 0
    sdk_stats: dict[str, Any] | None = None
    raw: bool = False

    def __len__(self) -> int:
        return len(self.traces) + len(self.spans) + len(self.findings)

    def decoded(self) -> ExportBatch:
        """This batch with model ``Span`` objects (payloads decoded); itself when it has no wire records."""
        if not self.raw:
            return self
        from spanscope.sdk.encode import decode_span

        return ExportBatch(
            traces=self.traces,
            spans=[decode_span(s) for s in self.spans],
            findings=self.findings,
            deadline=self.deadline,
            sdk_stats=self.sdk_stats,
        )


def batch_for(exporter: Any, batch: ExportBatch) -> ExportBatch:
    """What ``exporter`` gets: the wire batch if it ``accepts_raw``, else the decoded model batch."""
    return batch if getattr(exporter, "accepts_raw", False) else batch.decoded()


@runtime_checkable
class SpanExporter(Protocol):
    """Receives batches on the worker thread. May also define ``after_fork()`` to reset per-process state,
    ``stats()`` to add counters to ``spanscope.stats()``, and ``accepts_raw = True`` (see the module docs)."""

    def export(self, batch: ExportBatch) -> bool: ...

    def shutdown(self) -> None: ...


class FanoutExporter:
    """Sends every batch to a primary exporter and to secondary ones (e.g. an OTLP endpoint beside the
    spanscope server).

    The primary's answer decides delivery (and ``flush()``'s result and the drop counters); a secondary that
    fails or raises is logged once and counted in ``stats()["secondary_export_failed"]`` (records), never
    retried by the worker and never in the way of the primary.
    """

    accepts_raw = True

    def __init__(self, primary: SpanExporter, *secondaries: SpanExporter) -> None:
        self.primary = primary
        self.secondaries = list(secondaries)
        self.secondary_failed = 0

    def __repr__(self) -> str:
        return f"FanoutExporter({self.primary!r}, {', '.join(map(repr, self.secondaries))})"

    def export(self, batch: ExportBatch) -> bool:
        sent = batch_for(self.primary, batch)
        ok = bool(self.primary.export(sent))
        batch.rejected = sent.rejected
        decoded: ExportBatch | None = None
        for exporter in self.secondaries:
            try:
                if getattr(exporter, "accepts_raw", False):
                    mine = batch
                else:
                    decoded = decoded if decoded is not None else batch.decoded()
                    mine = decoded
                delivered = bool(exporter.export(mine))
            except Exception as exc:
                delivered = False
                log_once(
                    ("fanout-raised", type(exporter), type(exc)),
                    logging.WARNING,
                    "spanscope exporter %r raised: %r",
                    exporter,
                    exc,
                )
            if not delivered:
                self.secondary_failed += len(batch)
        return ok

    def shutdown(self) -> None:
        for exporter in (self.primary, *self.secondaries):
            try:
                exporter.shutdown()
            except Exception as exc:
                log_once(
                    ("fanout-shutdown", type(exporter)), logging.WARNING, "%r failed to shut down: %r", exporter, exc
                )

    def after_fork(self) -> None:
        for exporter in (self.primary, *self.secondaries):
            hook = getattr(exporter, "after_fork", None)
            if callable(hook):
                hook()

    def stats(self) -> dict[str, int]:
        out = {"secondary_export_failed": self.secondary_failed}
        hook = getattr(self.primary, "stats", None)
        if callable(hook):
            out.update(hook())
        return out


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
            duration_ms = (s.end_time_ns - s.start_time_ns) / 1e6
            line = (
                f"[spanscope] {s.trace_id} {parent} {s.span_id} {s.kind:<9} {s.status:<5} "
                f"{duration_ms:10.3f} ms  {s.name}"
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
