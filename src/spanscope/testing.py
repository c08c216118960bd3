"""Helpers for testing code instrumented with spanscope: capture spans in memory and assert on them as data.

    from spanscope.testing import capture

    def test_turn() -> None:
        with capture() as spans:
            answer_question("where is my order?")
        assert spans.span_tree() == [
            {"name": "chatbot.turn", "kind": "chain", "status": "OK", "children": [
                {"name": "llm.generate", "kind": "llm", "status": "OK", "children": []},
            ]},
        ]

With ``deterministic=True`` (the default) trace ids are ``000…1``, ``000…2``…, span ids likewise, and the
clock starts at 2023-11-14T22:13:20Z and advances 1 ms per read, so whole records can be compared
(``msgspec.to_builtins(cap.spans[0]) == {...}``). ``span_tree(fields=("attributes", "inputs"))`` adds fields
to every node; ``get(name)`` finds the one span of that name; ``dropped()`` sums the drops the SDK reported.
``capture(...)`` takes ``configure()``'s pipeline options, so redaction and sampling can be tested too.
The records are what the server would receive: redacted, truncated, sampled, with payloads as JSON values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import msgspec

from spanscope.model.records import Finding, Span, TraceInfo
from spanscope.sdk import config as _config
from spanscope.sdk.exporters import ExportBatch
from spanscope.sdk.runtime import RUNTIME, counting_ids, set_id_sources, stepping_clock

__all__ = ["CaptureExporter", "capture"]


class CaptureExporter:
    """Keeps every exported batch in memory (thread safe).

    Attached by :func:`capture`, its accessors flush the SDK first, so what the code under test recorded
    is there without waiting; used on its own (``configure(exporter=CaptureExporter())``), call
    ``spanscope.flush()`` before reading.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: list[ExportBatch] = []
        self.flush_hook: Callable[[], object] | None = None

    def export(self, batch: ExportBatch) -> bool:
        with self._lock:
            self._batches.append(batch)
        return True

    def shutdown(self) -> None:
        pass

    def after_fork(self) -> None:
        self._lock = threading.Lock()  # the parent's worker may have held it at fork time

    def _snapshot(self) -> list[ExportBatch]:
        if self.flush_hook is not None:
            self.flush_hook()
        with self._lock:
            return list(self._batches)

    @property
    def batches(self) -> list[ExportBatch]:
        return self._snapshot()

    @property
    def spans(self) -> list[Span]:
        """Every exported span, in the order they ended."""
        return [s for b in self._snapshot() for s in b.spans]

    @property
    def traces(self) -> list[TraceInfo]:
        return [t for b in self._snapshot() for t in b.traces]

    @property
    def findings(self) -> list[Finding]:
        return [f for b in self._snapshot() for f in b.findings]

    def get(self, name: str) -> Span:
        """The one exported span called ``name`` (AssertionError when there are none or several)."""
        found = [s for s in self.spans if s.name == name]
        assert len(found) == 1, f"expected one span named {name!r}, found {len(found)}: {[s.name for s in self.spans]}"
        return found[0]

    def dropped(self) -> dict[str, int]:
        """Records the SDK dropped, by reason, as reported with the exported batches (``sdk_stats``)."""
        totals: dict[str, int] = {}
        for batch in self._snapshot():
            for reason, n in ((batch.sdk_stats or {}).get("dropped") or {}).items():
                totals[reason] = totals.get(reason, 0) + n
        return totals

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def trace_info(self, trace_id: str) -> dict[str, Any]:
        """The trace-level facts of one trace, merged key by key as the server does."""
        merged: dict[str, Any] = {"tags": {}, "metadata": {}, "session_id": None, "user_id": None}
        for info in self.traces:
            if info.trace_id != trace_id:
                continue
            merged["tags"].update(info.tags)
            merged["metadata"].update(info.metadata)
            merged["session_id"] = info.session_id or merged["session_id"]
            merged["user_id"] = info.user_id or merged["user_id"]
        return merged

    def span_tree(self, trace_id: str | None = None, fields: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Every trace (or one) as nested ``{"name", "kind", "status", "children": [...]}`` dicts, roots in
        start order; ``fields`` adds more span fields (e.g. ``"attributes"``, ``"inputs"``, ``"events"``)."""
        extra = tuple(fields)
        spans = [s for s in self.spans if trace_id is None or s.trace_id == trace_id]
        spans.sort(key=lambda s: (s.start_time_ns, s.span_id))
        nodes: dict[tuple[str, str], dict[str, Any]] = {}
        for s in spans:
            node: dict[str, Any] = {"name": s.name, "kind": s.kind, "status": s.status}
            for name in extra:
                node[name] = msgspec.to_builtins(getattr(s, name))
            node["children"] = []
            nodes[(s.trace_id, s.span_id)] = node
        roots: list[dict[str, Any]] = []
        for s in spans:
            parent = nodes.get((s.trace_id, s.parent_span_id)) if s.parent_span_id else None
            (parent["children"] if parent is not None else roots).append(nodes[(s.trace_id, s.span_id)])
        return roots


@contextmanager
def capture(*, deterministic: bool = True, **options: Any) -> Iterator[CaptureExporter]:
    """Send the SDK's records to a fresh :class:`CaptureExporter` for the duration of the block.

    ``options`` are ``configure()``'s pipeline options (``batch_size``, ``flush_interval``,
    ``max_queue_size``, ``capture_inputs``, ``capture_outputs``, ``redact``, ``redact_builtins``,
    ``max_field_bytes``, ``sample_rate``, ``tail_sampling``), so tests can check what their redaction or
    sampling lets through. The previous configuration, clock and id sources are restored afterwards (the
    previous pipeline keeps running untouched meanwhile).

    >>> with capture(redact_builtins=True) as cap:
    ...     with spanscope.span("x") as s:
    ...         s.set_inputs({"email": "bob@example.com"})
    >>> cap.spans[0].inputs
    {'email': '[REDACTED:email]'}
    """
    unknown = set(options) - set(_CAPTURE_OPTIONS)
    if unknown:
        raise TypeError(f"capture() got unexpected options {sorted(unknown)}; allowed: {sorted(_CAPTURE_OPTIONS)}")
    exporter = CaptureExporter()
    saved_runtime = RUNTIME.snapshot()
    config = _config._resolve_config(**options)
    processor = _config.build_processor(exporter, config)
    before = _config.install(processor, config)
    if deterministic:
        set_id_sources(*counting_ids())
        RUNTIME.clock = stepping_clock()
    exporter.flush_hook = lambda: processor.flush(10.0)
    try:
        yield exporter
    finally:
        processor.shutdown(10.0)
        exporter.flush_hook = None
        processor_now = RUNTIME.processor
        RUNTIME.restore(saved_runtime)
        if processor_now is not processor:
            # The block called configure()/shutdown() itself: keep that, but still restore clock and ids.
            RUNTIME.processor = processor_now
        else:
            _config.restore(before)


_CAPTURE_OPTIONS = (
    "batch_size", "flush_interval", "max_queue_size", "capture_inputs", "capture_outputs", "redact",
    "redact_builtins", "max_field_bytes", "sample_rate", "tail_sampling",
)  # fmt: skip
