"""``GET /api/v1/sdk/drops``: what the SDKs of a project reported dropping, by reason, since the start."""

from __future__ import annotations

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.server.context import project_of, state


async def sdk_drops(request: Request) -> Response:
    project = project_of(request)
    totals = getattr(state(request).store, "sdk_drop_totals", None)
    if totals is None:
        return JSONResponse({"error": "this store engine does not record SDK reports"}, status_code=501)
    data = await run_in_threadpool(totals, project)
    return Response(msgspec.json.encode(data), media_type="application/json")


routes = [Route("/api/v1/sdk/drops", sdk_drops, methods=["GET"])]
