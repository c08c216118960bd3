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


def _otlp_traces_path() -> dict[str, Any]:
    """``POST /v1/traces`` (OTLP/HTTP). The request schema is OTLP's own; only its outline is given here."""
    status = {
        "type": "object",
        "description": "google.rpc.Status (protobuf for protobuf requests)",
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    }
    response = {
        "type": "object",
        "description": "ExportTraceServiceResponse; partialSuccess only when some spans were rejected",
        "properties": {
            "partialSuccess": {
                "type": "object",
                "properties": {"rejectedSpans": {"type": "string"}, "errorMessage": {"type": "string"}},
            }
        },
    }
    request = {
        "type": "object",
        "description": "ExportTraceServiceRequest in OTLP/JSON (hex ids); see docs/otlp.md",
        "properties": {"resourceSpans": {"type": "array", "items": {"type": "object"}}},
    }
    binary = {"type": "string", "format": "binary"}

    def both(json_schema: dict[str, Any]) -> dict[str, Any]:
        return {"application/json": {"schema": json_schema}, "application/x-protobuf": {"schema": binary}}

    def resp(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": both(schema)}

    return {
        "post": {
            "summary": "OTLP/HTTP trace export (protobuf or JSON, optionally gzip)",
            "parameters": [
                {
                    **_project_param(),
                    "description": "Project to write to; else the resource attribute `spanscope.project`, "
                    "else `default`.",
                }
            ],
            "requestBody": {"required": True, "content": both(request)},
            "responses": {
                "200": resp("Accepted (partialSuccess lists rejected spans)", response),
                "400": resp("Undecodable payload", status),
                "413": resp("Body too large", status),
                "415": _resp("Unsupported content type", "#/components/schemas/ErrorResponse"),
                "429": resp("Overloaded; retry after Retry-After seconds", status),
            },
        }
    }


@functools.cache
def openapi_document() -> dict[str, Any]:
    from spanscope.monitors import MonitorSpec
    from spanscope.server.routes import datasets as dataset_routes
    from spanscope.server.routes import evals as eval_routes
    from spanscope.server.routes import findings as finding_routes
    from spanscope.server.routes.analysis import REQUESTS, openapi_paths
    from spanscope.server.routes.export import ExportRequest
    from spanscope.server.routes.monitors import openapi_paths as monitor_paths
    from spanscope.server.routes.traces import SearchRequest

    (_, components) = msgspec.json.schema_components(
        [IngestBody, IngestResponse, ErrorResponse, SearchRequest, ExportRequest, *REQUESTS.values(), MonitorSpec]
        + [*finding_routes.SCHEMAS, *dataset_routes.SCHEMAS, *eval_routes.SCHEMAS],
        ref_template="#/components/schemas/{name}",
    )
    c = "#/components/schemas/"
    err = _resp("Error", c + "ErrorResponse")
    return {
        "openapi": "3.1.0",
        "info": {"title": "spanscope", "version": __version__},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _resp("OK")}}},
            "/api/v1/sdk/drops": {
                "get": {
                    "summary": "What the project's SDKs reported dropping, by reason",
                    "parameters": [_project_param()],
                    "responses": {"200": _resp("Totals per reason")},
                }
            },
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
            "/v1/traces": _otlp_traces_path(),
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
            **openapi_paths(c, err, _project_param(), _json_body, _resp),
            **monitor_paths(c, err, _project_param(), _json_body, _resp),
            **finding_routes.openapi_paths(),
            **dataset_routes.openapi_paths(),
            **eval_routes.openapi_paths(),
        },
        "components": {"schemas": components},
    }
