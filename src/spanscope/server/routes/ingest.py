"""``POST /api/v1/ingest``: the native ingest API (traces, spans, events, findings in one body)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from spanscope.ingest.native import decode_ingest, decompress
from spanscope.server.context import project_of, read_body, state


async def ingest(request: Request) -> JSONResponse:
    st = state(request)
    project = project_of(request)
    body = await read_body(request, st.max_body_bytes)
    body = decompress(body, request.headers.get("content-encoding"), st.max_body_bytes)
    batch = decode_ingest(body)
    if batch.accepted_total or batch.sdk_stats:
        await run_in_threadpool(st.write, project, batch)
    status = 200 if batch.accepted_total or not batch.rejected else 400
    return JSONResponse(
        {
            "accepted": batch.accepted_counts(),
            "rejected": [r.to_dict() for r in batch.rejected],
        },
        status_code=status,
    )


routes = [Route("/api/v1/ingest", ingest, methods=["POST"])]
