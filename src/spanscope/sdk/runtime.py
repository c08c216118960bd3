"""Process-wide SDK state read on the hot path: the active processor, the clock, the id sources and the
context variable holding the current span.

Everything a span needs when it starts or ends is one attribute read on :data:`RUNTIME`, so that
``configure()``, :func:`set_clock` and the deterministic test helpers can swap pieces at any time.

Ids are drawn as integers (``random.getrandbits``: ~50 ns, where ``uuid4().hex`` costs ~3 µs) and formatted
as hex only when someone reads them: the worker, or the user through ``span.trace_id``.
"""

from __future__ import annotations

import functools
import itertools
import random
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spanscope.sdk.processor import BatchProcessor
    from spanscope.sdk.spans import Span

Clock = Callable[[], int]
IdSource = Callable[[], int]

# The active span. A ContextVar, so threads start empty and asyncio tasks inherit their creator's span.
CURRENT: ContextVar[Span | None] = ContextVar("spanscope_current_span", default=None)

DETERMINISTIC_START_NS = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z

# Fresh 128-bit trace ids and 64-bit span ids. C-level partials (~40 ns a draw): no Python frame on the hot
# path. An all-zero id (which W3C reserves) comes out once in 2**64 draws; the server rejects that span.
random_trace_id: IdSource = functools.partial(random.getrandbits, 128)
random_span_id: IdSource = functools.partial(random.getrandbits, 64)


class Runtime:
    """The swappable pieces. ``processor`` None means the SDK is off (not configured, disabled, shut down).

    ``sample_bound`` is the head-sampling threshold: a trace is recorded when the low 64 bits of its id are
    below it (None: every trace). ``otel`` is the OpenTelemetry context bridge once it is installed.
    """

    __slots__ = ("clock", "new_finding_id", "new_span_id", "new_trace_id", "otel", "processor", "sample_bound")

    def __init__(self) -> None:
        self.processor: BatchProcessor | None = None
        self.clock: Clock = time.time_ns
        self.new_trace_id: IdSource = random_trace_id
        self.new_span_id: IdSource = random_span_id
        self.new_finding_id: IdSource = random_trace_id
        self.sample_bound: int | None = None
        self.otel: Any = None

    def snapshot(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def restore(self, snapshot: tuple[Any, ...]) -> None:
        for name, value in zip(self.__slots__, snapshot, strict=True):
            if name != "otel":  # the bridge, once installed, stays
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
    """Replace the id generators, callables returning positive ints (None restores the random default)."""
    RUNTIME.new_trace_id = trace_id or random_trace_id
    RUNTIME.new_span_id = span_id or random_span_id
    RUNTIME.new_finding_id = finding_id or random_trace_id


def counting_ids() -> tuple[IdSource, IdSource, IdSource]:
    """Deterministic trace, span and finding id sources: 1, 2, 3… (``000…1`` once formatted; thread safe)."""
    traces, spans, findings = itertools.count(1), itertools.count(1), itertools.count(1)
    return traces.__next__, spans.__next__, findings.__next__


def stepping_clock(start_ns: int = DETERMINISTIC_START_NS, step_ns: int = 1_000_000) -> Clock:
    """A deterministic clock advancing ``step_ns`` (1 ms) on every read (thread safe)."""
    ticks = itertools.count()
    return lambda: start_ns + next(ticks) * step_ns
