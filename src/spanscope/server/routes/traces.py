"""``GET /api/v1/traces/{trace_id}``, ``POST /api/v1/traces/search`` and ``POST /api/v1/spans/search``.

A search answers JSON (one page, with ``next_page_token``) or, when the request sends
``Accept: application/vnd.apache.arrow.stream``, an Arrow IPC stream of every matching row up to
``max_results`` (no limit when it is null), produced a page at a time so memory stays flat.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from spanscope.export import ARROW_STREAM, arrow_stream, rows_to_batch, wire_schema
from spanscope.model import is_trace_id
from spanscope.server.context import BadRequest, project_of, read_body, state

STREAM_PAGE = 5000


class SearchRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/v1/traces/search`` and ``POST /api/v1/spans/search``.

    ``max_results`` is one page (at most 10,000) for JSON; for an Arrow stream it is the total (null: all).
    """

    filter: str | None = None
    filter_string: str | None = None
    max_results: Annotated[int, msgspec.Meta(ge=0)] | None = 100
    order_by: list[str] | str | None = None
    extract_fields: list[str] | None = None
    page_token: str | None = None
    project: str | None = None

    @property
    def text(self) -> str | None:
        return self.filter if self.filter is not None else self.filter_string


_SEARCH_BODY_LIMIT = 1024 * 1024


def _json(data: object, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status_code, media_type="application/json")


def decode_body(body: bytes, struct: type[Any]) -> Any:
    """``body`` as ``struct`` (an empty body gives its defaults); 400 with the reason otherwise."""
    try:
        return msgspec.json.decode(body, type=struct) if body.strip() else struct()
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None


def wants_arrow(request: Request) -> bool:
    return ARROW_STREAM in request.headers.get("accept", "")


async def get_trace(request: Request) -> Response:
    trace_id = request.path_params["trace_id"]
    project = project_of(request)
    if not is_trace_id(trace_id):
        return JSONResponse({"error": f"invalid trace id {trace_id!r}: expected 32 lowercase hex digits"}, 400)
    trace = await run_in_threadpool(state(request).store.get_trace, project, trace_id)
    if trace is None:
        return JSONResponse({"error": f"trace {trace_id} not found in project {project!r}"}, 404)
    return _json(trace.to_dict())


async def _search(request: Request, rows: str) -> Response:
    req: SearchRequest = decode_body(await read_body(request, _SEARCH_BODY_LIMIT), SearchRequest)
    project = project_of(request, req.project)
    store = state(request).store
    if wants_arrow(request):
        # Check the filter and the token on the first page before the 200 goes out: errors stay a 400.
        pages = store.iter_search(
            rows, project, req.text, req.order_by, req.extract_fields, STREAM_PAGE, req.max_results
        )
        first = await run_in_threadpool(next, pages, None)

        def batches() -> Any:
            if first is not None:
                yield rows_to_batch(first, rows)
            for page in pages:
                yield rows_to_batch(page, rows)

        return StreamingResponse(arrow_stream(batches(), wire_schema(rows)), media_type=ARROW_STREAM)
    if req.max_results is None or req.max_results > 10_000:
        raise BadRequest("max_results must be between 0 and 10000 for a JSON page; ask for an Arrow stream for more")
    if rows == "traces":
        result = await run_in_threadpool(
            store.search_traces, project, req.text, req.max_results, req.order_by, req.page_token, req.extract_fields
        )
        return _json(result.to_dict())
    result = await run_in_threadpool(
        store.search_spans, project, req.text, req.max_results, req.order_by, req.page_token, req.extract_fields
    )
    return _json(result)


async def search(request: Request) -> Response:
    return await _search(request, "traces")


async def search_spans(request: Request) -> Response:
    return await _search(request, "spans")


routes = [
    Route("/api/v1/traces/search", search, methods=["POST"]),
    Route("/api/v1/spans/search", search_spans, methods=["POST"]),
    Route("/api/v1/traces/{trace_id}", get_trace, methods=["GET"]),
]
