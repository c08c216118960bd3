"""``GET /api/v1/traces/{trace_id}`` and ``POST /api/v1/traces/search``."""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.model import is_trace_id
from spanscope.server.context import BadRequest, project_of, read_body, state


class SearchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/v1/traces/search``."""

    filter: str | None = None
    filter_string: str | None = None
    max_results: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    order_by: list[str] | str | None = None
    extract_fields: list[str] | None = None
    page_token: str | None = None
    project: str | None = None


_search_decoder = msgspec.json.Decoder(SearchRequest)
_SEARCH_BODY_LIMIT = 1024 * 1024


def _json(data: object, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status_code, media_type="application/json")


async def get_trace(request: Request) -> Response:
    trace_id = request.path_params["trace_id"]
    project = project_of(request)
    if not is_trace_id(trace_id):
        return JSONResponse({"error": f"invalid trace id {trace_id!r}: expected 32 lowercase hex digits"}, 400)
    trace = await run_in_threadpool(state(request).store.get_trace, project, trace_id)
    if trace is None:
        return JSONResponse({"error": f"trace {trace_id} not found in project {project!r}"}, 404)
    return _json(trace.to_dict())


async def search(request: Request) -> Response:
    body = await read_body(request, _SEARCH_BODY_LIMIT)
    try:
        req = _search_decoder.decode(body) if body.strip() else SearchRequest()
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid search request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    project = project_of(request, req.project)
    result = await run_in_threadpool(
        state(request).store.search_traces,
        project,
        req.filter if req.filter is not None else req.filter_string,
        req.max_results,
        req.order_by,
        req.page_token,
        req.extract_fields,
    )
    return _json(result.to_dict())


routes = [
    Route("/api/v1/traces/search", search, methods=["POST"]),
    Route("/api/v1/traces/{trace_id}", get_trace, methods=["GET"]),
]
