"""``POST /api/v1/analysis/{latency,usage,compare,critical_path,correlate,count}``: analysis over a filter.

Every body takes ``filter`` (the filter language, as in a search) and answers JSON computed by
``spanscope.analysis.engine`` inside the server.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.analysis import engine
from spanscope.model import is_trace_id
from spanscope.server.context import BadRequest, project_of, read_body, state
from spanscope.server.routes.traces import decode_body

_LIMIT = 256 * 1024


class LatencyRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    filter: str | None = None
    by: list[str] = msgspec.field(default_factory=lambda: ["span.name"])
    bucket: str | None = None
    project: str | None = None


class UsageRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    filter: str | None = None
    by: list[str] = msgspec.field(default_factory=lambda: ["model"])
    bucket: str | None = None
    all_projects: bool = False
    project: str | None = None


class CompareRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    filter_a: str | None = None
    filter_b: str | None = None
    top: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    project: str | None = None


class CriticalPathRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    trace_id: str | None = None
    filter: str | None = None
    max_traces: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 2000
    project: str | None = None


class CorrelateRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    a: str
    b: str
    filter: str | None = None
    agg: str = "max"
    project: str | None = None


class CountRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    filter: str | None = None
    rows: str = "traces"
    project: str | None = None


def _json(data: Any) -> Response:
    return Response(msgspec.json.encode(data), media_type="application/json")


async def _body(request: Request, struct: type[Any]) -> Any:
    return decode_body(await read_body(request, _LIMIT), struct)


async def latency(request: Request) -> Response:
    req: LatencyRequest = await _body(request, LatencyRequest)
    project = project_of(request, req.project)
    result = await run_in_threadpool(engine.latency, state(request).store, project, req.filter, req.by, req.bucket)
    return _json(result)


async def usage(request: Request) -> Response:
    req: UsageRequest = await _body(request, UsageRequest)
    project = None if req.all_projects else project_of(request, req.project)
    result = await run_in_threadpool(engine.usage, state(request).store, project, req.filter, req.by, req.bucket)
    return _json(result)


async def compare(request: Request) -> Response:
    req: CompareRequest = await _body(request, CompareRequest)
    project = project_of(request, req.project)
    result = await run_in_threadpool(engine.compare, state(request).store, project, req.filter_a, req.filter_b, req.top)
    return _json(result)


async def critical_path(request: Request) -> Response:
    req: CriticalPathRequest = await _body(request, CriticalPathRequest)
    project = project_of(request, req.project)
    store = state(request).store
    if req.trace_id is not None:
        if not is_trace_id(req.trace_id):
            raise BadRequest(f"invalid trace id {req.trace_id!r}: expected 32 lowercase hex digits")
        result = await run_in_threadpool(engine.critical_path_of, store, project, req.trace_id)
        if result is None:
            return JSONResponse({"error": f"trace {req.trace_id} not found in project {project!r}"}, 404)
        return _json(result)
    result = await run_in_threadpool(engine.critical_path_summary, store, project, req.filter, req.max_traces)
    return _json(result)


async def correlate(request: Request) -> Response:
    req: CorrelateRequest = await _body(request, CorrelateRequest)
    project = project_of(request, req.project)
    result = await run_in_threadpool(engine.correlate, state(request).store, project, req.a, req.b, req.filter, req.agg)
    return _json(result)


async def count(request: Request) -> Response:
    req: CountRequest = await _body(request, CountRequest)
    if req.rows not in ("traces", "spans"):
        raise BadRequest("rows must be 'traces' or 'spans'")
    project = project_of(request, req.project)
    n = await run_in_threadpool(state(request).store.count_matching, req.rows, project, req.filter)
    return _json({"count": n})


REQUESTS = {
    "latency": LatencyRequest,
    "usage": UsageRequest,
    "compare": CompareRequest,
    "critical_path": CriticalPathRequest,
    "correlate": CorrelateRequest,
    "count": CountRequest,
}


def openapi_paths(c: str, err: dict[str, Any], project: dict[str, Any], body: Any, resp: Any) -> dict[str, Any]:
    """The OpenAPI entries of the span search, the analysis endpoints and the export (for ``openapi.py``)."""
    arrow = "application/vnd.apache.arrow.stream"
    paths: dict[str, Any] = {
        "/api/v1/spans/search": {
            "post": {
                "summary": "Search spans with the filter language (one row per span, with its trace's tags "
                f"and findings); JSON, or an Arrow stream of all rows with Accept: {arrow}",
                "parameters": [project],
                "requestBody": body(c + "SearchRequest"),
                "responses": {"200": resp("Matching spans"), "400": err},
            }
        },
        "/api/v1/export": {
            "post": {
                "summary": "Stream every matching trace or span as a Parquet, CSV or JSONL file",
                "parameters": [project],
                "requestBody": body(c + "ExportRequest"),
                "responses": {"200": resp("The file, streamed"), "400": err},
            }
        },
    }
    summaries = {
        "latency": "Span counts, error rates and latency percentiles grouped by fields and time buckets",
        "usage": "Model calls, tokens and cost grouped by model, project, any field and time buckets",
        "compare": "What differs between two cohorts of traces (per span name, and ranked field differences)",
        "critical_path": "The critical path of one trace, or the span names that own the most of it over a filter",
        "correlate": "Pearson and Spearman correlation of two numeric fields",
        "count": "How many traces or spans a filter matches",
    }
    for name, struct in REQUESTS.items():
        paths[f"/api/v1/analysis/{name}"] = {
            "post": {
                "summary": summaries[name],
                "parameters": [project],
                "requestBody": body(c + struct.__name__),
                "responses": {"200": resp("The result"), "400": err},
            }
        }
    return paths


routes = [
    Route("/api/v1/analysis/latency", latency, methods=["POST"]),
    Route("/api/v1/analysis/usage", usage, methods=["POST"]),
    Route("/api/v1/analysis/compare", compare, methods=["POST"]),
    Route("/api/v1/analysis/critical_path", critical_path, methods=["POST"]),
    Route("/api/v1/analysis/correlate", correlate, methods=["POST"]),
    Route("/api/v1/analysis/count", count, methods=["POST"]),
]
