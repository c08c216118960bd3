"""One context for spanscope and OpenTelemetry spans, when ``opentelemetry`` is in use.

* **OTel → spanscope**: a spanscope span started while an OpenTelemetry span is the innermost active span
  becomes its child (same trace id, parent = the OTel span's id).
* **spanscope → OTel**: while a spanscope span is the innermost active span, OpenTelemetry sees it as the
  current span (a non-recording span with the spanscope ids and sampled flag), so OTel spans started there,
  and W3C ``traceparent`` headers injected there, continue the spanscope trace.

Nothing here runs unless ``opentelemetry.context`` has been imported by someone: the bridge is installed by
the first root span (or ``configure()``) that finds it in ``sys.modules``; this module imports OTel only
then, and ``configure(otel_bridge=False)`` keeps it out altogether. Once installed, a spanscope span start
costs one extra ContextVar read and dict lookup (~0.1 µs).

The second direction works at the level of OTel's runtime context: OTel reads the current context through
``opentelemetry.context._RUNTIME_CONTEXT.get_current()``; the bridge wraps that object, and when the
innermost span is a spanscope span it answers with the OTel context plus that span. "Innermost" is decided
by identity: every spanscope span remembers which OTel span was current when it started; if another one is
current now, an OTel span was started inside it and wins. ``attach``/``detach`` go straight through.
"""

from __future__ import annotations

from typing import Any

from spanscope.sdk.runtime import CURRENT, RUNTIME

_LOW64 = 0xFFFF_FFFF_FFFF_FFFF


class OtelBridge:
    """The spanscope side of the bridge: ``adopt`` is called by every span start while installed."""

    __slots__ = ("bridge_type", "cv", "inner", "key", "make_context")

    def __init__(self, inner: Any, key: str, bridge_type: type, make_context: Any) -> None:
        self.inner = inner
        self.key = key
        self.bridge_type = bridge_type
        self.make_context = make_context
        cv = getattr(inner, "_current_context", None)
        self.cv = cv if cv is not None and hasattr(cv, "get") and hasattr(cv, "reset") else None

    def current_otel_span(self) -> Any:
        ctx = self.cv.get() if self.cv is not None else self.inner.get_current()
        return ctx.get(self.key) if ctx else None

    def adopt(self, span: Any, parent: Any) -> bool:
        """Record which OTel span is current; if it is innermost, make it ``span``'s parent and return True."""
        o = self.current_otel_span()
        span._otel = o
        if o is None or type(o) is self.bridge_type:
            return False
        if parent is not None and o is getattr(parent, "_otel", None):
            return False  # the OTel span was already current when the spanscope parent started
        try:
            sc = o.get_span_context()
            if not sc.is_valid:
                return False
            tid, psid = sc.trace_id, sc.span_id
        except Exception:
            return False
        span._tid = tid
        span._psid = psid
        span._parent = parent
        if parent is not None and parent._tid == tid:
            span.root = parent.root
            span._sampled = parent._sampled
        else:
            span.root = span
            bound = RUNTIME.sample_bound
            span._sampled = bound is None or (tid & _LOW64) < bound
        return True


def install() -> OtelBridge | None:
    """Install the bridge (idempotent); None when OpenTelemetry can't be imported or the bridge is off."""
    current = RUNTIME.otel
    if current is False:
        return None
    if current is not None:
        return current  # type: ignore[no-any-return]
    try:
        import opentelemetry.context as otel_context_api
        from opentelemetry.context.context import Context, _RuntimeContext
        from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
        from opentelemetry.trace.propagation import _SPAN_KEY
    except Exception:
        RUNTIME.otel = False
        return None

    class SpanscopeSpan(NonRecordingSpan):
        """A spanscope span as OpenTelemetry sees it: its ids, no recording of its own."""

    def make_context(span: Any, ctx: Any) -> Any:
        flags = TraceFlags(TraceFlags.SAMPLED if span._sampled else TraceFlags.DEFAULT)
        proxy = SpanscopeSpan(SpanContext(span._tid, span._sid, is_remote=False, trace_flags=flags))
        values = dict(ctx)
        values[_SPAN_KEY] = proxy
        return Context(values)

    class BridgedRuntimeContext(_RuntimeContext):  # type: ignore[misc]
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def attach(self, context: Any) -> Any:
            return self.inner.attach(context)

        def detach(self, token: Any) -> None:
            self.inner.detach(token)

        def get_current(self) -> Any:
            ctx = self.inner.get_current()
            s = CURRENT.get()
            if s is None:
                return ctx
            try:
                if ctx.get(_SPAN_KEY) is not getattr(s, "_otel", None):
                    return ctx  # an OTel span (or an attached spanscope proxy) newer than ``s`` is current
                cached = getattr(s, "_otel_ctx", None)
                if cached is not None and cached[0] is ctx:
                    return cached[1]
                bridged = make_context(s, ctx)
                s._otel_ctx = (ctx, bridged)
                return bridged
            except Exception:
                return ctx

    inner = otel_context_api._RUNTIME_CONTEXT
    if type(inner).__name__ == "BridgedRuntimeContext":  # installed by an earlier copy of this module
        inner = inner.inner
    otel_context_api._RUNTIME_CONTEXT = BridgedRuntimeContext(inner)
    bridge = OtelBridge(inner, _SPAN_KEY, SpanscopeSpan, make_context)
    RUNTIME.otel = bridge
    return bridge


def otel_context() -> Any:
    """The current OpenTelemetry ``Context``, with the current spanscope span as its span when that is the
    innermost one: pass it as ``context=`` to an OTel tracer, or to ``opentelemetry.propagate.inject``.
    Imports OpenTelemetry (install it first); installs the bridge if it is not yet.

    >>> with spanscope.span("agent"):
    ...     with otel_tracer.start_as_current_span("tool", context=spanscope.otel_context()): ...
    """
    import opentelemetry.context as otel_context_api

    install()
    return otel_context_api.get_current()
