"""``configure()`` and the module-level controls: ``flush``, ``shutdown``, ``stats``, ``get_config``,
``submit_model``.

Every value comes from the argument, else its ``SPANSCOPE_*`` environment variable, else its default
(see ``spanscope.settings``). Configuring again replaces the pipeline: spans that end from then on go to
the new one, and the old one is flushed and shut down. Whatever is still queued at interpreter exit is
flushed, for at most ``exit_timeout`` seconds (default 2): exit is never held up longer, whatever state
the server is in.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from typing import Any

from spanscope import settings
from spanscope.model.records import Finding, Span, TraceInfo
from spanscope.sdk.encode import PayloadPolicy, Redact, SpanEncoder
from spanscope.sdk.exporters import FanoutExporter, SpanExporter
from spanscope.sdk.guard import handle_internal_errors, log_once
from spanscope.sdk.processor import BatchProcessor
from spanscope.sdk.runtime import RUNTIME
from spanscope.sdk.sampling import TailSampling
from spanscope.sdk.transport import HttpExporter

_EMPTY_STATS = {
    "spans_started": 0,
    "spans_ended": 0,
    "exported": 0,
    "queue_full": 0,
    "export_failed": 0,
    "shutdown": 0,
    "sampled_out": 0,
    "queued": 0,
}

_SETTINGS = (
    "endpoint", "api_key", "project", "disabled", "batch_size", "flush_interval", "max_queue_size",
    "exit_timeout", "request_timeout", "capture_inputs", "capture_outputs", "redact_builtins", "max_field_bytes",
    "sample_rate", "otel_bridge", "otlp_endpoint", "otlp_headers",
)  # fmt: skip


class _State:
    config: dict[str, Any] | None = None
    # The processor stats() reports on: the active one, or the last one after shutdown().
    last: BatchProcessor | None = None


def _resolve_config(**explicit: Any) -> dict[str, Any]:
    config = {name: settings.resolve(name, explicit.get(name)) for name in _SETTINGS}
    if not config["endpoint"]:
        config["endpoint"] = settings.default_endpoint()
    config["endpoint"] = str(config["endpoint"]).rstrip("/")
    config["redact"] = explicit.get("redact")
    config["tail_sampling"] = explicit.get("tail_sampling")
    return config


def parse_headers(value: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """``{"k": "v"}`` or ``"k=v,k2=v2"`` (the ``OTEL_EXPORTER_OTLP_HEADERS`` form) as a dict."""
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return {str(k): str(v) for k, v in value.items()}
    headers = {}
    for part in str(value).split(","):
        key, sep, val = part.partition("=")
        if sep and key.strip():
            headers[key.strip()] = val.strip()
    return headers or None


def build_processor(exporter: SpanExporter, config: dict[str, Any]) -> BatchProcessor:
    """The pipeline for a resolved configuration (``configure`` and ``spanscope.testing.capture`` share it)."""
    tail = config.get("tail_sampling")
    if tail is not None and not isinstance(tail, TailSampling):
        raise TypeError(f"tail_sampling must be a spanscope.TailSampling, got {tail!r}")
    policy = PayloadPolicy(
        capture_inputs=config["capture_inputs"],
        capture_outputs=config["capture_outputs"],
        redact=config.get("redact"),
        redact_builtins=config["redact_builtins"],
        max_field_bytes=config["max_field_bytes"],
    )
    return BatchProcessor(
        exporter,
        batch_size=config["batch_size"],
        flush_interval=config["flush_interval"],
        max_queue_size=config["max_queue_size"],
        encoder=SpanEncoder(policy),
        sample_rate=config["sample_rate"],
        tail_sampling=tail,
    )


def _with_otlp(exporter: SpanExporter, config: dict[str, Any]) -> SpanExporter:
    endpoint = config.get("otlp_endpoint")
    if not endpoint:
        return exporter
    try:
        from spanscope.sdk.otlp_export import OtlpJsonExporter  # type: ignore[import-not-found]
    except ImportError as exc:
        log_once(
            ("otlp-missing",), logging.WARNING, "spanscope cannot export OTLP (%s); sending to spanscope only", exc
        )
        return exporter
    otlp = OtlpJsonExporter(
        str(endpoint), headers=parse_headers(config.get("otlp_headers")), timeout=float(config["request_timeout"])
    )
    return FanoutExporter(exporter, otlp)


@handle_internal_errors
def configure(
    endpoint: str | None = None,
    api_key: str | None = None,
    project: str | None = None,
    *,
    exporter: SpanExporter | None = None,
    batch_size: int | None = None,
    flush_interval: float | None = None,
    max_queue_size: int | None = None,
    exit_timeout: float | None = None,
    request_timeout: float | None = None,
    disabled: bool | None = None,
    capture_inputs: bool | None = None,
    capture_outputs: bool | None = None,
    redact: Redact | None = None,
    redact_builtins: bool | None = None,
    max_field_bytes: int | None = None,
    sample_rate: float | None = None,
    tail_sampling: TailSampling | None = None,
    otel_bridge: bool | None = None,
    otlp_endpoint: str | None = None,
    otlp_headers: Mapping[str, str] | str | None = None,
) -> None:
    """Start sending spans: to ``endpoint`` over HTTP, or to ``exporter`` when one is given.

    Arguments override ``SPANSCOPE_ENDPOINT``, ``SPANSCOPE_API_KEY``, ``SPANSCOPE_PROJECT``,
    ``SPANSCOPE_DISABLED``… which override the defaults (endpoint ``http://127.0.0.1:8417``, project
    ``default``). With ``disabled`` the SDK stays a no-op. See ``docs/sdk.md`` for payload control
    (``capture_inputs``, ``redact``…), sampling (``sample_rate``, ``tail_sampling``) and ``otlp_endpoint``.

    >>> configure(endpoint="http://127.0.0.1:8417", project="chatbot", sample_rate=0.25)
    """
    config = _resolve_config(
        endpoint=endpoint,
        api_key=api_key,
        project=project,
        disabled=disabled,
        batch_size=batch_size,
        flush_interval=flush_interval,
        max_queue_size=max_queue_size,
        exit_timeout=exit_timeout,
        request_timeout=request_timeout,
        capture_inputs=capture_inputs,
        capture_outputs=capture_outputs,
        redact=redact,
        redact_builtins=redact_builtins,
        max_field_bytes=max_field_bytes,
        sample_rate=sample_rate,
        tail_sampling=tail_sampling,
        otel_bridge=otel_bridge,
        otlp_endpoint=otlp_endpoint,
        otlp_headers=otlp_headers,
    )
    processor = None
    given = exporter
    if not config["disabled"] and exporter is None:
        try:
            exporter = HttpExporter(
                config["endpoint"], config["api_key"], config["project"], timeout=config["request_timeout"]
            )
        except ValueError as exc:
            log_once(("bad-endpoint", config["endpoint"]), logging.WARNING, "spanscope is disabled: %s", exc)
            config["disabled"] = True
    if not config["disabled"]:
        assert exporter is not None
        processor = build_processor(_with_otlp(exporter, config), config)
    previous = RUNTIME.processor
    old_config = _State.config
    install(processor, config)
    _set_otel_bridge(bool(config["otel_bridge"]))
    if previous is not None:
        timeout = old_config["exit_timeout"] if old_config else config["exit_timeout"]
        previous.shutdown(timeout, shutdown_exporter=given is None or previous.exporter is not given)


def _set_otel_bridge(enabled: bool) -> None:
    if not enabled:
        if RUNTIME.otel is None:
            RUNTIME.otel = False  # never install it (spans check for None)
        return
    if RUNTIME.otel is False:
        RUNTIME.otel = None
    import sys

    if RUNTIME.otel is None and "opentelemetry.context" in sys.modules:
        from spanscope.sdk import otel_bridge

        otel_bridge.install()


def install(processor: BatchProcessor | None, config: dict[str, Any] | None) -> tuple[Any, Any, Any, Any]:
    """Make ``processor`` the active one without touching the previous; returns what to pass to restore."""
    before = (RUNTIME.processor, _State.config, _State.last, RUNTIME.sample_bound)
    RUNTIME.processor = processor
    RUNTIME.sample_bound = processor.sample_bound if processor is not None else None
    _State.config = config
    if processor is not None:
        _State.last = processor
    return before


def restore(before: tuple[Any, Any, Any, Any]) -> None:
    RUNTIME.processor, _State.config, _State.last, RUNTIME.sample_bound = before


def get_config() -> dict[str, Any]:
    """The active configuration (endpoint, api_key, project, …), or what ``configure()`` would resolve now."""
    config = _State.config if _State.config is not None else _resolve_config()
    return dict(config)


@handle_internal_errors
def _flush(timeout: float | None) -> bool:
    processor = RUNTIME.processor
    return True if processor is None else processor.flush(timeout)


def flush(timeout: float | None = None) -> bool:
    """Block until every record queued before the call was exported, or ``timeout`` seconds passed.

    True only if everything was delivered: False if anything was dropped or failed since the previous
    flush, or is still undelivered. Without a configured SDK there is nothing to deliver: True.
    """
    return _flush(timeout) is True


@handle_internal_errors
def _shutdown(timeout: float | None) -> bool:
    processor = RUNTIME.processor
    if processor is None:
        return True
    RUNTIME.processor = None
    return processor.shutdown(timeout)


def shutdown(timeout: float | None = None) -> bool:
    """Flush, then stop the worker; the SDK is a no-op afterwards until ``configure()`` is called again."""
    return _shutdown(timeout) is True


@handle_internal_errors
def _stats() -> dict[str, int]:
    processor = RUNTIME.processor or _State.last
    return processor.stats() if processor is not None else dict(_EMPTY_STATS)


def stats() -> dict[str, int]:
    """Counters of the current (or last) pipeline: ``spans_started``, ``spans_ended``, ``exported``, the
    drops by reason ``queue_full``, ``export_failed``, ``shutdown``, ``sampled_out``, and ``queued``
    (waiting right now)."""
    return _stats() or dict(_EMPTY_STATS)


@handle_internal_errors
def _submit_model(obj: Any) -> bool:
    processor = RUNTIME.processor
    if processor is None:
        return False
    if not isinstance(obj, Span | TraceInfo | Finding):
        raise TypeError(f"submit_model expects a spanscope.model Span, TraceInfo or Finding, got {type(obj)!r}")
    return processor.submit(obj)


def submit_model(obj: Span | TraceInfo | Finding) -> bool:
    """Queue an already-built ``spanscope.model`` ``Span``, ``TraceInfo`` or ``Finding`` (e.g. translated
    from OpenTelemetry) into the active pipeline: same sampling, payload policy, batching and counters as
    the SDK's own spans. False when the SDK is not configured or the record was dropped."""
    return _submit_model(obj) is True


def _at_exit() -> None:
    processor = RUNTIME.processor
    if processor is None:
        return
    config = _State.config or {}
    try:
        processor.shutdown(config.get("exit_timeout", settings.resolve("exit_timeout")))
    except Exception:  # noqa: S110 - the interpreter is already shutting down; nothing left to tell
        pass


atexit.register(_at_exit)
