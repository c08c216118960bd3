"""Decoding OTLP in worker processes.

Decoding and translating an OTLP span costs ~37 µs of Python; done in the server's own interpreter it
competes for the GIL with HTTP handling and the store applier and caps OTLP ingest near 12-14k spans/s on two
cores. Large bodies are therefore decoded in a small process pool (``otlp_decode_workers``, default 1;
0 = in-process); the result comes back pickled, which costs the server a fraction of decoding. Small bodies
are decoded in-process: a round trip to the pool would cost more than it saves. The pool starts lazily on the
first large body (``forkserver``: never ``fork`` a process that runs threads) and stops with the app.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool

from spanscope.ingest.native import IngestBatch, Rejection, SpanEvent
from spanscope.ingest.otlp import OtlpDecoded, decode_otlp_traces
from spanscope.model import Finding, TraceInfo

POOL_MIN_BYTES = 64 * 1024


class _TrustedEvent(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """An :class:`~spanscope.model.Event` as handed back by a worker, which built it as a validated model
    object: decoded without checking its constraints again."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = {}


class _TrustedSpan(msgspec.Struct, kw_only=True, omit_defaults=True, gc=False):
    """A :class:`~spanscope.ingest.native.WireSpan` handed back by a worker (fields and names the same, so the
    store, the ingest log and the listeners read it alike). The worker validated it (ids, names, times) as a
    model object; decoding it again without the patterns and checks costs the server ~40% less. ``gc=False``:
    these hold only strings, numbers, lists and dicts of them, so they can't be part of a reference cycle."""

    trace_id: str
    span_id: str
    name: str
    start_time_ns: int
    end_time_ns: int
    parent_span_id: str | None = None
    kind: str = "other"
    status: str = "UNSET"
    status_message: str | None = None
    attributes: dict[str, Any] = {}
    inputs: msgspec.Raw = msgspec.Raw()
    outputs: msgspec.Raw = msgspec.Raw()
    events: list[_TrustedEvent] = []

    @property
    def duration_ms(self) -> float:
        return (self.end_time_ns - self.start_time_ns) / 1e6


_Wire = tuple[
    list[tuple[str | None, list[TraceInfo], list[_TrustedSpan], list[SpanEvent], list[Finding]]],
    list[tuple[str, int, str]],
    int,
]
_wire_decoder = msgspec.json.Decoder(_Wire)


def decode_to_wire(body: bytes, fmt: str) -> bytes:
    """In the worker: decode + translate, then hand back JSON, which the server decodes ~7x faster than
    it would unpickle the same objects (inputs/outputs stay raw JSON on its side)."""
    d = decode_otlp_traces(body, fmt)
    batches = [(p, b.traces, b.spans, b.events, b.findings) for p, b in d.batches.items()]
    rejected = [(r.kind, r.index, r.reason) for r in d.rejected]
    return msgspec.json.encode((batches, rejected, d.span_count))


def from_wire(data: bytes) -> OtlpDecoded:
    batches, rejected, span_count = _wire_decoder.decode(data)
    out = OtlpDecoded(span_count=span_count)
    out.rejected = [Rejection(*r) for r in rejected]
    for project, traces, spans, events, findings in batches:
        out.batches[project] = IngestBatch(traces=traces, spans=spans, events=events, findings=findings)  # type: ignore[arg-type]
    return out


class DecodePool:
    def __init__(self, workers: int):
        self.workers = max(0, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"))
            return self._pool

    async def decode(self, body: bytes, fmt: str) -> OtlpDecoded:
        if self.workers == 0 or len(body) < POOL_MIN_BYTES:
            return await run_in_threadpool(decode_otlp_traces, body, fmt)
        try:
            wire = await asyncio.get_running_loop().run_in_executor(self._get(), decode_to_wire, body, fmt)
            return from_wire(wire)
        except BrokenProcessPool:
            # A worker died (OOM, kill): start a new pool next time and decode this body here.
            with self._lock:
                self._pool = None
            return await run_in_threadpool(decode_otlp_traces, body, fmt)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
