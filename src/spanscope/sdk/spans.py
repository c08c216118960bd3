"""Span handles: what ``span()`` and ``trace()`` return and ``current_span()`` finds.

A :class:`Span` is one ``__slots__`` object that is at once the context manager (sync and async), the
handle the user annotates and, once ended, the record queued for the worker. Starting one costs a
ContextVar set, one or two ``getrandbits`` ids and a clock read; ending it costs a clock read and a queue
append. Values are kept by reference (the attributes dict passed to ``span()`` included, copied only when a
setter changes it): nothing is copied, validated or encoded on the application thread. Ids are ints until
someone reads ``trace_id``/``span_id`` (hex strings, formatted on demand).

Trace-level facts (tags, metadata, session, user) live on the trace's local root span; every span of the
trace reaches them through ``root``. The worker turns them into a ``TraceInfo`` when the root is exported;
a tag set after the root ended is queued as a further ``TraceInfo`` (the server merges them key by key).

Head sampling happens when a root starts (deterministic on the trace id, see ``sampling.py``); the
children of a root that was not sampled inherit the decision and are counted as ``sampled_out`` when they
end, never queued.

A span object is single use: enter it once.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from spanscope.model.conventions import EXCEPTION_EVENT, FINDING_SOURCES, STATUSES
from spanscope.model.records import Finding, TraceInfo
from spanscope.sdk.convert import ExceptionInfo
from spanscope.sdk.guard import report_internal_error
from spanscope.sdk.runtime import CURRENT, RUNTIME

_SOURCES = frozenset(FINDING_SOURCES)
_LOW64 = 0xFFFF_FFFF_FFFF_FFFF
_modules = sys.modules


class TraceData:
    """Trace-level facts kept on the root span until it is exported."""

    __slots__ = ("metadata", "session_id", "tags", "user_id")

    def __init__(
        self, tags: dict[str, Any] | None = None, metadata: dict[str, Any] | None = None,
        session_id: Any = None, user_id: Any = None,
    ) -> None:  # fmt: skip
        self.tags = tags
        self.metadata = metadata
        self.session_id = session_id
        self.user_id = user_id

    def merge(self, tags: Any, metadata: Any, session_id: Any, user_id: Any) -> None:
        if tags:
            if self.tags is None:
                self.tags = dict(tags)
            else:
                self.tags.update(tags)
        if metadata:
            if self.metadata is None:
                self.metadata = dict(metadata)
            else:
                self.metadata.update(metadata)
        if session_id is not None:
            self.session_id = session_id
        if user_id is not None:
            self.user_id = user_id


class Span:
    """A live span. Use it through ``with span(...) as s`` or ``current_span()``.

    Setters called after the span ended are ignored, except the trace-level ``set_tag``/``set_tags`` and
    ``add_finding``, which still reach the server.
    """

    __slots__ = (
        "attributes", "end_time_ns", "events", "inputs", "kind", "name", "outputs", "root", "start_time_ns",
        "status", "status_message", "_own_attrs", "_parent", "_psid", "_sampled", "_sid", "_tid", "_token",
        "_trace", "_otel", "_otel_ctx",
    )  # fmt: skip

    _always_send_trace_info = False

    def __init__(self, name: str, kind: str = "other", attributes: dict[str, Any] | None = None) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes or None  # the caller's dict, by reference: copied on the first change
        self._own_attrs = False
        self.inputs: Any = None
        self.outputs: Any = None
        self.events: list[tuple[str, int, Any]] | None = None
        self.status: str | None = None
        self.status_message: Any = None
        self.start_time_ns: int | None = None
        self.end_time_ns: int | None = None
        self.root: Span | None = None
        self._parent: Span | None = None
        self._tid = 0
        self._sid = 0
        self._psid = 0
        self._sampled = True
        self._token: Any = None
        self._trace: TraceData | None = None

    def __repr__(self) -> str:
        return f"<spanscope span {self.name!r} trace={self.trace_id} span={self.span_id}>"

    # --- ids (formatted on demand) ------------------------------------------------------------------
    @property
    def trace_id(self) -> str | None:
        return f"{self._tid:032x}" if self._tid else None

    @property
    def span_id(self) -> str | None:
        return f"{self._sid:016x}" if self._sid else None

    @property
    def parent_span_id(self) -> str | None:
        return f"{self._psid:016x}" if self._psid else None

    @property
    def is_recording(self) -> bool:
        """False for a span whose trace was not sampled: its data is never sent."""
        return self._sampled

    # --- trace-level views (read-only; set them with set_tag, set_metadata, trace(...)) ---------------
    @property
    def tags(self) -> dict[str, Any] | None:
        data = (self.root or self)._trace
        return data.tags if data is not None else None

    @property
    def metadata(self) -> dict[str, Any] | None:
        data = (self.root or self)._trace
        return data.metadata if data is not None else None

    @property
    def session_id(self) -> Any:
        data = (self.root or self)._trace
        return data.session_id if data is not None else None

    @property
    def user_id(self) -> Any:
        data = (self.root or self)._trace
        return data.user_id if data is not None else None

    # --- lifecycle --------------------------------------------------------------------------------
    def _start(self, activate: bool) -> None:
        rt = RUNTIME
        parent = CURRENT.get()
        otel = rt.otel
        if otel is None and parent is None and "opentelemetry.context" in _modules:
            otel = _install_otel_bridge()
        if otel and otel.adopt(self, parent):
            pass  # an OpenTelemetry span is the innermost: it is the parent (ids set by adopt)
        elif parent is None:
            tid = self._tid = rt.new_trace_id()
            self.root = self
            bound = rt.sample_bound
            if bound is not None:
                self._sampled = (tid & _LOW64) < bound
        else:
            self._tid = parent._tid
            self._psid = parent._sid
            self.root = parent.root
            self._parent = parent
            self._sampled = parent._sampled
        if self._trace is not None and self.root is not self:
            # trace() nested in a span: its tags etc. belong to the enclosing trace.
            data, self._trace = self._trace, None
            if data.tags or data.metadata or data.session_id is not None or data.user_id is not None:
                self._update_trace(data.tags, data.metadata, data.session_id, data.user_id)
        self._sid = rt.new_span_id()
        self.start_time_ns = rt.clock()
        processor = rt.processor
        if processor is not None:
            processor.span_started()
        if activate:
            self._token = CURRENT.set(self)

    def _end(self, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.end_time_ns is not None or self.start_time_ns is None:
            return
        rt = RUNTIME
        end = rt.clock()
        if exc is not None and not isinstance(exc, GeneratorExit):
            info = ExceptionInfo(exc, tb)
            self.status = "ERROR"
            self.status_message = info
            event = (EXCEPTION_EVENT, end, info)
            if self.events is None:
                self.events = [event]
            else:
                self.events.append(event)
        elif self.status is None:
            self.status = "OK"
        self.end_time_ns = end
        processor = rt.processor
        if processor is not None:
            processor.submit_span(self)

    def _deactivate(self) -> None:
        token = self._token
        if token is None:
            return
        self._token = None
        try:
            CURRENT.reset(token)
        except (ValueError, RuntimeError):
            # Exited in another context than it was entered in (or twice): restore by hand.
            if CURRENT.get() is self:
                CURRENT.set(self._parent)

    def __enter__(self) -> Span:
        try:
            self._start(True)
        except Exception as exc:
            report_internal_error(exc)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        try:
            try:
                if exc is None and self.end_time_ns is None and self.start_time_ns is not None:
                    # The common case, inlined (``_end`` without an exception): saves two calls per span.
                    rt = RUNTIME
                    end = rt.clock()
                    if self.status is None:
                        self.status = "OK"
                    self.end_time_ns = end
                    processor = rt.processor
                    if processor is not None:
                        # processor.submit_span(self), inlined: the one hand-off per span.
                        processor._end_next()
                        queue = processor._queue
                        n = len(queue)
                        if not self._sampled or processor._closed or n >= processor.max_queue_size:
                            processor.count_drop(self)
                        else:
                            queue.append(self)
                            if n >= processor._wake_at and not processor._woken:
                                processor.wake()
                else:
                    self._end(exc, tb)
            finally:
                token = self._token  # whatever happened, don't leave this span current (``_deactivate``)
                if token is not None:
                    self._token = None
                    try:
                        CURRENT.reset(token)
                    except (ValueError, RuntimeError):
                        if CURRENT.get() is self:
                            CURRENT.set(self._parent)
        except Exception as internal:
            report_internal_error(internal)
        return False  # never swallow the user's exception

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return self.__exit__(exc_type, exc, tb)

    # --- span data --------------------------------------------------------------------------------
    def set_inputs(self, inputs: Any) -> None:
        if self.end_time_ns is None:
            self.inputs = inputs

    def set_outputs(self, outputs: Any) -> None:
        if self.end_time_ns is None:
            self.outputs = outputs

    def set_attribute(self, key: str, value: Any) -> None:
        try:
            if self.end_time_ns is None:
                attrs = self.attributes
                if attrs is None:
                    self.attributes = {key: value}
                    self._own_attrs = True
                elif self._own_attrs:
                    attrs[key] = value
                else:
                    self.attributes = {**attrs, key: value}
                    self._own_attrs = True
        except Exception as exc:
            report_internal_error(exc)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        try:
            if self.end_time_ns is None and attributes:
                attrs = self.attributes
                if attrs is None or not self._own_attrs:
                    self.attributes = {**attrs, **attributes} if attrs else dict(attributes)
                    self._own_attrs = True
                else:
                    attrs.update(attributes)
        except Exception as exc:
            report_internal_error(exc)

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        try:
            if self.end_time_ns is None:
                event = (name, RUNTIME.clock(), dict(attributes) if attributes else None)
                if self.events is None:
                    self.events = [event]
                else:
                    self.events.append(event)
        except Exception as exc:
            report_internal_error(exc)

    def set_status(self, status: str, message: str | None = None) -> None:
        """Set ``OK``, ``ERROR`` or ``UNSET`` (anything else is ignored); an exception leaving the span
        still marks it ``ERROR``."""
        try:
            value = str(status).upper()
            if value in STATUSES and self.end_time_ns is None:
                self.status = value
                self.status_message = None if message is None else str(message)
        except Exception as exc:
            report_internal_error(exc)

    def add_finding(
        self, name: str, value: Any, source: str = "code", rationale: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Record a finding (score, label, feedback) on this span."""
        self._finding(self._sid, name, value, source, rationale, metadata)

    # --- trace data -------------------------------------------------------------------------------
    def set_tag(self, key: str, value: Any) -> None:
        """Tag this span's trace (tags are trace-level: str, int, float or bool values)."""
        try:
            self._update_trace({key: value}, None, None, None)
        except Exception as exc:
            report_internal_error(exc)

    def set_tags(self, tags: dict[str, Any]) -> None:
        try:
            if tags:
                self._update_trace(dict(tags), None, None, None)
        except Exception as exc:
            report_internal_error(exc)

    def _update_trace(
        self, tags: dict[str, Any] | None, metadata: dict[str, Any] | None, session_id: Any, user_id: Any
    ) -> None:
        root = self.root or self
        if root.end_time_ns is not None:
            # The trace info already left with the root span: send the change on its own.
            processor = RUNTIME.processor
            if processor is not None and root._tid:
                info = TraceInfo(
                    trace_id=f"{root._tid:032x}",
                    tags=tags or {},
                    metadata=metadata or {},
                    session_id=session_id,
                    user_id=user_id,
                )
                if root._sampled:
                    processor.submit(info)
                else:
                    processor.count_sampled_out()
            return
        data = root._trace
        if data is None:
            root._trace = TraceData(
                dict(tags) if tags else None, dict(metadata) if metadata else None, session_id, user_id
            )
        else:
            data.merge(tags, metadata, session_id, user_id)

    def _finding(
        self, span_id: int, name: str, value: Any, source: str, rationale: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        try:
            processor = RUNTIME.processor
            if processor is None or not self._tid:
                return
            if not self._sampled:
                processor.count_sampled_out()
                return
            finding = Finding(
                trace_id=f"{self._tid:032x}",
                span_id=f"{span_id:016x}" if span_id else None,
                name=name,
                value=value,
                source=source if source in _SOURCES else "code",  # type: ignore[arg-type]
                rationale=rationale,
                time_ns=RUNTIME.clock(),
                metadata=dict(metadata) if metadata else {},
                finding_id=f"{RUNTIME.new_finding_id():032x}",
            )
            processor.submit(finding)
        except Exception as exc:
            report_internal_error(exc)


class TraceSpan(Span):
    """The handle ``trace()`` yields: a span plus trace-level metadata and trace-level findings."""

    __slots__ = ()
    _always_send_trace_info = True

    def set_metadata(self, key: str, value: Any) -> None:
        try:
            self._update_trace(None, {key: value}, None, None)
        except Exception as exc:
            report_internal_error(exc)

    def add_finding(
        self, name: str, value: Any, source: str = "code", rationale: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Record a finding on the whole trace (``span_id`` None)."""
        root = self.root or self
        root._finding(0, name, value, source, rationale, metadata)


class NoOpSpan:
    """What ``span()``/``trace()`` return while the SDK is off: every method does nothing, ids are None."""

    __slots__ = ()

    is_recording = False
    trace_id = None
    span_id = None
    parent_span_id = None
    name = None
    kind = "other"
    tags = metadata = session_id = user_id = None

    def __repr__(self) -> str:
        return "<spanscope no-op span>"

    def __enter__(self) -> NoOpSpan:
        return self

    def __exit__(self, *exc_info: object) -> bool:
        return False

    async def __aenter__(self) -> NoOpSpan:
        return self

    async def __aexit__(self, *exc_info: object) -> bool:
        return False

    def _noop(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_inputs = set_outputs = set_attribute = set_attributes = add_event = set_status = _noop
    add_finding = set_tag = set_tags = set_metadata = _noop


NOOP_SPAN = NoOpSpan()


def _install_otel_bridge() -> Any:
    from spanscope.sdk import otel_bridge

    return otel_bridge.install()


def span(name: str, kind: str = "other", attributes: dict[str, Any] | None = None) -> Span | NoOpSpan:
    """A span, as a context manager (``with`` or ``async with``). Outside any span it starts a new trace.

    >>> with span("db.query", kind="db") as s:
    ...     s.set_attribute("db.rows", 3)
    """
    if RUNTIME.processor is None:
        return NOOP_SPAN
    try:
        return Span(name, kind, attributes)
    except Exception as exc:
        report_internal_error(exc)
        return NOOP_SPAN


def trace(
    name: str,
    tags: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    session_id: str | None = None,
    user_id: str | None = None,
    kind: str = "other",
) -> TraceSpan | NoOpSpan:
    """Open the root span of a new trace, with trace-level tags, metadata, session and user.

    Called while another span is active, it opens a child span instead and applies the tags, metadata,
    session and user to the enclosing trace (its ``add_finding`` then scores that trace).

    >>> with trace("chatbot.turn", tags={"channel": "web"}, user_id="u1") as t:
    ...     t.add_finding("helpful", True, source="human")
    """
    if RUNTIME.processor is None:
        return NOOP_SPAN
    try:
        t = TraceSpan(name, kind)
        t._trace = TraceData(dict(tags) if tags else None, dict(metadata) if metadata else None, session_id, user_id)
        return t
    except Exception as exc:
        report_internal_error(exc)
        return NOOP_SPAN
