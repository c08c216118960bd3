"""``configure()`` and the module-level controls: ``flush``, ``shutdown``, ``stats``, ``get_config``.

Every value comes from the argument, else its ``SPANSCOPE_*`` environment variable, else its default
(see ``spanscope.settings``). Configuring again replaces the pipeline: spans that end from then on go to
the new one, and the old one is flushed and shut down. Whatever is still queued at interpreter exit is
flushed, for at most ``exit_timeout`` seconds.
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from spanscope import settings
from spanscope.sdk.exporters import SpanExporter
from spanscope.sdk.guard import handle_internal_errors, log_once
from spanscope.sdk.processor import BatchProcessor
from spanscope.sdk.runtime import RUNTIME
from spanscope.sdk.transport import HttpExporter

_EMPTY_STATS = {
    "spans_started": 0,
    "spans_ended": 0,
    "exported": 0,
    "queue_full": 0,
    "export_failed": 0,
    "shutdown": 0,
    "queued": 0,
}


class _State:
    config: dict[str, Any] | None = None
    # The processor stats() reports on: the active one, or the last one after shutdown().
    last: BatchProcessor | None = None


def _resolve_config(**explicit: Any) -> dict[str, Any]:
    config = {name: settings.resolve(name, explicit.get(name)) for name in (
        "endpoint", "api_key", "project", "disabled", "batch_size", "flush_interval", "max_queue_size",
        "exit_timeout", "request_timeout",
    )}  # fmt: skip
    if not config["endpoint"]:
        config["endpoint"] = settings.default_endpoint()
    config["endpoint"] = str(config["endpoint"]).rstrip("/")
    return config


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
) -> None:
    """Start sending spans: to ``endpoint`` over HTTP, or to ``exporter`` when one is given.

    Arguments override ``SPANSCOPE_ENDPOINT``, ``SPANSCOPE_API_KEY``, ``SPANSCOPE_PROJECT``,
    ``SPANSCOPE_DISABLED``… which override the defaults (endpoint ``http://127.0.0.1:8417``, project
    ``default``). With ``disabled`` the SDK stays a no-op.

    >>> configure(endpoint="http://127.0.0.1:8417", project="chatbot")
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
    )
    processor = None
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
        processor = BatchProcessor(
            exporter,
            batch_size=config["batch_size"],
            flush_interval=config["flush_interval"],
            max_queue_size=config["max_queue_size"],
        )
    previous = RUNTIME.processor
    old_config = _State.config
    install(processor, config)
    if previous is not None:
        timeout = old_config["exit_timeout"] if old_config else config["exit_timeout"]
        previous.shutdown(timeout, shutdown_exporter=previous.exporter is not exporter)


def install(processor: BatchProcessor | None, config: dict[str, Any] | None) -> tuple[Any, Any]:
    """Make ``processor`` the active one without touching the previous; returns what to pass to restore."""
    before = (RUNTIME.processor, _State.config, _State.last)
    RUNTIME.processor = processor
    _State.config = config
    if processor is not None:
        _State.last = processor
    return before


def restore(before: tuple[Any, Any]) -> None:
    RUNTIME.processor, _State.config, _State.last = before


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
    """Counters of the current (or last) pipeline: ``spans_started``, ``spans_ended``, ``exported`` and the
    drops by reason ``queue_full``, ``export_failed``, ``shutdown`` (plus ``queued``, waiting right now)."""
    return _stats() or dict(_EMPTY_STATS)


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
