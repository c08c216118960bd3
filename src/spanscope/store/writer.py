"""A group-commit writer thread in front of a store engine.

Embedded engines are slow on tiny inserts (DuckDB: ~3 ms per 10-row insert) and allow one writer. Requests
therefore hand their batch to one writer thread and wait; the writer takes everything queued at that moment
(up to ``max_rows``) and writes it in one transaction, then wakes every waiter. When idle it writes at once
(no added latency); under load batches grow by themselves. A request is acknowledged only after the
transaction that holds its data has committed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from spanscope.ingest.native import IngestBatch

log = logging.getLogger("spanscope.store")


@dataclass(slots=True)
class _Job:
    project: str
    batch: IngestBatch
    future: Future[None]


class GroupCommitWriter:
    def __init__(
        self,
        write_many: Callable[[list[tuple[str, IngestBatch]]], None],
        *,
        max_rows: int = 20_000,
        name: str = "spanscope-writer",
    ) -> None:
        self._write_many = write_many
        self._max_rows = max_rows
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self.batches_written = 0
        self.rows_written = 0

    def submit(self, project: str, batch: IngestBatch) -> Future[None]:
        fut: Future[None] = Future()
        if self._closed:
            fut.set_exception(RuntimeError("store is closed"))
            return fut
        self._queue.put(_Job(project, batch, fut))
        return fut

    def write(self, project: str, batch: IngestBatch, timeout: float | None = None) -> None:
        self.submit(project, batch).result(timeout)

    def close(self, timeout: float = 30.0) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        stop = False
        while not stop:
            job = self._queue.get()
            if job is None:
                break
            jobs = [job]
            rows = len(job.batch)
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                jobs.append(nxt)
                rows += len(nxt.batch)
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            self._write_many([(j.project, j.batch) for j in jobs])
        except Exception as exc:  # noqa: BLE001 - isolate the failing request below
            if len(jobs) == 1:
                log.exception("store write failed")
                jobs[0].future.set_exception(exc)
                return
            # One request spoiled the group: write them one by one so the others still land.
            for j in jobs:
                self._commit([j])
            return
        self.batches_written += 1
        self.rows_written += sum(len(j.batch) for j in jobs)
        for j in jobs:
            j.future.set_result(None)

    def stats(self) -> dict[str, Any]:
        return {
            "queue_depth": self._queue.qsize(),
            "batches_written": self.batches_written,
            "rows_written": self.rows_written,
        }
