"""The JSON the web UI reads, beyond the public trace API.

``GET /api/v1/traces/{trace_id}/outline``          every span of a trace as compact columns (one request)
``GET /api/v1/traces/{trace_id}/spans/{span_id}``  one span's inputs, outputs, attributes, events, findings
``GET /api/v1/traces/{trace_id}/findings``         the findings of a trace
``GET /api/v1/ui/traces``                          a page of traces with roll-ups (sortable, with a total)
``GET /api/v1/ui/dashboard``                       aggregates and series for the dashboard
``GET /api/v1/fields``                             completion data for the filter bar
``GET /api/v1/filter/check``                       parse a filter; its error and column if it has one
``GET /api/v1/projects``                           projects that hold traces

Time ranges are ``from`` / ``to`` in epoch milliseconds (half-open). Filter errors are 400s with ``error``
and ``column``, like ``POST /api/v1/traces/search``. The queries run on every SQL engine (DuckDB, ClickHouse)
through the store's dialect; a store that takes no SQL answers 501.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.model import is_trace_id
from spanscope.query import FilterError, compile_filter
from spanscope.server.context import BadRequest, project_of, state
from spanscope.store.duckdb import ui_queries

T = TypeVar("T")
_SPAN_ID_LEN = 16


def _json(data: object, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status_code, media_type="application/json")


async def _with_cursor(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    store = state(request).store
    cursor_of = getattr(store, "_cursor", None)
    if cursor_of is None:
        raise HTTPException(501, f"the web UI's queries need a SQL store (DuckDB or ClickHouse), not {store!r}")

    barrier = getattr(store, "barrier", None)

    def run() -> T:
        if callable(barrier):
            barrier()  # read-your-writes: what was acknowledged before this read is in the database
        con = cursor_of()
        try:
            return fn(con, *args, **kwargs)
        finally:
            con.close()

    return await run_in_threadpool(run)


def _dialect(request: Request) -> Any:
    """The SQL dialect of the server's store (DuckDB's when the store names none)."""
    return getattr(state(request).store, "dialect", None) or ui_queries.DIALECT


def _int_param(request: Request, name: str, default: int | None, lo: int = 0, hi: int | None = None) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(float(raw))
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be a number, got {raw!r}") from None
    if value < lo or (hi is not None and value > hi):
        raise BadRequest(f"query parameter {name!r} must be between {lo} and {hi}, got {value}")
    return value


def _range_ns(request: Request) -> tuple[int | None, int | None]:
    lo = _int_param(request, "from", None)
    hi = _int_param(request, "to", None)
    return (None if lo is None else lo * 1_000_000, None if hi is None else hi * 1_000_000)


def _trace_id(request: Request) -> str:
    trace_id = request.path_params["trace_id"]
    if not is_trace_id(trace_id):
        raise BadRequest(f"invalid trace id {trace_id!r}: expected 32 lowercase hex digits")
    return trace_id


async def outline(request: Request) -> Response:
    trace_id = _trace_id(request)
    project = project_of(request)
    io_hash = request.query_params.get("io_hash") in ("1", "true")
    data = await _with_cursor(
        request, ui_queries.trace_outline, project, trace_id, io_hash=io_hash, dialect=_dialect(request)
    )
    if data is None:
        return JSONResponse({"error": f"trace {trace_id} not found in project {project!r}"}, 404)
    return _json(data)


async def span(request: Request) -> Response:
    trace_id = _trace_id(request)
    span_id = request.path_params["span_id"]
    if len(span_id) != _SPAN_ID_LEN or any(c not in "0123456789abcdef" for c in span_id):
        raise BadRequest(f"invalid span id {span_id!r}: expected 16 lowercase hex digits")
    data = await _with_cursor(request, ui_queries.span_detail, project_of(request), trace_id, span_id)
    if data is None:
        return JSONResponse({"error": f"span {span_id} not found in trace {trace_id}"}, 404)
    return _json(data)


async def findings(request: Request) -> Response:
    trace_id = _trace_id(request)
    data = await _with_cursor(request, ui_queries.trace_findings, project_of(request), trace_id)
    return _json({"findings": data})


async def traces(request: Request) -> Response:
    q = request.query_params
    lo, hi = _range_ns(request)
    sort = q.get("sort") or "time"
    if sort not in ui_queries.SORTS:
        raise BadRequest(f"unknown sort column {sort!r}; expected one of {', '.join(ui_queries.SORTS)}")
    data = await _with_cursor(
        request,
        ui_queries.list_traces,
        project_of(request),
        q.get("filter") or None,
        from_ns=lo,
        to_ns=hi,
        sort=sort,
        descending=(q.get("dir") or "desc").lower() != "asc",
        limit=_int_param(request, "limit", 50, 1, 1000),
        offset=_int_param(request, "offset", 0),
        dialect=_dialect(request),
    )
    return _json(data)


async def dashboard(request: Request) -> Response:
    q = request.query_params
    lo, hi = _range_ns(request)
    data = await _with_cursor(
        request,
        ui_queries.dashboard,
        project_of(request),
        q.get("filter") or None,
        from_ns=lo,
        to_ns=hi,
        metric=q.get("metric") or None,
        buckets=_int_param(request, "buckets", 24, 1, 500),
        dialect=_dialect(request),
    )
    return _json(data)


async def fields(request: Request) -> Response:
    return _json(
        await _with_cursor(request, ui_queries.completion_fields, project_of(request), dialect=_dialect(request))
    )


async def check_filter(request: Request) -> Response:
    text = request.query_params.get("filter") or ""
    try:
        compile_filter(text or None)
    except FilterError as err:
        return _json({"ok": False, "error": str(err), "message": err.message, "column": err.column, "hint": err.hint})
    return _json({"ok": True})


async def projects(request: Request) -> Response:
    keyed = request.scope.get("state", {}).get("spanscope_project")
    listed = await _with_cursor(request, ui_queries.list_projects)
    if keyed is not None:  # with auth on, a key sees only its own project
        listed = [p for p in listed if p["name"] == keyed] or [{"name": keyed, "traces": 0, "last_start_time_ns": None}]
    return _json({"projects": listed, "auth": keyed is not None})


routes = [
    Route("/api/v1/traces/{trace_id}/outline", outline, methods=["GET"]),
    Route("/api/v1/traces/{trace_id}/spans/{span_id}", span, methods=["GET"]),
    Route("/api/v1/traces/{trace_id}/findings", findings, methods=["GET"]),
    Route("/api/v1/ui/traces", traces, methods=["GET"]),
    Route("/api/v1/ui/dashboard", dashboard, methods=["GET"]),
    Route("/api/v1/fields", fields, methods=["GET"]),
    Route("/api/v1/filter/check", check_filter, methods=["GET"]),
    Route("/api/v1/projects", projects, methods=["GET"]),
]
