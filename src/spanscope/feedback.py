"""Feedback and findings sent straight to the server (not through the SDK's batching queue).

    fid = spanscope.log_feedback(trace_id, "helpful", False, rationale="wrong order number")
    spanscope.feedback.update_feedback(fid, True, rationale="re-checked: it was right")
    spanscope.search_traces("feedback.helpful = true")      # sees the update, not the superseded value

A finding (a.k.a. feedback, score, assessment) is a typed value on a trace or one of its spans: a float,
an int, a bool, a category (short string) or free text. Updating one writes a new finding that supersedes
it; the old one stays in its history (``get_feedback(fid)["history"]``) and stops matching searches.
Findings from code and LLM judges use the same record with ``source="code"`` / ``"llm"``.

Errors: ``ValueError`` / ``TypeError`` for arguments that can't make a finding (checked before sending),
:class:`spanscope.client.ApiError` for the server's refusal (404: unknown finding to supersede; 409:
it was already superseded), ``ConnectionError`` when the server can't be reached.
"""

from __future__ import annotations

import math
import urllib.parse
from typing import Any, Final

from spanscope.client import Client
from spanscope.model import FINDING_SOURCES, is_span_id, is_trace_id

VALUE_TYPES: Final = ("float", "int", "bool", "category", "text")
FINDINGS_PATH: Final = "/api/v1/findings"


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from spanscope.client import _default_client

    return _default_client()


def check_value(value: Any, value_type: str | None = None) -> Any:
    """Validate a finding value (bool, int, float, str) against ``value_type`` if given."""
    if isinstance(value, bool):
        kind = "bool"
    elif isinstance(value, int):
        kind = "int"
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"a finding value must be a finite number, got {value!r}")
        kind = "float"
    elif isinstance(value, str):
        kind = "str"
    else:
        item = getattr(value, "item", None)  # numpy scalars
        if item is not None:
            return check_value(item(), value_type)
        raise TypeError(f"a finding value is a bool, int, float or str, not {type(value).__name__}")
    if value_type is not None:
        if value_type not in VALUE_TYPES:
            raise ValueError(f"value_type must be one of {', '.join(VALUE_TYPES)}, got {value_type!r}")
        ok = {"float": kind in ("int", "float"), "int": kind == "int", "bool": kind == "bool"}.get(
            value_type, kind == "str"
        )
        if not ok:
            raise TypeError(f"value {value!r} is not of value_type {value_type!r}")
    return value


def log_feedback(
    trace_id: str,
    name: str,
    value: bool | int | float | str,
    *,
    span_id: str | None = None,
    source: str = "human",
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    value_type: str | None = None,
    supersedes: str | None = None,
    client: Client | None = None,
) -> str:
    """Record a finding on a trace (or one of its spans) now; returns its id.

    ``value_type`` (``float``, ``int``, ``bool``, ``category``, ``text``) is inferred when omitted (a string
    up to 64 characters without a line break is a category, a longer one text). ``supersedes`` makes this
    the new version of an earlier finding of the same trace and name.

    >>> fid = log_feedback("4bf92f3577b34da6a3ce929d0e0e4736", "helpful", True, rationale="solved it")
    """
    if not is_trace_id(trace_id):
        raise ValueError(f"invalid trace id {trace_id!r}: expected 32 lowercase hex digits")
    if span_id is not None and not is_span_id(span_id):
        raise ValueError(f"invalid span id {span_id!r}: expected 16 lowercase hex digits")
    if not isinstance(name, str) or not name:
        raise ValueError("a finding needs a non-empty name")
    if source not in FINDING_SOURCES:
        raise ValueError(f"source must be one of {', '.join(FINDING_SOURCES)}, got {source!r}")
    value = check_value(value, value_type)
    body: dict[str, Any] = {
        "trace_id": trace_id,
        "name": name,
        "value": value,
        "span_id": span_id,
        "source": source,
        "rationale": rationale,
        "metadata": dict(metadata or {}),
    }
    if value_type is not None:
        body["value_type"] = value_type
    if supersedes is not None:
        body["supersedes"] = supersedes
    return _client(client)._request("POST", FINDINGS_PATH, body)["finding_id"]


def update_feedback(
    finding_id: str,
    value: bool | int | float | str,
    *,
    rationale: str | None = None,
    metadata: dict[str, Any] | None = None,
    source: str | None = None,
    client: Client | None = None,
) -> str:
    """Supersede a finding with a new value (same trace, span and name); returns the new finding's id."""
    value = check_value(value)
    if source is not None and source not in FINDING_SOURCES:
        raise ValueError(f"source must be one of {', '.join(FINDING_SOURCES)}, got {source!r}")
    body = {"value": value, "rationale": rationale, "metadata": dict(metadata or {}), "source": source}
    path = f"{FINDINGS_PATH}/{urllib.parse.quote(finding_id, safe='')}/supersede"
    return _client(client)._request("POST", path, body)["finding_id"]


def get_feedback(finding_id: str, *, client: Client | None = None) -> dict[str, Any]:
    """A finding with ``supersedes``, ``superseded_by``, ``current_id`` and its ``history`` (oldest first)."""
    return _client(client)._request("GET", f"{FINDINGS_PATH}/{urllib.parse.quote(finding_id, safe='')}")


def list_feedback(
    trace_id: str | None = None,
    name: str | None = None,
    *,
    include_superseded: bool = False,
    limit: int = 1000,
    client: Client | None = None,
) -> list[dict[str, Any]]:
    """Findings (current ones unless ``include_superseded``), oldest first."""
    params = {
        "trace_id": trace_id,
        "name": name,
        "include_superseded": "true" if include_superseded else None,
        "limit": limit,
    }
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
    return _client(client)._request("GET", f"{FINDINGS_PATH}?{query}")["findings"]
