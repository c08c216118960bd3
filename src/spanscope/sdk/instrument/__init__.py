"""Auto-instrumentation of LLM client libraries: ``instrument("openai")``, ``instrument("anthropic")``.

    import spanscope

    spanscope.configure(project="support-bot")
    spanscope.instrument("openai")

    client = openai.OpenAI()
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])  # -> an ``llm`` span

Every chat call becomes a span of kind ``llm`` named ``chat <model>``, a child of the current span, with
the OpenTelemetry GenAI attributes (``gen_ai.operation.name``, ``gen_ai.provider.name``,
``gen_ai.request.*``, ``gen_ai.response.model``, ``gen_ai.usage.*``, ``gen_ai.response.finish_reasons``),
``usage.total_tokens``, the estimated ``spanscope.cost_usd`` (see ``pricing.py``), the messages as inputs
and the assistant's answer (tool calls included) as outputs. A streamed answer is assembled from its
chunks; the span ends when the stream is consumed, closed or dropped. A failing call gets status
``ERROR`` and an ``exception`` event, and the exception reaches the caller unchanged.

The methods are patched on the client classes, so clients created before or after ``instrument`` are
covered. ``instrument`` is idempotent and ``uninstrument`` puts the original methods back. Until
``configure()`` runs (or with the SDK disabled) the patched methods call straight through.
See ``docs/instrumentation.md``.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading

from spanscope.sdk.guard import log_once, raise_internal_errors
from spanscope.sdk.instrument.patching import Patch, Switch

__all__ = ["INTEGRATIONS", "instrument", "instrumented", "uninstrument"]

# name -> (module whose ``targets(switch)`` lists (class, method, make_wrapper), the package it instruments)
INTEGRATIONS: dict[str, tuple[str, str]] = {
    "openai": ("spanscope.sdk.instrument.openai_chat", "openai"),
    "anthropic": ("spanscope.sdk.instrument.anthropic_messages", "anthropic"),
}

_lock = threading.Lock()
_active: dict[str, tuple[Switch, list[Patch]]] = {}


def _check(name: str) -> str:
    key = str(name).strip().lower()
    if key not in INTEGRATIONS:
        known = ", ".join(repr(n) for n in INTEGRATIONS)
        raise ValueError(f"spanscope can't instrument {name!r}; expected one of {known}")
    return key


def instrument(name: str) -> bool:
    """Trace every call of a client library; True once it is instrumented (also when it already was).

    Returns False, with a warning, when the library isn't installed or its version is laid out differently
    than expected (it is then left untouched). Raises ValueError for an unknown name.

    >>> instrument("anthropic")
    True
    """
    key = _check(name)
    module_name, package = INTEGRATIONS[key]
    with _lock:
        if key in _active:
            return True
        try:
            importlib.import_module(package)
        except ImportError as exc:
            log_once(("instrument-missing", key), logging.WARNING, "spanscope can't instrument %r: %s", key, exc)
            return False
        module = importlib.import_module(module_name)
        switch = Switch()
        patches: list[Patch] = []
        try:
            for owner, method, make_wrapper in module.targets(switch):
                patches.append(Patch(owner, method, make_wrapper))
        except Exception as exc:
            # A library version whose layout we don't know: leave it untouched rather than half-patched.
            for p in reversed(patches):
                p.undo()
            if raise_internal_errors():
                raise
            log_once(
                ("instrument-failed", key, type(exc)),
                logging.WARNING,
                "spanscope can't instrument %s %s: %r",
                key,
                getattr(sys.modules.get(package), "__version__", "?"),
                exc,
            )
            return False
        _active[key] = (switch, patches)
        return True


def uninstrument(name: str) -> bool:
    """Put the library's original methods back; True if it was instrumented.

    >>> uninstrument("anthropic")
    True
    """
    key = _check(name)
    with _lock:
        entry = _active.pop(key, None)
        if entry is None:
            return False
        switch, patches = entry
        switch.on = False
        for p in reversed(patches):
            p.undo()
        return True


def instrumented() -> list[str]:
    """The names of the libraries instrumented right now."""
    with _lock:
        return sorted(_active)
