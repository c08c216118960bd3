"""``POST /api/v1/export``: every trace (or span) matching a filter, streamed as a Parquet, CSV or JSONL file.

The file is produced a page of 5,000 rows at a time while it is sent, so an export of any size runs in
flat memory. ``curl -X POST …/api/v1/export -d '{"filter": "tag.quality_score < 0.5", "format": "parquet"}'
-o low.parquet``.
"""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from spanscope.export import CONTENT_TYPES, file_stream, format_of
from spanscope.server.context import BadRequest, project_of, read_body, state
from spanscope.server.routes.traces import STREAM_PAGE, decode_body


class ExportRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Body of ``POST /api/v1/export``."""

    filter: str | None = None
    rows: str = "traces"
    format: str = "parquet"
    order_by: list[str] | str | None = None
    extract_fields: list[str] | None = None
    max_results: int | None = None
    project: str | None = None


async def export(request: Request) -> Response:
    req: ExportRequest = decode_body(await read_body(request, 1024 * 1024), ExportRequest)
    if req.rows not in ("traces", "spans"):
        raise BadRequest("rows must be 'traces' or 'spans'")
    try:
        fmt = format_of("", req.format)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    project = project_of(request, req.project)
    pages = state(request).store.iter_search(
        req.rows, project, req.filter, req.order_by, req.extract_fields, STREAM_PAGE, req.max_results
    )
    first = await run_in_threadpool(next, pages, None)  # filter errors become a 400 before streaming

    def all_pages():  # noqa: ANN202
        if first is not None:
            yield first
        yield from pages

    filename = f"spanscope-{req.rows}.{fmt}"
    return StreamingResponse(
        file_stream(all_pages(), fmt, req.rows, req.extract_fields or []),
        media_type=CONTENT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


routes = [Route("/api/v1/export", export, methods=["POST"])]
