"""The machinery shared by the integrations: reversible method patches, and the span of one API call.

A :class:`Patch` replaces one method on a client *class* (so every client, existing or future, is covered)
and puts the original back on :meth:`Patch.undo`. If another library wrapped the method on top of ours in
the meantime, undo can't take ours out of the chain without dropping theirs: it switches ours off instead
(it then calls straight through).

A plain call runs inside ``with span(...)``. A streaming call can't: the stream outlives the call, and
its span must not stay the current span of the caller (what the caller does next is not part of the LLM
call). So the span is entered in a copy of the caller's context (its parent is the caller's current span;
the caller's context is left untouched) and ended when the stream is exhausted, fails, is closed, or is
dropped (the iterator wrapper's ``finally``). The stream object itself is kept: its item iterator is
swapped for one that feeds an accumulator, so ``isinstance`` checks and the SDKs' own helpers (which
iterate the same stream) keep working.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

from spanscope.sdk import handle_internal_errors
from spanscope.sdk import span as sdk_span

CALL_ATTR = "_spanscope_call"  # set on a stream whose span is still open


class Accumulator(Protocol):
    """Assembles a streamed response item by item; ``finish`` writes outputs and attributes on the span."""

    def add(self, item: Any) -> None: ...

    def finish(self, span: Any) -> None: ...


class ChatHooks(Protocol):
    """What an integration tells the shared wrapper about one provider's API."""

    def start(self, resource: Any, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        """The span name, request attributes and inputs of a call."""
        ...

    def record(self, span: Any, result: Any, kwargs: dict[str, Any]) -> None:
        """Write outputs and response attributes from a non-streamed result."""
        ...

    def accumulator(self, kwargs: dict[str, Any]) -> Accumulator: ...


class Switch:
    """Whether an integration's wrappers record (False after ``uninstrument``)."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True


class Patch:
    """One method replaced on one class."""

    def __init__(self, owner: type, name: str, make_wrapper: Callable[[Callable[..., Any]], Callable[..., Any]]):
        self.owner = owner
        self.name = name
        self.had_own = name in owner.__dict__
        self.original = owner.__dict__[name] if self.had_own else getattr(owner, name)
        wrapper = make_wrapper(self.original)
        wrapper.__spanscope_patch__ = True  # type: ignore[attr-defined]
        self.wrapper = wrapper
        setattr(owner, name, wrapper)

    def undo(self) -> None:
        if self.owner.__dict__.get(self.name) is not self.wrapper:
            return  # wrapped again on top of ours: leave the chain alone (the switch turns ours off)
        if self.had_own:
            setattr(self.owner, self.name, self.original)
        else:
            delattr(self.owner, self.name)


def given(value: Any) -> bool:
    """Whether a keyword argument carries a value (the SDKs use ``omit``/``NOT_GIVEN`` sentinels)."""
    return value is not None and type(value).__name__ not in ("Omit", "NotGiven")


def _start(hooks: ChatHooks, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A configured span for this call, or None when the SDK is off (the call then goes straight through)."""
    with handle_internal_errors():
        name, attributes, inputs = hooks.start(args[0] if args else None, kwargs)
        s = sdk_span(name, "llm", attributes)
        if not s.is_recording:
            return None
        s.set_inputs(inputs)
        return s
    return None


def _error_type(span: Any, exc: BaseException) -> None:
    with handle_internal_errors():
        span.set_attribute("error.type", type(exc).__qualname__)


class StreamCall:
    """The open span of a streaming call, entered in its own context; ended exactly once (a stream may be
    closed on one thread while another is still reading it)."""

    __slots__ = ("acc", "ctx", "ending", "span")

    def __init__(self, span: Any, acc: Accumulator) -> None:
        self.span = span
        self.acc = acc
        self.ending = threading.Lock()
        self.ctx = contextvars.copy_context()
        self.ctx.run(span.__enter__)

    def add(self, item: Any) -> None:
        with handle_internal_errors():
            self.acc.add(item)

    def end(self, exc: BaseException | None = None) -> None:
        if not self.ending.acquire(blocking=False):
            return  # ended already (never released), or being ended right now
        with handle_internal_errors():
            self.acc.finish(self.span)
        if exc is not None:
            _error_type(self.span, exc)
        exc_info = (None, None, None) if exc is None else (type(exc), exc, exc.__traceback__)
        self.ctx.run(self.span.__exit__, *exc_info)


def _iterate(inner: Iterator[Any], call: StreamCall) -> Iterator[Any]:
    try:
        for item in inner:
            call.add(item)
            yield item
    except GeneratorExit:
        call.end(None)  # closed or dropped before the end: what arrived so far is the output
        raise
    except BaseException as exc:
        call.end(exc)
        raise
    else:
        call.end(None)
    finally:
        close = getattr(inner, "close", None)
        if close is not None:
            close()


async def _aiterate(inner: AsyncIterator[Any], call: StreamCall) -> AsyncIterator[Any]:
    try:
        async for item in inner:
            call.add(item)
            yield item
    except GeneratorExit:
        call.end(None)
        raise
    except BaseException as exc:
        call.end(exc)
        raise
    else:
        call.end(None)
    finally:
        aclose = getattr(inner, "aclose", None)
        if aclose is not None:
            await aclose()


def hook_stream(stream: Any, call: StreamCall) -> bool:
    """Feed ``stream``'s items to ``call`` and end it with the stream. False if ``stream`` isn't one."""
    # Both SDKs' Stream/AsyncStream yield from ``self._iterator`` (an attribute, or a cached_property that
    # an instance attribute overrides). The wrapper holds the inner iterator and the call, never the stream
    # itself: it adds no reference cycle, so a dropped stream goes (and ends its span) as soon as it would.
    inner = getattr(stream, "_iterator", None)
    if inner is None:
        return False
    if hasattr(inner, "__anext__"):
        stream._iterator = _aiterate(inner, call)
    elif hasattr(inner, "__next__"):
        stream._iterator = _iterate(inner, call)
    else:
        return False
    setattr(stream, CALL_ATTR, call)
    return True


def _detached(span: Any, hooks: ChatHooks, kwargs: dict[str, Any]) -> StreamCall | None:
    with handle_internal_errors():
        return StreamCall(span, hooks.accumulator(kwargs))
    return None


def _after_stream_call(call: StreamCall, hooks: ChatHooks, result: Any) -> None:
    hooked = False
    with handle_internal_errors():
        hooked = hook_stream(result, call)
    if not hooked:
        # Not a stream after all (``with_raw_response`` returns the raw HTTP response): nothing to assemble.
        call.end(None)


def wrap_create(
    hooks: ChatHooks, switch: Switch, streaming: Callable[[dict[str, Any]], bool], *, is_async: bool
) -> Callable[..., Any]:
    """A ``make_wrapper`` for :class:`Patch`: traces a ``create`` method, streaming or not.

    ``is_async`` is explicit: the SDKs decorate their async methods with plain (sync) wrappers, so
    introspection would call them sync.
    """

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        if is_async:

            @functools.wraps(original)
            async def acreate(*args: Any, **kwargs: Any) -> Any:
                s = _start(hooks, args, kwargs) if switch.on else None
                if s is None:
                    return await original(*args, **kwargs)
                if streaming(kwargs):
                    call = _detached(s, hooks, kwargs)
                    if call is None:
                        return await original(*args, **kwargs)
                    try:
                        result = await original(*args, **kwargs)
                    except BaseException as exc:
                        call.end(exc)
                        raise
                    _after_stream_call(call, hooks, result)
                    return result
                with s:
                    try:
                        result = await original(*args, **kwargs)
                    except BaseException as exc:
                        _error_type(s, exc)
                        raise
                    with handle_internal_errors():
                        hooks.record(s, result, kwargs)
                return result

            return acreate

        @functools.wraps(original)
        def create(*args: Any, **kwargs: Any) -> Any:
            s = _start(hooks, args, kwargs) if switch.on else None
            if s is None:
                return original(*args, **kwargs)
            if streaming(kwargs):
                call = _detached(s, hooks, kwargs)
                if call is None:
                    return original(*args, **kwargs)
                try:
                    result = original(*args, **kwargs)
                except BaseException as exc:
                    call.end(exc)
                    raise
                _after_stream_call(call, hooks, result)
                return result
            with s:
                try:
                    result = original(*args, **kwargs)
                except BaseException as exc:
                    _error_type(s, exc)
                    raise
                with handle_internal_errors():
                    hooks.record(s, result, kwargs)
            return result

        return create

    return make


def wrap_close(original: Callable[..., Any]) -> Callable[..., Any]:
    """A ``make_wrapper`` for a stream class's ``close``: closing a traced stream ends its span."""
    if inspect.iscoroutinefunction(original):

        @functools.wraps(original)
        async def aclose(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await original(self, *args, **kwargs)
            finally:
                call = getattr(self, CALL_ATTR, None)
                if call is not None:
                    call.end(None)

        return aclose

    @functools.wraps(original)
    def close(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        finally:
            call = getattr(self, CALL_ATTR, None)
            if call is not None:
                call.end(None)

    return close


class _StreamManager:
    """Stands in for a ``messages.stream(...)``-style manager: the span starts when the manager is entered
    (that is when the request is sent) and follows the stream it yields."""

    def __init__(self, manager: Any, start: Callable[[], StreamCall | None], raw_attr: str) -> None:
        self._manager = manager
        self._start = start
        self._raw_attr = raw_attr

    def __getattr__(self, name: str) -> Any:
        if name == "_manager":  # not set yet (half-built, or copied): don't recurse
            raise AttributeError(name)
        return getattr(self._manager, name)

    def _hook(self, call: StreamCall | None, stream: Any) -> None:
        if call is None:
            return
        hooked = False
        with handle_internal_errors():
            hooked = hook_stream(getattr(stream, self._raw_attr, None), call)
        if not hooked:
            call.end(None)

    def __enter__(self) -> Any:
        call = self._start()
        try:
            stream = self._manager.__enter__()
        except BaseException as exc:
            if call is not None:
                call.end(exc)
            raise
        self._hook(call, stream)
        return stream

    def __exit__(self, *exc_info: Any) -> Any:
        return self._manager.__exit__(*exc_info)

    async def __aenter__(self) -> Any:
        call = self._start()
        try:
            stream = await self._manager.__aenter__()
        except BaseException as exc:
            if call is not None:
                call.end(exc)
            raise
        self._hook(call, stream)
        return stream

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self._manager.__aexit__(*exc_info)


def wrap_stream_method(hooks: ChatHooks, switch: Switch, raw_attr: str = "_raw_stream") -> Callable[..., Any]:
    """A ``make_wrapper`` for a method returning a stream manager (``with client.messages.stream(...) as s``)."""

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def stream(*args: Any, **kwargs: Any) -> Any:
            manager = original(*args, **kwargs)
            if not switch.on:
                return manager

            def start() -> StreamCall | None:
                s = _start(hooks, args, kwargs)
                return None if s is None else _detached(s, hooks, kwargs)

            return _StreamManager(manager, start, raw_attr)

        return stream

    return make
