"""Process-wide SDK state read on the hot path: the active processor, the clock, the id sources and the
context variable holding the current span.

Everything a span needs when it starts or ends is one attribute read on :data:`RUNTIME`, so that
``configure()``, :func:`set_clock` and the deterministic test helpers can swap pieces at any time.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from spanscope.model.ids import new_span_id, new_trace_id

if TYPE_CHECKING:
    from spanscope.sdk.processor import BatchProcessor
    from spanscope.sdk.spans import Span

Clock = Callable[[], int]
IdSource = Callable[[], str]

# The active span. A ContextVar, so threads start empty and asyncio tasks inherit their creator's span.
CURRENT: ContextVar[Span | None] = ContextVar("spanscope_current_span", default=None)

DETERMINISTIC_START_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z


class Runtime:
    """The swappable pieces. ``processor`` None means the SDK is off (not configured, disabled, shut down)."""

    __slots__ = ("clock", "new_finding_id", "new_span_id", "new_trace_id", "processor")

    def __init__(self) -> None:
        self.processor: BatchProcessor | None = None
        self.clock: Clock = time.time_ns
        self.new_trace_id: IdSource = new_trace_id
        self.new_span_id: IdSource = new_span_id
        self.new_finding_id: IdSource = new_trace_id

    def snapshot(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, snapshot, strict=True):
            setattr(self, name, value)


RUNTIME = Runtime()


def current_span() -> Span | None:
    """The span active in this thread or task, or None (also None inside no-op spans)."""
    return CURRENT.get()


def set_clock(fn: Clock | None) -> None:
    """Take timestamps (nanoseconds since the epoch) from ``fn``; None restores ``time.time_ns``.

    Simulations use it to make traces last seconds without sleeping:

    >>> now = [1_700_000_000_000_000_000]
    >>> set_clock(lambda: now[0])
    >>> set_clock(None)
    """
    if fn is not None and not callable(fn):
        raise TypeError(f"set_clock expects a callable returning nanoseconds or None, got {fn!r}")
    RUNTIME.clock = fn if fn is not None else time.time_ns


def set_id_sources(
    trace_id: IdSource | None = None, span_id: IdSource | None = None, finding_id: IdSource | None = None
) -> None:
    """Replace the id generators (None restores the random default for that id)."""
    RUNTIME.new_trace_id = trace_id or new_trace_id
    RUNTIME.new_span_id = span_id or new_span_id
    RUNTIME.new_finding_id = finding_id or new_trace_id


def counting_ids() -> tuple[IdSource, IdSource, IdSource]:
    """Deterministic trace, span and finding id sources: 1, 2, 3… as 32/16/32 hex digits (thread safe)."""
    traces, spans, findings = itertools.count(1), itertools.count(1), itertools.count(1)
    return (
        lambda: f"{next(traces):032x}",
        lambda: f"{next(spans):016x}",
        lambda: f"{next(findings):032x}",
    )


def stepping_clock(start_ns: int = DETERMINISTIC_START_NS, step_ns: int = 1_000_000) -> Clock:
    """A deterministic clock advancing ``step_ns`` (1 ms) on every read (thread safe)."""
    ticks = itertools.count()
    return lambda: start_ns + next(ticks) * step_ns
