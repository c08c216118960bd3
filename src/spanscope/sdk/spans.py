"""Span handles: what ``span()`` and ``trace()`` return and ``current_span()`` finds.

A :class:`Span` is one ``__slots__`` object that is at once the context manager (sync and async), the
handle the user annotates and, once ended, the record queued for the worker. Starting one costs a
ContextVar set, two id draws and a clock read; ending it costs a clock read and a queue append. Values are
kept by reference: nothing is copied or encoded on the application thread.

Trace-level facts (tags, metadata, session, user) live on the root span of the trace; every span of the
trace reaches them through ``root``. When the root ends they are queued as a ``TraceInfo``; a tag set after
that is queued as a further ``TraceInfo`` (the server merges them key by key).

A span object is single use: enter it once.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from spanscope.model.conventions import EXCEPTION_EVENT, FINDING_SOURCES, SPAN_KINDS, STATUSES
from spanscope.model.records import Finding, TraceInfo
from spanscope.sdk.convert import ExceptionInfo
from spanscope.sdk.guard import report_internal_error
from spanscope.sdk.runtime import CURRENT, RUNTIME

_KINDS = frozenset(SPAN_KINDS)
_SOURCES = frozenset(FINDING_SOURCES)


class Span:
    """A live span. Use it through ``with span(...) as s`` or ``current_span()``.

    Setters called after the span ended are ignored, except the trace-level ``set_tag``/``set_tags`` and
    ``add_finding``, which still reach the server.
    """

    __slots__ = (
        "attributes", "end_time_ns", "events", "inputs", "kind", "metadata", "name", "outputs",
        "parent_span_id", "root", "session_id", "span_id", "start_time_ns", "status", "status_message",
        "tags", "trace_id", "user_id", "_parent", "_token",
    )  # fmt: skip

    is_recording = True
    _always_send_trace_info = False

    def __init__(self, name: str, kind: str = "other", attributes: dict[str, Any] | None = None) -> None:
        self.name = name
        self.kind = kind if kind in _KINDS else "other"
        self.attributes = dict(attributes) if attributes else None
        self.trace_id: str | None = None
        self.span_id: str | None = None
        self.parent_span_id: str | None = None
        self.root: Span | None = None
        self.start_time_ns: int | None = None
        self.end_time_ns: int | None = None
        self.status: str | None = None
        self.status_message: Any = None
        self.inputs: Any = None
        self.outputs: Any = None
        self.events: list[tuple[str, int, Any]] | None = None
        self.tags: dict[str, Any] | None = None
        self.metadata: dict[str, Any] | None = None
        self.session_id: Any = None
        self.user_id: Any = None
        self._parent: Span | None = None
        self._token: Any = None

    def __repr__(self) -> str:
        return f"<spanscope span {self.name!r} trace={self.trace_id} span={self.span_id}>"

    # --- lifecycle --------------------------------------------------------------------------------
    def _start(self, activate: bool) -> None:
        rt = RUNTIME
        parent = CURRENT.get()
        if parent is None:
            self.trace_id = rt.new_trace_id()
            self.root = self
        else:
            self.trace_id = parent.trace_id
            self.parent_span_id = parent.span_id
            self.root = parent.root
            self._parent = parent
            if self.tags or self.metadata or self.session_id is not None or self.user_id is not None:
                # trace() nested in a span (or a tag set before entering): it belongs to the enclosing trace.
                tags, metadata, self.tags, self.metadata = self.tags, self.metadata, None, None
                session_id, user_id, self.session_id, self.user_id = self.session_id, self.user_id, None, None
                self._update_trace(tags, metadata, session_id, user_id)
        self.span_id = rt.new_span_id()
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
        if processor is None:
            return
        processor.span_ended()
        processor.submit(self)
        if self.root is self and (
            self._always_send_trace_info or self.tags or self.metadata
            or self.session_id is not None or self.user_id is not None
        ):  # fmt: skip
            processor.submit(
                TraceInfo(
                    trace_id=self.trace_id,  # type: ignore[arg-type]
                    tags=self.tags or {},
                    metadata=self.metadata or {},
                    session_id=self.session_id,
                    user_id=self.user_id,
                )
            )

    def _deactivate(self) -> None:
        token, self._token = self._token, None
        if token is None:
            self._parent = None
            return
        try:
            CURRENT.reset(token)
        except (ValueError, RuntimeError):
            # Exited in another context than it was entered in (or twice): restore by hand.
            if CURRENT.get() is self:
                CURRENT.set(self._parent)
        self._parent = None

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
                self._end(exc, tb)
            finally:
                self._deactivate()  # whatever happened, don't leave this span current
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
                if self.attributes is None:
                    self.attributes = {key: value}
                else:
                    self.attributes[key] = value
        except Exception as exc:
            report_internal_error(exc)

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        try:
            if self.end_time_ns is None and attributes:
                if self.attributes is None:
                    self.attributes = dict(attributes)
                else:
                    self.attributes.update(attributes)
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
        self._finding(self.span_id, name, value, source, rationale, metadata)

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
            if processor is not None and root.trace_id is not None:
                info = TraceInfo(
                    trace_id=root.trace_id,
                    tags=tags or {},
                    metadata=metadata or {},
                    session_id=session_id,
                    user_id=user_id,
                )
                processor.submit(info)
            return
        if tags:
            if root.tags is None:
                root.tags = tags
            else:
                root.tags.update(tags)
        if metadata:
            if root.metadata is None:
                root.metadata = metadata
            else:
                root.metadata.update(metadata)
        if session_id is not None:
            root.session_id = session_id
        if user_id is not None:
            root.user_id = user_id

    def _finding(
        self, span_id: str | None, name: str, value: Any, source: str, rationale: str | None,
        metadata: dict[str, Any] | None,
    ) -> None:  # fmt: skip
        try:
            processor = RUNTIME.processor
            if processor is None or self.trace_id is None:
                return
            finding = Finding(
                trace_id=self.trace_id,
                span_id=span_id,
                name=name,
                value=value,
                source=source if source in _SOURCES else "code",  # type: ignore[arg-type]
                rationale=rationale,
                time_ns=RUNTIME.clock(),
                metadata=dict(metadata) if metadata else {},
                finding_id=RUNTIME.new_finding_id(),
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
        root._finding(None, name, value, source, rationale, metadata)


class NoOpSpan:
    """What ``span()``/``trace()`` return while the SDK is off: every method does nothing, ids are None."""

    __slots__ = ()

    is_recording = False
    trace_id = None
    span_id = None
    parent_span_id = None
    name = None
    kind = "other"

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
        t.tags = dict(tags) if tags else {}
        t.metadata = dict(metadata) if metadata else {}
        t.session_id = session_id
        t.user_id = user_id
        return t
    except Exception as exc:
        report_internal_error(exc)
        return NOOP_SPAN
