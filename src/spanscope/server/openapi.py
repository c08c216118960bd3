"""The OpenAPI 3.1 document, built from the same msgspec types that validate requests."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from spanscope import __version__
from spanscope.ingest.native import SpanEvent
from spanscope.model import Finding, Span, TraceInfo


class IngestBody(msgspec.Struct, kw_only=True):
    """Native ingest body; every key optional. Items are validated one by one."""

    traces: list[TraceInfo] = []
    spans: list[Span] = []
    events: list[SpanEvent] = []
    findings: list[Finding] = []


class Rejected(msgspec.Struct):
    kind: str
    index: int
    reason: str


class IngestResponse(msgspec.Struct):
    accepted: dict[str, int]
    rejected: list[Rejected]


class ErrorResponse(msgspec.Struct, kw_only=True):
    error: str
    column: int | None = None


def _project_param() -> dict[str, Any]:
    return {
        "name": "X-Spanscope-Project",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Project to write to / read from (default `default`).",
    }


def _json_body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": ref}}}}


def _resp(description: str, ref: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if ref:
        out["content"] = {"application/json": {"schema": {"$ref": ref}}}
    return out


@functools.cache
def openapi_document() -> dict[str, Any]:
    from spanscope.server.routes.traces import SearchRequest

    (_, components) = msgspec.json.schema_components(
        [IngestBody, IngestResponse, ErrorResponse, SearchRequest], ref_template="#/components/schemas/{name}"
    )
    c = "#/components/schemas/"
    err = _resp("Error", c + "ErrorResponse")
    return {
        "openapi": "3.1.0",
        "info": {"title": "spanscope", "version": __version__},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _resp("OK")}}},
            "/api/v1/ingest": {
                "post": {
                    "summary": "Ingest traces, spans, events and findings",
                    "parameters": [_project_param()],
                    "requestBody": _json_body(c + "IngestBody"),
                    "responses": {
                        "200": _resp("Some or all items accepted", c + "IngestResponse"),
                        "400": _resp("Malformed body or nothing accepted", c + "IngestResponse"),
                        "413": err,
                    },
                }
            },
            "/api/v1/traces/search": {
                "post": {
                    "summary": "Search traces with the filter language",
                    "parameters": [_project_param()],
                    "requestBody": _json_body(c + "SearchRequest"),
                    "responses": {"200": _resp("Matching traces"), "400": err},
                }
            },
            "/api/v1/traces/{trace_id}": {
                "get": {
                    "summary": "One whole trace: summary, spans with events, findings",
                    "parameters": [
                        {
                            "name": "trace_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                        },
                        _project_param(),
                    ],
                    "responses": {"200": _resp("The trace"), "400": err, "404": err},
                }
            },
        },
        "components": {"schemas": components},
    }
