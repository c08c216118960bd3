"""``@observe``: a span around every call of a function, coroutine function, generator or async generator.

Inputs are the call's arguments bound to the signature (defaults applied, ``self``/``cls`` left out); the
binding itself happens on the worker thread, the application only keeps the argument tuple. Outputs are
the return value, or for generators the list of yielded items; a generator's span covers the whole
iteration (it starts at the first ``next()`` and ends on exhaustion, ``close()`` or an exception), and the
generator body runs with its span as the current span while the consumer's code does not.

Whether the SDK is on is checked per call, so functions decorated at import time, before ``configure()``,
are traced once it runs; while it is off the wrapper just calls through.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, TypeVar, overload

from spanscope.model.conventions import SPAN_KINDS
from spanscope.sdk.convert import DeferredInputs, SignatureCache
from spanscope.sdk.guard import report_internal_error
from spanscope.sdk.runtime import CURRENT, RUNTIME
from spanscope.sdk.spans import Span

F = TypeVar("F", bound=Callable[..., Any])


@overload
def observe(name: F, /) -> F: ...
@overload
def observe(
    name: str | None = None, kind: str = "other", *, capture_inputs: bool = True, capture_outputs: bool = True
) -> Callable[[F], F]: ...
def observe(name: Any = None, kind: str = "other", *, capture_inputs: bool = True, capture_outputs: bool = True) -> Any:
    """Trace every call of the decorated function; use as ``@observe`` or ``@observe("name", kind="tool")``.

    >>> @observe(kind="retriever")
    ... def search(query: str, k: int = 3) -> list[str]: ...

    The span is named after the function's ``__qualname__`` unless ``name`` is given. ``capture_inputs`` /
    ``capture_outputs`` False keep this function's arguments / return value out of its span; the global
    switches (``configure(capture_inputs=False)``…) win over True here.
    """
    if callable(name) or isinstance(name, classmethod | staticmethod):
        return _decorate(name, None, kind, capture_inputs, capture_outputs)

    def decorator(func: F) -> F:
        return _decorate(func, name, kind, capture_inputs, capture_outputs)

    return decorator


def _decorate(func: Any, name: str | None, kind: str, capture_inputs: bool, capture_outputs: bool) -> Any:
    if isinstance(func, classmethod | staticmethod):
        wrapped = _decorate(func.__func__, name, kind, capture_inputs, capture_outputs)
        return type(func)(wrapped)
    span_name = name or getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)
    span_kind = kind if kind in SPAN_KINDS else "other"
    signature = SignatureCache(func)

    def begin(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Span | None:
        try:
            s = Span(span_name, span_kind)
            if capture_inputs:
                s.inputs = DeferredInputs(signature, args, kwargs)
            return s
        except Exception as exc:
            report_internal_error(exc)
            return None

    if inspect.isasyncgenfunction(func):

        @functools.wraps(func)
        async def async_gen_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            inner = func(*args, **kwargs)
            s = begin(args, kwargs) if RUNTIME.processor is not None else None
            # Async generators have no ``yield from``: forward asend/athrow/aclose by hand, so that this
            # wrapper stays an async generator function (frameworks check ``isasyncgenfunction``).
            driver = _AsyncGenDriver(inner, s, capture_outputs)
            to_send: Any = None
            while True:
                try:
                    item = await driver.step(to_send)
                except StopAsyncIteration:
                    return
                try:
                    to_send = yield item
                except GeneratorExit:
                    await driver.close()
                    raise
                except BaseException as exc:
                    to_send = None
                    driver.pending = exc

        return async_gen_wrapper

    if inspect.isgeneratorfunction(func):

        @functools.wraps(func)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            inner = func(*args, **kwargs)
            if RUNTIME.processor is None:
                return (yield from inner)
            s = begin(args, kwargs)
            if s is None:
                return (yield from inner)
            return (yield from _traced_gen(inner, s, capture_outputs))

        return gen_wrapper

    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if RUNTIME.processor is None:
                return await func(*args, **kwargs)
            s = begin(args, kwargs)
            if s is None:
                return await func(*args, **kwargs)
            with s:
                result = await func(*args, **kwargs)
                if capture_outputs and s.outputs is None:
                    s.outputs = result
            return result

        return async_wrapper

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if RUNTIME.processor is None:
            return func(*args, **kwargs)
        s = begin(args, kwargs)
        if s is None:
            return func(*args, **kwargs)
        with s:
            result = func(*args, **kwargs)
            if capture_outputs and s.outputs is None:
                s.outputs = result
        return result

    return wrapper


def _start(s: Span) -> bool:
    try:
        s._start(False)
        return True
    except Exception as exc:
        report_internal_error(exc)
        return False


def _finish(s: Span, items: list[Any] | None, exc: BaseException | None) -> None:
    try:
        if items is not None and s.outputs is None:
            s.outputs = items
        try:
            s._end(exc, exc.__traceback__ if exc is not None else None)
        finally:
            s._deactivate()
    except Exception as internal:
        report_internal_error(internal)


def _traced_gen(inner: Generator[Any, Any, Any], s: Span, capture: bool) -> Generator[Any, Any, Any]:
    """Drive ``inner`` with ``s`` as the current span while (and only while) its body runs."""
    items: list[Any] | None = [] if capture else None
    _start(s)
    to_send: Any = None
    to_throw: BaseException | None = None
    try:
        while True:
            token = CURRENT.set(s)
            try:
                if to_throw is None:
                    item = inner.send(to_send)
                else:
                    thrown, to_throw = to_throw, None
                    item = inner.throw(thrown)
            except StopIteration as stop:
                result = stop.value
                break
            finally:
                CURRENT.reset(token)
            if items is not None:
                items.append(item)
            try:
                to_send = yield item
            except GeneratorExit:
                token = CURRENT.set(s)
                try:
                    inner.close()
                finally:
                    CURRENT.reset(token)
                raise
            except BaseException as exc:
                to_send, to_throw = None, exc
    except BaseException as exc:
        _finish(s, items, exc)  # GeneratorExit (close) ends the span normally
        raise
    _finish(s, items, None)
    return result


class _AsyncGenDriver:
    """Steps an async generator with its span current while (and only while) the generator body runs."""

    __slots__ = ("inner", "items", "pending", "span")

    def __init__(self, inner: AsyncGenerator[Any, Any], s: Span | None, capture: bool) -> None:
        self.inner = inner
        self.span = s if s is not None and _start(s) else None
        self.items: list[Any] | None = [] if capture and self.span is not None else None
        self.pending: BaseException | None = None

    async def step(self, to_send: Any) -> Any:
        s = self.span
        token = CURRENT.set(s) if s is not None else None
        try:
            if self.pending is None:
                item = await self.inner.asend(to_send)
            else:
                thrown, self.pending = self.pending, None
                item = await self.inner.athrow(thrown)
        except StopAsyncIteration:
            if s is not None:
                _finish(s, self.items, None)
            raise
        except BaseException as exc:
            if s is not None:
                _finish(s, self.items, exc)
            raise
        finally:
            if token is not None:
                CURRENT.reset(token)
        if self.items is not None:
            self.items.append(item)
        return item

    async def close(self) -> None:
        s = self.span
        token = CURRENT.set(s) if s is not None else None
        try:
            await self.inner.aclose()
        except BaseException as exc:
            if s is not None:
                _finish(s, self.items, exc)
            raise
        finally:
            if token is not None:
                CURRENT.reset(token)
        if s is not None:
            _finish(s, self.items, None)
