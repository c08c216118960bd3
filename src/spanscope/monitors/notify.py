"""Notifiers: the log (always) and a webhook (a JSON POST) when a monitor fires or resolves.

The webhook body is the notification itself (see docs/monitors.md)::

    {"monitor": "quality-drop", "project": "demo", "state": "firing", "severity": "warning",
     "rule": "...", "condition": "drops > 10% vs previous 7d", "window": "1d",
     "value": 0.48, "threshold": 0.1, "baseline": 0.71, "change": -0.32, "samples": 41,
     "evaluated_at": "2024-05-02T10:00:00Z", "url": "<the traces page with the monitor's filter>",
     "examples": [{"trace_id": "…", "value": 0.12, "url": "<the trace in the UI>"}], "event_id": 7, …}

Delivery: up to ``attempts`` POSTs with a short backoff on connection errors and 5xx; the outcome is kept in
the history event. Delivery runs on the evaluating thread with a timeout, so a slow receiver delays only the
next evaluation.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from spanscope import __version__

log = logging.getLogger("spanscope.monitors")


def log_notification(payload: dict[str, Any]) -> dict[str, Any]:
    level = logging.WARNING if payload.get("state") == "firing" else logging.INFO
    log.log(
        level,
        "monitor %s/%s %s: %s = %s (%s over %s; %d sample(s))%s",
        payload.get("project"),
        payload.get("monitor"),
        payload.get("state"),
        payload.get("aggregate"),
        _fmt(payload.get("value")),
        payload.get("condition"),
        payload.get("window"),
        payload.get("samples") or 0,
        f"; examples: {', '.join(e['trace_id'] for e in payload.get('examples', []))}"
        if payload.get("examples")
        else "",
    )
    return {"notifier": "log", "ok": True}


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def post_webhook(url: str, payload: dict[str, Any], *, timeout: float = 5.0, attempts: int = 3) -> dict[str, Any]:
    """POST ``payload`` as JSON; returns ``{"notifier": "webhook", "url", "ok", "status" | "error", "attempts"}``."""
    body = json.dumps(payload, default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": f"spanscope/{__version__}"}
    result: dict[str, Any] = {"notifier": "webhook", "url": url, "ok": False}
    for attempt in range(1, max(1, attempts) + 1):
        result["attempts"] = attempt
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - the operator's URL
                result.update(ok=200 <= resp.status < 300, status=resp.status)
                result.pop("error", None)
                return result
        except urllib.error.HTTPError as exc:
            result.update(status=exc.code, error=f"HTTP {exc.code}")
            if exc.code < 500:
                break  # the receiver refused this body; retrying won't help
        except (urllib.error.URLError, OSError) as exc:
            result["error"] = str(getattr(exc, "reason", exc))
        if attempt < attempts:
            time.sleep(0.2 * attempt)
    log.warning("monitor webhook %s failed: %s", url, result.get("error"))
    return result
