"""OTLP/HTTP JSON export: send spanscope's spans to any OpenTelemetry collector or backend.

:class:`OtlpJsonExporter` implements the ``SpanExporter`` protocol. Each batch becomes one
``ExportTraceServiceRequest`` in the OTLP JSON encoding (``resourceSpans`` → ``scopeSpans`` → ``spans``;
trace and span ids as lowercase hex, times as decimal strings, typed ``AnyValue`` attributes, enum values
as integers), gzipped and POSTed with the standard library's ``http.client``.

How spanscope's model maps onto OTLP:

- span ``kind`` → ``spanscope.span.kind`` (and ``openinference.span.kind`` where OpenInference has the
  kind), OTel kind ``CLIENT`` for ``llm``/``embedding``/``db``/``http`` and ``INTERNAL`` otherwise;
- ``inputs``/``outputs`` → ``input.value``/``output.value`` (JSON text, ``*.mime_type``
  ``application/json``; a plain string is sent as is with ``text/plain``), as OpenInference does;
- status ``OK``/``ERROR``/``UNSET`` → status code 1/2/0 with the message;
- trace facts (``TraceInfo``) → attributes of the root span: ``session.id``, ``user.id``,
  ``spanscope.tag.<key>``, ``spanscope.metadata.<key>``;
- findings → span events ``gen_ai.evaluation.result`` with ``gen_ai.evaluation.name``,
  ``gen_ai.evaluation.score.value`` (numbers; booleans as 1/0) and/or ``gen_ai.evaluation.score.label``
  (strings and booleans), ``gen_ai.evaluation.explanation`` (the rationale).

OTLP has no way to amend a span once sent, and records reach the exporter in batches, so:

- a finding whose span is not in the batch waits (bounded) for it; if the span already left, or a flush
  is waiting, or it waited ``pending_timeout`` seconds, the finding is sent on a zero-length child span
  ``spanscope.finding`` of its target instead;
- trace facts that arrive after their root span left re-send that root span (kept for the last
  ``ROOT_CACHE`` traces) with the merged attributes; backends keep one span per id (spanscope: last write
  wins). Facts for a root no longer kept are counted as rejected.

Delivery: retries with exponential backoff and jitter on connection errors, 429 and 5xx (honouring
``Retry-After``), never past the waiting flush's deadline; other statuses fail the batch at once. An OTLP
``partialSuccess.rejectedSpans`` counts as rejected. ``export`` never raises. A batch holding only findings
that wait for their spans sends nothing and reports success (the findings leave with a later batch).
"""

from __future__ import annotations

import gzip
import http.client
import logging
import math
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import msgspec

from spanscope.model.records import Event, Finding, Span, TraceInfo
from spanscope.sdk.convert import enc_hook
from spanscope.sdk.exporters import ExportBatch
from spanscope.sdk.guard import log_once
from spanscope.sdk.transport import KeepAlivePoster

__all__ = ["OTLP_TRACES_PATH", "OtlpJsonExporter"]

OTLP_TRACES_PATH = "/v1/traces"
ROOT_CACHE = 256  # root spans kept to re-send when their trace facts arrive late
SENT_SPANS = 16_384  # ids of spans already sent, to route late findings at once
MAX_PENDING = 10_000  # findings waiting for their span

SPAN_KIND_INTERNAL = 1
SPAN_KIND_CLIENT = 3
_CLIENT_KINDS = frozenset({"llm", "embedding", "db", "http"})
_STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}
_OPENINFERENCE_KINDS = {
    "llm": "LLM", "embedding": "EMBEDDING", "retriever": "RETRIEVER", "tool": "TOOL", "chain": "CHAIN",
    "agent": "AGENT", "guardrail": "GUARDRAIL", "evaluator": "EVALUATOR",
}  # fmt: skip
_INT64 = (-(2**63), 2**63 - 1)

EVALUATION_EVENT = "gen_ai.evaluation.result"

_encoder = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")


# --- values ---------------------------------------------------------------------------------------
def any_value(value: Any) -> dict[str, Any]:
    """A Python value as an OTLP ``AnyValue`` in the JSON encoding (int64 as a string, as proto3 JSON has it)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        if _INT64[0] <= value <= _INT64[1]:
            return {"intValue": str(value)}
        return {"stringValue": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"doubleValue": value}
        return {"doubleValue": "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)}}
    if value is None:
        return {}
    return {"stringValue": str(value)}


def key_values(attributes: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": str(k), "value": any_value(v)} for k, v in attributes.items()]


def _json_text(value: Any) -> str:
    return _encoder.encode(value).decode()


def _payload_attributes(prefix: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {f"{prefix}.value": value, f"{prefix}.mime_type": "text/plain"}
    return {f"{prefix}.value": _json_text(value), f"{prefix}.mime_type": "application/json"}


def trace_attributes(info: TraceInfo) -> dict[str, Any]:
    """The root-span attributes carrying a trace's tags, metadata, session and user."""
    out: dict[str, Any] = {}
    if info.session_id is not None:
        out["session.id"] = info.session_id
    if info.user_id is not None:
        out["user.id"] = info.user_id
    for key, value in info.tags.items():
        out[f"spanscope.tag.{key}"] = value
    for key, value in info.metadata.items():
        scalar = isinstance(value, str | int | float | bool)
        out[f"spanscope.metadata.{key}"] = value if scalar else _json_text(value)
    return out


def evaluation_event(finding: Finding, default_time_ns: int) -> dict[str, Any]:
    """A finding as the OpenTelemetry event ``gen_ai.evaluation.result``."""
    attributes: dict[str, Any] = {"gen_ai.evaluation.name": finding.name}
    value = finding.value
    if isinstance(value, bool):
        attributes["gen_ai.evaluation.score.value"] = 1.0 if value else 0.0
        attributes["gen_ai.evaluation.score.label"] = "true" if value else "false"
    elif isinstance(value, int | float):
        attributes["gen_ai.evaluation.score.value"] = float(value)
    else:
        attributes["gen_ai.evaluation.score.label"] = str(value)
    if finding.rationale:
        attributes["gen_ai.evaluation.explanation"] = finding.rationale
    attributes["spanscope.finding.source"] = finding.source
    if finding.finding_id:
        attributes["spanscope.finding.id"] = finding.finding_id
    if finding.metadata:
        attributes["spanscope.finding.metadata"] = _json_text(finding.metadata)
    time_ns = finding.time_ns if finding.time_ns is not None else default_time_ns
    return {"timeUnixNano": str(time_ns), "name": EVALUATION_EVENT, "attributes": key_values(attributes)}


def _event(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"timeUnixNano": str(event.time_ns), "name": event.name}
    if event.attributes:
        out["attributes"] = key_values(event.attributes)
    return out


def otlp_span(
    span: Span, extra_attributes: Mapping[str, Any] | None = None, extra_events: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One model span as an OTLP JSON ``Span``."""
    attributes: dict[str, Any] = {"spanscope.span.kind": span.kind}
    oi_kind = _OPENINFERENCE_KINDS.get(span.kind)
    if oi_kind is not None:
        attributes["openinference.span.kind"] = oi_kind
    attributes.update(_payload_attributes("input", span.inputs))
    attributes.update(_payload_attributes("output", span.outputs))
    attributes.update(span.attributes)  # the span's own keys win over the derived ones
    if extra_attributes:
        attributes.update(extra_attributes)
    out: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "kind": SPAN_KIND_CLIENT if span.kind in _CLIENT_KINDS else SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(span.start_time_ns),
        "endTimeUnixNano": str(span.end_time_ns),
        "attributes": key_values(attributes),
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id
    events = [_event(e) for e in span.events]
    if extra_events:
        events.extend(extra_events)
    if events:
        out["events"] = events
    status: dict[str, Any] = {}
    code = _STATUS_CODES.get(span.status, 0)
    if code:
        status["code"] = code
    if span.status_message:
        status["message"] = span.status_message
    out["status"] = status
    return out


def _carrier_span(finding: Finding, parent_span_id: str | None, span_id: str) -> dict[str, Any]:
    """A zero-length child span carrying a finding whose target span has already been sent."""
    time_ns = finding.time_ns if finding.time_ns is not None else time.time_ns()
    out: dict[str, Any] = {
        "traceId": finding.trace_id,
        "spanId": span_id,
        "name": "spanscope.finding",
        "kind": SPAN_KIND_INTERNAL,
        "startTimeUnixNano": str(time_ns),
        "endTimeUnixNano": str(time_ns),
        "attributes": key_values({"spanscope.span.kind": "evaluator", "openinference.span.kind": "EVALUATOR"}),
        "events": [evaluation_event(finding, time_ns)],
        "status": {},
    }
    if parent_span_id:
        out["parentSpanId"] = parent_span_id
    return out


def _sdk_version() -> str:
    try:
        from importlib.metadata import version

        return version("spanscope")
    except Exception:
        return "unknown"


class _Pending:
    __slots__ = ("finding", "since")

    def __init__(self, finding: Finding, since: float) -> None:
        self.finding = finding
        self.since = since


class OtlpJsonExporter(KeepAlivePoster):
    """Send batches as OTLP/HTTP JSON to ``endpoint`` (``/v1/traces`` is appended when it has no path).

    >>> exporter = OtlpJsonExporter("http://127.0.0.1:4318", headers={"x-honeycomb-team": "..."})
    >>> spanscope.configure(exporter=exporter)
    """

    def __init__(
        self, endpoint: str, headers: dict[str, str] | None = None, timeout: float = 10.0, *,
        resource_attributes: Mapping[str, Any] | None = None, max_retries: int = 4, backoff: float = 0.5,
        max_backoff: float = 10.0, pending_timeout: float = 30.0,
    ) -> None:  # fmt: skip
        parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"OTLP endpoint must be an http(s) URL such as http://127.0.0.1:4318, got {endpoint!r}")
        self.endpoint = endpoint
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        path = parts.path if parts.path not in ("", "/") else OTLP_TRACES_PATH
        self._path = path + (f"?{parts.query}" if parts.query else "")
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.pending_timeout = float(pending_timeout)
        self._headers = {"Content-Type": "application/json", "User-Agent": "spanscope-python"}
        for key, value in (headers or {}).items():
            self._headers[str(key)] = str(value)
        self._headers["Content-Encoding"] = "gzip"
        resource: dict[str, Any] = {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or "spanscope",
            "telemetry.sdk.name": "spanscope",
            "telemetry.sdk.language": "python",
            "telemetry.sdk.version": _sdk_version(),
        }
        resource.update(resource_attributes or {})
        self._resource = {"attributes": key_values(resource)}
        self._scope = {"name": "spanscope", "version": resource["telemetry.sdk.version"]}
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        # Worker-thread state (the processor calls export from one thread at a time).
        self._roots: OrderedDict[str, tuple[Span, dict[str, Any]]] = OrderedDict()
        self._sent: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._pending: OrderedDict[int, _Pending] = OrderedDict()
        self._pending_seq = 0

    def __repr__(self) -> str:
        return f"OtlpJsonExporter({self.endpoint!r})"

    # --- encoding ---------------------------------------------------------------------------------
    def encode(self, batch: ExportBatch) -> dict[str, Any]:
        """The ``ExportTraceServiceRequest`` for a batch (as JSON-able data); updates the cross-batch state
        and ``batch.rejected`` (trace facts whose root span is gone)."""
        in_batch = {(s.trace_id, s.span_id): s for s in batch.spans}
        roots = {s.trace_id: s for s in batch.spans if s.parent_span_id is None}
        root_attrs, resend = self._trace_facts(batch, roots)
        events, carriers = self._findings(batch, in_batch, roots)
        otlp_spans = []
        for s in batch.spans:
            key = (s.trace_id, s.span_id)
            extra = root_attrs.get(s.trace_id) if s.parent_span_id is None else None
            otlp_spans.append(otlp_span(s, extra, events.get(key)))
            self._remember(s, extra)
        otlp_spans.extend(otlp_span(root, attrs) for root, attrs in resend)
        otlp_spans.extend(carriers)
        scope_spans = [{"scope": self._scope, "spans": otlp_spans}]
        return {"resourceSpans": [{"resource": self._resource, "scopeSpans": scope_spans}]}

    def _trace_facts(
        self, batch: ExportBatch, roots: dict[str, Span]
    ) -> tuple[dict[str, dict[str, Any]], list[tuple[Span, dict[str, Any]]]]:
        """Root-span attributes from the batch's ``TraceInfo``s, and earlier roots to send again."""
        root_attrs: dict[str, dict[str, Any]] = {}
        resend: dict[str, tuple[Span, dict[str, Any]]] = {}
        for info in batch.traces:
            attrs = trace_attributes(info)
            if info.trace_id in roots:
                root_attrs.setdefault(info.trace_id, {}).update(attrs)
                continue
            cached = self._roots.get(info.trace_id)
            if cached is None:
                batch.rejected += 1
                log_once(
                    ("otlp-late-trace-info",),
                    logging.WARNING,
                    "spanscope OTLP export: trace facts (tags, session, user) arrived after their root span was "
                    "sent and is no longer kept; they were dropped",
                )
                continue
            cached[1].update(attrs)  # merged into what the root carried, so the re-sent root has it all
            resend[info.trace_id] = cached
        return root_attrs, list(resend.values())

    def _findings(
        self, batch: ExportBatch, in_batch: dict[tuple[str, str], Span], roots: dict[str, Span]
    ) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], list[dict[str, Any]]]:
        """Evaluation events for spans in the batch, and carrier spans for findings whose span already left
        (or that waited long enough); the others keep waiting."""
        now = time.monotonic()
        for finding in batch.findings:
            self._pending_seq += 1
            self._pending[self._pending_seq] = _Pending(finding, now)
        events: dict[tuple[str, str], list[dict[str, Any]]] = {}
        carriers: list[dict[str, Any]] = []
        flushing = batch.deadline is not None
        overflow = len(self._pending) - MAX_PENDING
        for seq, item in list(self._pending.items()):
            f = item.finding
            target = in_batch.get((f.trace_id, f.span_id)) if f.span_id is not None else roots.get(f.trace_id)
            if target is not None:
                event = evaluation_event(f, target.end_time_ns)
                events.setdefault((target.trace_id, target.span_id), []).append(event)
            else:
                if f.span_id is not None:
                    parent: str | None = f.span_id
                    gone = (f.trace_id, f.span_id) in self._sent
                else:
                    cached = self._roots.get(f.trace_id)
                    parent = cached[0].span_id if cached is not None else None
                    gone = cached is not None
                if not (gone or flushing or overflow > 0 or now - item.since >= self.pending_timeout):
                    continue  # its span hasn't ended yet: wait for it
                carriers.append(_carrier_span(f, parent, f"{random.getrandbits(64) or 1:016x}"))
                overflow -= 1
            del self._pending[seq]
        return events, carriers

    def _remember(self, span: Span, attrs: dict[str, Any] | None) -> None:
        key = (span.trace_id, span.span_id)
        self._sent[key] = None
        self._sent.move_to_end(key)
        while len(self._sent) > SENT_SPANS:
            self._sent.popitem(last=False)
        if span.parent_span_id is None:
            self._roots[span.trace_id] = (span, dict(attrs or {}))
            self._roots.move_to_end(span.trace_id)
            while len(self._roots) > ROOT_CACHE:
                self._roots.popitem(last=False)

    # --- the protocol -----------------------------------------------------------------------------
    def export(self, batch: ExportBatch) -> bool:
        try:
            request = self.encode(batch)
            if not request["resourceSpans"][0]["scopeSpans"][0]["spans"]:
                return True  # only findings waiting for their spans
            body = gzip.compress(_encoder.encode(request), compresslevel=5, mtime=0)
            return self._send(body, batch)
        except Exception as exc:
            log_once(
                ("otlp-export-error", type(exc)),
                logging.WARNING,
                "spanscope OTLP export to %s failed: %r",
                self.endpoint,
                exc,
                exc_info=exc,
            )
            return False

    def shutdown(self) -> None:
        self._stopped.set()
        if self._pending:
            log_once(
                ("otlp-pending-at-shutdown",),
                logging.INFO,
                "spanscope OTLP export: %d finding(s) on spans that never ended were not sent",
                len(self._pending),
            )
        # The worker may still be mid-request if a flush timed out; it closes the connection itself then.
        if self._lock.acquire(blocking=False):
            try:
                self._close()
            finally:
                self._lock.release()

    def after_fork(self) -> None:
        """In a forked child: never share the parent's socket, nor send the parent's waiting findings."""
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._conn = None
        self._roots.clear()
        self._sent.clear()
        self._pending.clear()

    # --- HTTP -------------------------------------------------------------------------------------
    def _send(self, body: bytes, batch: ExportBatch) -> bool:
        reply = self._post_batch(body, self._headers, batch)
        if reply is None:
            return False
        batch.rejected += self._rejected_spans(reply[2])
        return True

    def _rejected_spans(self, data: bytes) -> int:
        if not data or not data.lstrip().startswith(b"{"):
            return 0  # an empty or protobuf reply: full success
        try:
            reply = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return 0
        partial = reply.get("partialSuccess") if isinstance(reply, dict) else None
        if not isinstance(partial, dict):
            return 0
        try:
            rejected = int(partial.get("rejectedSpans") or 0)
        except (TypeError, ValueError):
            return 0
        if rejected > 0:
            log_once(
                ("otlp-partial", self.endpoint),
                logging.WARNING,
                "OTLP receiver %s rejected %d span(s): %s",
                self.endpoint,
                rejected,
                partial.get("errorMessage") or "",
            )
        return max(rejected, 0)

    def _log_failure(self, status: int | None, data: bytes, error: BaseException | None, attempt: int) -> None:
        if error is not None:
            log_once(
                ("otlp-send-error", self.endpoint, type(error)),
                logging.WARNING,
                "spanscope could not reach the OTLP endpoint %s after %d attempt(s): %r",
                self.endpoint,
                attempt + 1,
                error,
            )
            return
        snippet = data[:200].decode("utf-8", "replace")
        log_once(
            ("otlp-send-status", self.endpoint, status),
            logging.WARNING,
            "OTLP endpoint %s answered %s: %s",
            self.endpoint,
            status,
            snippet,
        )
