"""The batching worker: a bounded queue between the application threads and the exporter.

``submit()`` never blocks: it appends to a ``collections.deque`` (thread safe, no lock taken) or, when
the queue is full, drops the record and counts it. A daemon thread wakes when a batch is full or every
``flush_interval`` seconds, converts the records into model objects (see ``convert.py``) and hands them to
the exporter. ``flush()`` puts a marker in the queue and waits until the worker reaches it, so it covers
exactly what was queued before the call. After ``os.fork()`` the child gets a fresh, empty queue and its
own worker thread.

Counters (see :meth:`BatchProcessor.stats`) are per processor; drops are counted by reason:
``queue_full``, ``export_failed`` (the exporter failed, refused or raised, or a record could not be
converted) and ``shutdown`` (recorded after shutdown, or still queued when the worker was stopped).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Any

from spanscope.model.records import Finding, TraceInfo
from spanscope.sdk import convert
from spanscope.sdk.exporters import ExportBatch, SpanExporter
from spanscope.sdk.guard import log_once, record_worker_error, reraise_worker_errors
from spanscope.sdk.spans import Span


def _value(counter: itertools.count[int]) -> int:
    # itertools.count increments atomically (it's C code under the GIL); its repr is "count(N)".
    return int(repr(counter)[6:-1])


class _FlushMarker:
    __slots__ = ("deadline", "done")

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.done = threading.Event()


class BatchProcessor:
    """Queue + worker thread + exporter. One per ``configure()``."""

    def __init__(
        self, exporter: SpanExporter, *, batch_size: int = 512, flush_interval: float = 0.5,
        max_queue_size: int = 100_000,
    ) -> None:  # fmt: skip
        self.exporter = exporter
        self.batch_size = max(1, int(batch_size))
        self.flush_interval = max(0.001, float(flush_interval))
        self.max_queue_size = max(1, int(max_queue_size))
        self._closed = False
        self._init_state()
        _PROCESSORS.add(self)
        self._start_worker()

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._flush_deadline: float | None = None
        self._started = itertools.count()
        self._ended = itertools.count()
        self._queue_full = itertools.count()
        self._shutdown_drops = itertools.count()
        self.span_started = self._started.__next__
        self.span_ended = self._ended.__next__
        self._exported = 0  # written by the worker only
        self._export_failed = 0  # written by the worker only
        self._drops_at_last_flush = 0

    def _start_worker(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spanscope-worker", daemon=True)
        self._thread.start()

    # --- application side -------------------------------------------------------------------------
    def submit(self, record: Any) -> bool:
        """Queue a finished span, ``TraceInfo`` or ``Finding``; False (and counted) when it was dropped."""
        if self._closed:
            next(self._shutdown_drops)
            return False
        queue = self._queue
        if len(queue) >= self.max_queue_size:
            next(self._queue_full)
            return False
        queue.append(record)
        if len(queue) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until what was queued before the call is exported. True only if nothing was lost since the
        previous flush and everything got delivered in time."""
        if self._pid != os.getpid():
            self._after_fork()
        done = True
        if not self._closed:
            if threading.current_thread() is self._thread:
                return False  # an exporter flushing from the worker would wait for itself
            thread = self._thread
            if thread is None or not thread.is_alive():
                self._start_worker()
            deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
            if deadline is not None and (self._flush_deadline is None or deadline < self._flush_deadline):
                self._flush_deadline = deadline
            marker = _FlushMarker(deadline)
            self._queue.append(marker)
            self._wake.set()
            done = marker.done.wait(timeout)
        drops = self._drop_total()
        ok = done and drops == self._drops_at_last_flush
        self._drops_at_last_flush = drops
        reraise_worker_errors()
        return ok

    def shutdown(self, timeout: float | None = None, *, shutdown_exporter: bool = True) -> bool:
        """Flush, stop the worker and shut the exporter down. Later records are dropped as ``shutdown``."""
        if self._closed:
            return self.flush(0)
        start = time.monotonic()
        ok = self.flush(timeout)
        self._closed = True
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            remaining = None if timeout is None else max(0.0, timeout - (time.monotonic() - start))
            thread.join(remaining)
        if thread is None or not thread.is_alive():
            self._discard_queue()
        if not shutdown_exporter:
            return ok
        try:
            self.exporter.shutdown()
        except Exception as exc:
            log_once(
                ("exporter-shutdown", type(self.exporter)),
                logging.WARNING,
                "spanscope exporter %r failed to shut down: %r",
                self.exporter,
                exc,
            )
        return ok

    def _discard_queue(self) -> None:
        while True:
            try:
                item = self._queue.popleft()
            except IndexError:
                return
            if type(item) is _FlushMarker:
                item.done.set()
            else:
                next(self._shutdown_drops)

    def _drop_total(self) -> int:
        return _value(self._queue_full) + _value(self._shutdown_drops) + self._export_failed

    def stats(self) -> dict[str, int]:
        return {
            "spans_started": _value(self._started),
            "spans_ended": _value(self._ended),
            "exported": self._exported,
            "queue_full": _value(self._queue_full),
            "export_failed": self._export_failed,
            "shutdown": _value(self._shutdown_drops),
            "queued": len(self._queue),
        }

    # --- worker side ------------------------------------------------------------------------------
    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait(self.flush_interval)
            wake.clear()
            try:
                self._drain()
            except Exception as exc:  # the worker must outlive its bugs
                record_worker_error(exc)
            if self._stopping and not self._queue:
                return

    def _drain(self) -> None:
        queue = self._queue
        records: list[Any] = []
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if type(item) is _FlushMarker:
                if records:
                    self._export(records, item.deadline)
                    records = []
                if self._flush_deadline == item.deadline:
                    self._flush_deadline = None
                item.done.set()
                continue
            records.append(item)
            if len(records) >= self.batch_size:
                self._export(records, self._flush_deadline)
                records = []
        if records:
            self._export(records, self._flush_deadline)

    def _export(self, records: list[Any], deadline: float | None) -> None:
        batch = ExportBatch(deadline=deadline)
        failed = 0
        for record in records:
            try:
                if type(record) is TraceInfo:
                    batch.traces.append(convert.trace_record(record))
                elif type(record) is Finding:
                    batch.findings.append(convert.finding_record(record))
                elif isinstance(record, Span):
                    batch.spans.append(convert.span_record(record))
                else:
                    raise TypeError(f"unexpected record in the spanscope queue: {record!r}")
            except Exception as exc:
                failed += 1
                record_worker_error(exc)
        self._export_failed += failed
        size = len(batch)
        if not size:
            return
        try:
            ok = bool(self.exporter.export(batch))
        except Exception as exc:
            ok = False
            log_once(
                ("exporter-raised", type(self.exporter), type(exc)),
                logging.WARNING,
                "spanscope exporter %r raised; %d record(s) dropped",
                self.exporter,
                size,
                exc_info=exc,
            )
        if ok:
            rejected = min(max(int(batch.rejected), 0), size)
            self._exported += size - rejected
            self._export_failed += rejected
        else:
            self._export_failed += size

    # --- fork -------------------------------------------------------------------------------------
    def _after_fork(self) -> None:
        """In a forked child: the parent's queue, locks and thread don't carry over; start afresh."""
        if self._pid == os.getpid():
            return
        self._init_state()
        after_fork = getattr(self.exporter, "after_fork", None)
        if callable(after_fork):
            try:
                after_fork()
            except Exception as exc:
                record_worker_error(exc)
        if not self._closed:
            self._start_worker()


_PROCESSORS: weakref.WeakSet[BatchProcessor] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for processor in list(_PROCESSORS):
        processor._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
