"""``DurableStore``: the ingest log in front of an engine.

``write()`` validates nothing more; it fills in what must be fixed before logging (finding ids and times,
so a replay writes the very same rows), appends the batch to the :class:`IngestLog`, waits for its fsync
(shared with every request pending at that moment) and returns: the caller may acknowledge. An applier
thread then writes everything queued since its last commit to the engine in one transaction, so the
database sees few large writes however small the requests are, and a checkpoint stall delays no ack.

Reads wait (at most ``barrier_timeout``, 2 s) until the applier has caught up with every write
acknowledged before the read began, so a search after a 2xx or a ``flush()`` sees that data; when the
server is idle that wait is one apply (milliseconds).

The applier gathers requests for up to ``apply_delay`` (0.25 s) or ``max_rows`` before it writes, and at once
when a read is waiting: a transaction's fixed cost (a dozen statements, the summary lookups, the commit) is
then shared by thousands of rows. Measured with OTLP spans, DuckDB: 31-41 µs of CPU per span written 1,000
per transaction, 20-22 µs at 5,000, 16-24 µs at 20,000 (``bench/ingest.py``, BENCHMARKS.md).

When the applier is more than ``max_queue_rows`` behind, ``write()`` raises :class:`StoreOverloaded`
(HTTP 429 with ``Retry-After``) instead of growing without bound.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

import msgspec

from spanscope.ingest.native import IngestBatch, SpanEvent, WireSpan
from spanscope.model import Finding, TraceInfo
from spanscope.store.reports import stamp
from spanscope.store.wal import IngestLog

log = logging.getLogger("spanscope.store")

LOG_DIRNAME = "ingest-log"
T = TypeVar("T")


class _Record(msgspec.Struct, array_like=True):
    """One ingest-log record: ``[project, traces, spans, events, findings, sdk_stats?]``."""

    project: str
    traces: list[TraceInfo]
    spans: list[WireSpan]
    events: list[SpanEvent]
    findings: list[Finding]
    sdk_stats: dict[str, Any] | None = None


_record_decoder = msgspec.json.Decoder(_Record)
_encoder = msgspec.json.Encoder()


_FLUSH = object()  # queued by a waiting read: apply what is queued now


class StoreOverloaded(RuntimeError):
    """The database is too far behind; the client should retry after ``retry_after`` seconds."""

    status_code = 429

    def __init__(self, retry_after: float):
        super().__init__(f"ingest is overloaded; retry after {retry_after:g} s")
        self.retry_after = retry_after


class Engine(Protocol):
    def write_many(self, jobs: list[tuple[str, IngestBatch]]) -> None: ...
    def close(self) -> None: ...


class DurableStore:
    def __init__(
        self,
        engine: Any,
        data_dir: str | os.PathLike[str],
        *,
        max_rows: int = 20_000,
        max_queue_rows: int = 50_000,
        barrier_timeout: float = 2.0,
        apply_delay: float = 0.25,
    ):
        self.engine = engine
        self.max_rows = max_rows
        self.max_queue_rows = max_queue_rows
        self.barrier_timeout = barrier_timeout
        self.apply_delay = apply_delay
        self.log = IngestLog(Path(data_dir) / LOG_DIRNAME)
        # items: a logged request, _FLUSH (a read is waiting: apply now) or None (stop)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._flush_asked = False
        self._cond = threading.Condition()
        self._queued_rows = 0
        self._applied: set[int] = set()
        self._watermark = 0  # every seq <= watermark is in the database
        self._closed = False
        self._exclusive = threading.Lock()  # held by the applier around each apply; see run_exclusive()
        self.stats_counters = {"batches_applied": 0, "rows_applied": 0, "apply_failed": 0, "overloaded": 0}
        self._replay()
        self._thread = threading.Thread(target=self._run, name="spanscope-applier", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ start-up
    def _replay(self) -> None:
        replayed = 0
        last = 0
        for path in self.log.segments():
            jobs: list[tuple[str, IngestBatch]] = []
            for seq, payload in IngestLog.read_segment(path):
                r = _record_decoder.decode(payload)
                batch = IngestBatch(traces=r.traces, spans=r.spans, events=r.events, findings=r.findings)
                batch.sdk_stats = r.sdk_stats
                jobs.append((r.project, batch))
                last = max(last, seq)
                if sum(len(b) for _, b in jobs) >= self.max_rows:
                    self.engine.write_many(jobs)
                    replayed += len(jobs)
                    jobs = []
            if jobs:
                self.engine.write_many(jobs)
                replayed += len(jobs)
        self._watermark = self.log.last_seq
        self.log.release(self._watermark)
        if replayed:
            log.info("replayed %d acknowledged batch(es) from the ingest log up to seq %d", replayed, last)

    # ------------------------------------------------------------------ writes
    def write(self, project: str, batch: IngestBatch) -> None:
        """Durable on return (fsynced to the ingest log); in the database shortly after."""
        n = len(batch)
        if n == 0 and not batch.sdk_stats:
            return
        if self._queued_rows and self._queued_rows + n > self.max_queue_rows:
            self.stats_counters["overloaded"] += 1
            raise StoreOverloaded(retry_after=0.5)
        now = time.time_ns()
        if batch.sdk_stats:  # the report's key, logged with it, so a replay after a crash does not count it twice
            batch.sdk_stats = stamp(batch.sdk_stats, now)
        for f in batch.findings:
            if f.finding_id is None:
                f.finding_id = os.urandom(16).hex()
            if f.time_ns is None:
                f.time_ns = now
        payload = _encoder.encode(
            _Record(project, batch.traces, batch.spans, batch.events, batch.findings, batch.sdk_stats)
        )
        seq = self.log.append(payload).result()
        with self._cond:
            self._queued_rows += n
        self._queue.put((seq, project, batch))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if item is _FLUSH:
                continue
            items = [item]
            rows = len(item[2])
            stop = False
            # Gather more until max_rows, apply_delay after the first, or a read is waiting.
            deadline = time.monotonic() + self.apply_delay
            while rows < self.max_rows:
                left = deadline - time.monotonic()
                try:
                    nxt = (
                        self._queue.get(timeout=left)
                        if left > 0 and not self._flush_asked
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                if nxt is _FLUSH:
                    deadline = 0.0  # take what is queued already, then write
                    continue
                items.append(nxt)
                rows += len(nxt[2])
            self._flush_asked = False
            with self._exclusive:
                self._apply(items)
            if stop:
                return

    def _apply(self, items: list[tuple[int, str, IngestBatch]]) -> None:
        jobs = [(project, batch) for _, project, batch in items]
        for attempt in range(3):
            try:
                self.engine.write_many(jobs)
                break
            except Exception:  # noqa: BLE001 - retried, then isolated, then counted; never kills the applier
                log.exception("applying %d batch(es) to the store failed (attempt %d)", len(jobs), attempt + 1)
                time.sleep(0.05 * (attempt + 1))
        else:
            if len(items) > 1:
                for it in items:
                    self._apply([it])
                return
            self.stats_counters["apply_failed"] += 1
        rows = sum(len(b) for _, _, b in items)
        with self._cond:
            self._queued_rows -= rows
            self.stats_counters["batches_applied"] += len(items)
            self.stats_counters["rows_applied"] += rows
            self._applied.update(seq for seq, _, _ in items)
            while self._watermark + 1 in self._applied:
                self._watermark += 1
                self._applied.discard(self._watermark)
            self._cond.notify_all()
            watermark = self._watermark
        self.log.release(watermark)

    # ------------------------------------------------------------------ maintenance (store/retention.py)
    def run_exclusive(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(engine)`` between two applies, so the engine still sees one writer at a time (a DuckDB
        retention delete never races an ingest transaction). Ingest is acknowledged meanwhile (the log)."""
        with self._exclusive:
            return fn(self.engine)

    # ------------------------------------------------------------------ reads
    def barrier(self, timeout: float | None = None) -> bool:
        """Wait until everything acknowledged so far is in the database; False on timeout."""
        target = self.log.last_seq
        deadline = time.monotonic() + (self.barrier_timeout if timeout is None else timeout)
        with self._cond:
            while self._watermark < target:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if not self._flush_asked:
                    self._flush_asked = True  # the applier stops gathering and writes now
                    self._queue.put(_FLUSH)
                self._cond.wait(left)
        return True

    def __getattr__(self, name: str) -> Any:
        # Every other Store method is the engine's, after the read-your-writes barrier.
        attr = getattr(self.engine, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.barrier()
            return attr(*args, **kwargs)

        call.__name__ = name
        return call

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {
                **self.stats_counters,
                "queued_rows": self._queued_rows,
                "appended_seq": self.log.last_seq,
                "applied_seq": self._watermark,
            }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(60)
        self.log.close(applied_seq=self._watermark)
        self.engine.close()
