"""The internal-error guard: the SDK must never hurt the host application.

Every SDK entry point runs under :func:`handle_internal_errors` (or, on the hot paths where a ``with``
block costs too much, a bare ``try``/``except`` that calls :func:`report_internal_error`). A bug in the
SDK is logged once per place it happens ("spanscope internal error; your code is unaffected") and the
application carries on. Under pytest (``"pytest" in sys.modules``), or when
``SPANSCOPE_RAISE_INTERNAL_ERRORS`` is truthy, the error is re-raised instead so bugs fail tests; set the
variable to ``0`` to get the production behaviour inside a test.

The guard never wraps the user's own code: exceptions raised by the application propagate unchanged.
Errors found on the worker thread cannot be raised there; in raise mode they are kept and re-raised by
the next :func:`spanscope.flush` on the application's thread.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar, overload

logger = logging.getLogger("spanscope")

F = TypeVar("F", bound=Callable[..., Any])

_RAISE_ENV = "SPANSCOPE_RAISE_INTERNAL_ERRORS"
_logged: set[object] = set()
_pending: list[BaseException] = []  # worker-side errors waiting to be re-raised (raise mode only)
_pending_lock = threading.Lock()


def raise_internal_errors() -> bool:
    """Whether internal errors are re-raised (tests) rather than logged and swallowed (production)."""
    raw = os.environ.get(_RAISE_ENV)
    if raw is not None and raw.strip() != "":
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return "pytest" in sys.modules


def log_once(key: object, level: int, msg: str, *args: object, exc_info: BaseException | None = None) -> None:
    """Log ``msg`` the first time ``key`` is seen; later occurrences are silent (no log floods)."""
    if key in _logged:
        return
    _logged.add(key)
    logger.log(level, msg, *args, exc_info=exc_info)


def _key(exc: BaseException) -> object:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else None
    return ("internal", type(exc), where)


def report_internal_error(exc: BaseException) -> None:
    """Log an SDK bug once per place; re-raise it in raise mode. Call from an ``except`` block."""
    if raise_internal_errors():
        raise exc
    log_once(_key(exc), logging.ERROR, "spanscope internal error; your code is unaffected", exc_info=exc)


def record_worker_error(exc: BaseException) -> None:
    """Like :func:`report_internal_error` for the worker thread: log, and keep it for the next flush."""
    if raise_internal_errors():
        with _pending_lock:
            if len(_pending) < 100:
                _pending.append(exc)
        return
    log_once(_key(exc), logging.ERROR, "spanscope internal error; your code is unaffected", exc_info=exc)


def reraise_worker_errors() -> None:
    """Raise the first error the worker kept (raise mode only); called by ``flush`` on the app thread."""
    with _pending_lock:
        if not _pending:
            return
        first = _pending[0]
        _pending.clear()
    raise first


def _after_fork_in_child() -> None:
    global _pending_lock
    _pending_lock = threading.Lock()  # the parent's worker may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Guard:
    """The context-manager half of :func:`handle_internal_errors` (stateless, so one instance is shared)."""

    __slots__ = ()

    def __enter__(self) -> _Guard:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False  # KeyboardInterrupt, SystemExit and friends are never ours to swallow
        report_internal_error(exc)
        return True


_GUARD = _Guard()


@overload
def handle_internal_errors(func: F, /) -> F: ...
@overload
def handle_internal_errors(func: None = None, /) -> _Guard: ...
def handle_internal_errors(func: F | None = None, /) -> F | _Guard:
    """Guard SDK code: as ``with handle_internal_errors():`` or as a decorator (with or without parentheses).

    A decorated function returns None when it hits an internal error (and raise mode is off).

    >>> @handle_internal_errors
    ... def configure_exporter() -> None: ...
    """
    if func is None:
        return _GUARD

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        with _GUARD:
            return func(*args, **kwargs)
        return None

    return guarded  # type: ignore[return-value]
