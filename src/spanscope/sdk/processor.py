"""The batching worker: a bounded queue between the application threads and the exporter.

``submit()`` never blocks: it appends to a ``collections.deque`` (thread safe, no lock taken) or, when
the queue holds ``max_queue_size`` records, drops the record and counts it. A daemon thread wakes when a
batch is full or every ``flush_interval`` seconds, turns the records into wire records (``encode.py``:
payloads encoded once, redacted, size-limited), applies tail sampling if configured, and hands batches to
the exporter. ``flush()`` puts a marker in the queue and waits until the worker reaches it, so it covers
exactly what was queued before the call. After ``os.fork()`` the child gets a fresh, empty queue and its
own worker thread (the parent's queued records stay the parent's).

Counters (:meth:`BatchProcessor.stats`) are per processor; drops are counted by reason:
``queue_full``, ``export_failed`` (the exporter failed, refused or raised, or a record could not be
converted), ``shutdown`` (recorded after shutdown, or still queued when the worker was stopped) and
``sampled_out`` (not kept by head or tail sampling). Each batch carries ``sdk_stats``: the drops since the
last batch the exporter delivered, so the server learns about losses with the next batch that gets through.
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
from spanscope.model.records import Span as SpanRecord
from spanscope.sdk.encode import SpanEncoder
from spanscope.sdk.exporters import ExportBatch, SpanExporter, batch_for
from spanscope.sdk.guard import log_once, record_worker_error, reraise_worker_errors
from spanscope.sdk.sampling import TailSampler, TailSampling, head_bound, head_keeps
from spanscope.sdk.spans import Span

DROP_REASONS = ("queue_full", "export_failed", "shutdown", "sampled_out")
SDK_NAME = "spanscope-python"


def _value(counter: itertools.count[int]) -> int:
    # itertools.count increments atomically (it's C code under the GIL); its repr is "count(N)".
    return int(repr(counter)[6:-1])


_VERSION: list[str] = []


def sdk_version() -> str:
    if not _VERSION:
        try:
            from importlib.metadata import version

            _VERSION.append(version("spanscope"))
        except Exception:
            _VERSION.append("unknown")
    return _VERSION[0]


class _FlushMarker:
    __slots__ = ("deadline", "done")

    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.done = threading.Event()


class BatchProcessor:
    """Queue + worker thread + exporter. One per ``configure()``.

    ``sample_rate`` is the head-sampling rate (applied by the spans themselves through
    ``RUNTIME.sample_bound`` and, for records given to :meth:`submit`, here); ``tail_sampling`` the tail
    rules; ``encoder`` the payload policy (capture switches, redaction, size limits).
    """

    def __init__(
        self, exporter: SpanExporter, *, batch_size: int = 512, flush_interval: float = 0.5,
        max_queue_size: int = 100_000, encoder: SpanEncoder | None = None, sample_rate: float = 1.0,
        tail_sampling: TailSampling | None = None,
    ) -> None:  # fmt: skip
        self.exporter = exporter
        self.batch_size = max(1, int(batch_size))
        self._wake_at = self.batch_size - 1  # queue length before the append that fills a batch
        self.flush_interval = max(0.001, float(flush_interval))
        self.max_queue_size = max(1, int(max_queue_size))
        self.encoder = encoder or SpanEncoder()
        rate = min(1.0, max(0.0, float(sample_rate)))
        self.sample_rate = rate
        self.sample_bound = head_bound(rate)
        self.head_weight = 1.0 / rate if 0.0 < rate < 1.0 else 1.0
        self.tail_sampling = tail_sampling
        self._closed = False
        self._init_state()
        _PROCESSORS.add(self)
        self._start_worker()

    def _init_state(self) -> None:
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._woken = False
        self._stopping = False
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._flush_deadline: float | None = None
        self._started = itertools.count()
        self._ended = itertools.count()
        self._queue_full = itertools.count()
        self._shutdown_drops = itertools.count()
        self._sampled_out = itertools.count()
        self.span_started = self._started.__next__
        self._end_next = self._ended.__next__
        self._exported = 0  # written by the worker only
        self._export_failed = 0  # written by the worker only
        self._tail_dropped = 0  # written by the worker only
        self._drops_at_last_flush = 0
        self._reported = dict.fromkeys(DROP_REASONS, 0)  # drops the server has been told about
        self._sampler = TailSampler(self.tail_sampling) if self.tail_sampling is not None else None

    def _start_worker(self) -> None:
        self._thread = threading.Thread(target=self._run, name="spanscope-worker", daemon=True)
        self._thread.start()

    # --- application side (hot path) --------------------------------------------------------------
    def submit_span(self, span: Span) -> bool:
        """Queue a finished application span (the sampling decision travels with it). ``Span.__exit__``
        inlines this: keep the two in step."""
        self._end_next()
        queue = self._queue
        n = len(queue)
        if not span._sampled or self._closed or n >= self.max_queue_size:
            self.count_drop(span)
            return False
        queue.append(span)
        if n >= self._wake_at and not self._woken:
            self.wake()
        return True

    def count_drop(self, span: Span) -> None:
        """Count a finished span that is not queued: not sampled, after shutdown, or the queue is full."""
        if not span._sampled:
            next(self._sampled_out)
        elif self._closed:
            next(self._shutdown_drops)
        else:
            next(self._queue_full)

    def wake(self) -> None:
        self._woken = True
        self._wake.set()

    def submit(self, record: Any) -> bool:
        """Queue a record: a finished span, a model ``Span``, ``TraceInfo`` or ``Finding``. False (and
        counted) when it was dropped."""
        if self._closed:
            next(self._shutdown_drops)
            return False
        queue = self._queue
        n = len(queue)
        if n >= self.max_queue_size:
            next(self._queue_full)
            return False
        queue.append(record)
        if n >= self._wake_at and not self._woken:
            self._woken = True
            self._wake.set()
        return True

    def count_sampled_out(self) -> None:
        next(self._sampled_out)

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
        """Flush (deciding traces held for tail sampling), stop the worker and shut the exporter down, all
        within ``timeout`` seconds. Later records are dropped as ``shutdown``."""
        if self._closed:
            return self.flush(0)
        start = time.monotonic()
        self._stopping = True  # the worker decides pending tail-sampled traces from now on
        ok = self.flush(timeout)
        self._closed = True
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
        # sampled_out is intended, not a loss: it never makes flush() return False.
        return _value(self._queue_full) + _value(self._shutdown_drops) + self._export_failed

    def dropped(self) -> dict[str, int]:
        return {
            "queue_full": _value(self._queue_full),
            "export_failed": self._export_failed,
            "shutdown": _value(self._shutdown_drops),
            "sampled_out": _value(self._sampled_out) + self._tail_dropped,
        }

    def stats(self) -> dict[str, int]:
        out = {"spans_started": _value(self._started), "spans_ended": _value(self._ended), "exported": self._exported}
        out.update(self.dropped())
        out["queued"] = len(self._queue)
        more = getattr(self.exporter, "stats", None)
        if callable(more):
            try:
                out.update(more())
            except Exception as exc:
                record_worker_error(exc)
        return out

    # --- worker side ------------------------------------------------------------------------------
    def _run(self) -> None:
        wake = self._wake
        while True:
            wake.wait(self.flush_interval)
            wake.clear()
            self._woken = False
            try:
                self._drain()
            except Exception as exc:  # the worker must outlive its bugs
                record_worker_error(exc)
            if self._stopping and not self._queue:
                if self._sampler is not None and self._sampler.pending:
                    continue  # _drain decides them on the next pass
                if self._closed:
                    return

    def _drain(self) -> None:
        queue = self._queue
        batch = ExportBatch(raw=True)
        sampler = self._sampler
        if sampler is not None and self._stopping:
            self._take_released(sampler.drain(), batch)
        pending = 0  # records taken since the last export (cheaper to count than len(batch))
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                break
            if type(item) is _FlushMarker:
                if sampler is not None and self._stopping:
                    self._take_released(sampler.drain(), batch)
                if len(batch):
                    self._export(batch, item.deadline)
                    batch = ExportBatch(raw=True)
                    pending = 0
                if self._flush_deadline == item.deadline:
                    self._flush_deadline = None
                item.done.set()
                continue
            if sampler is None:
                if self.sample_bound is None or self._head_keeps(item):
                    self._convert(item, batch, self.head_weight)
            else:
                self._offer(sampler, item, batch)
            pending += 1
            if pending >= self.batch_size and len(batch) >= self.batch_size:
                pending = 0
                self._export(batch, self._flush_deadline)
                batch = ExportBatch(raw=True)
        if sampler is not None:
            self._take_released(sampler.drain() if self._stopping else sampler.expire(), batch)
        if len(batch):
            self._export(batch, self._flush_deadline)

    def _offer(self, sampler: TailSampler, item: Any, batch: ExportBatch) -> None:
        if not self._head_keeps(item):
            return
        try:
            released = sampler.offer(item)
        except Exception as exc:
            self._export_failed += 1
            record_worker_error(exc)
            return
        self._take_released(released, batch)

    def _take_released(self, released: list[tuple[Any, float]], batch: ExportBatch) -> None:
        sampler = self._sampler
        if sampler is not None:
            self._tail_dropped = sampler.dropped
        for record, weight in released:
            self._convert(record, batch, weight * self.head_weight)

    def _head_keeps(self, item: Any) -> bool:
        # Live spans were decided on the application thread; records built elsewhere are decided here,
        # by the same rule on their trace id, so that a trace's spans and findings share one fate.
        if self.sample_bound is None or isinstance(item, Span):
            return True
        try:
            keep = head_keeps(int(item.trace_id[16:], 16), self.sample_bound)
        except (AttributeError, TypeError, ValueError):
            return True
        if not keep:
            next(self._sampled_out)
        return keep

    def _convert(self, item: Any, batch: ExportBatch, weight: float) -> None:
        encoder = self.encoder
        try:
            if isinstance(item, Span):
                batch.spans.append(encoder.span(item, weight))
                if item.root is item and item._trace is not None:
                    info = encoder.root_trace_info(item)
                    if info is not None:
                        batch.traces.append(info)
            elif type(item) is TraceInfo:
                batch.traces.append(encoder.trace_info(item))
            elif type(item) is Finding:
                batch.findings.append(encoder.finding(item))
            elif type(item) is SpanRecord:
                batch.spans.append(encoder.model_span(item, weight))
            else:
                raise TypeError(f"unexpected record in the spanscope queue: {item!r}")
        except Exception as exc:
            self._export_failed += 1
            record_worker_error(exc)

    def _sdk_stats(self) -> tuple[dict[str, Any], dict[str, int]]:
        totals = self.dropped()
        delta = {reason: totals[reason] - self._reported[reason] for reason in DROP_REASONS}
        return {"dropped": delta, "sdk": SDK_NAME, "version": sdk_version()}, totals

    def _export(self, batch: ExportBatch, deadline: float | None) -> None:
        batch.deadline = deadline
        size = len(batch)
        batch.sdk_stats, totals = self._sdk_stats()
        exporter = self.exporter
        sent = batch
        try:
            sent = batch_for(exporter, batch)
            ok = bool(exporter.export(sent))
        except Exception as exc:
            ok = False
            log_once(
                ("exporter-raised", type(exporter), type(exc)),
                logging.WARNING,
                "spanscope exporter %r raised; %d record(s) dropped",
                exporter,
                size,
                exc_info=exc,
            )
        if ok:
            rejected = min(max(int(sent.rejected), 0), size)
            self._exported += size - rejected
            self._export_failed += rejected
            self._reported = totals
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
