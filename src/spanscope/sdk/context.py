"""Carrying the current span into threads and executors.

The current span lives in a ``contextvars.ContextVar``: asyncio tasks copy the context when they are
created (so ``create_task``/``gather``/``TaskGroup`` children are children of the span that spawned them),
and ``asyncio.to_thread`` copies it too. Plain threads and executors start with an empty context: their
spans would start new traces. :func:`wrap` and :class:`ContextExecutor` fix that by running the callable in
a copy of the caller's context (the whole context, so OpenTelemetry's current span travels along).

    with spanscope.trace("batch"):
        threading.Thread(target=spanscope.wrap(work)).start()
        with spanscope.ContextExecutor(ThreadPoolExecutor(4)) as pool:
            list(pool.map(score, items))   # each call is a child of "batch"
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def wrap(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` bound to the caller's current context (span included), for a thread or an executor.

    The context is captured now, when ``wrap`` is called; each call runs in its own copy of it, so the
    wrapped function may be called from several threads at once.

    >>> threading.Thread(target=wrap(handle_request), args=(req,)).start()
    """
    ctx = contextvars.copy_context()

    @functools.wraps(fn)
    def in_context(*args: P.args, **kwargs: P.kwargs) -> R:
        return ctx.copy().run(fn, *args, **kwargs)

    return in_context


class ContextExecutor(Executor):
    """An executor that runs every submitted callable in the submitter's context (current span included),
    delegating the work to ``inner`` (a ``ThreadPoolExecutor``, or any executor running callables in this
    process: a process pool can't take a context). ``map`` goes through ``submit`` too.

    >>> pool = ContextExecutor(ThreadPoolExecutor(max_workers=4))
    >>> with spanscope.span("fan-out"):
    ...     futures = [pool.submit(fetch, url) for url in urls]
    """

    def __init__(self, inner: Executor) -> None:
        self.inner = inner

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        return self.inner.submit(contextvars.copy_context().run, fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)


def wrap_executor(executor: Executor) -> ContextExecutor:
    """``ContextExecutor(executor)``: the executor, with context propagation."""
    return executor if isinstance(executor, ContextExecutor) else ContextExecutor(executor)
