"""``POST /v1/traces``: OTLP/HTTP trace export (protobuf or JSON, optionally gzip), per the OTLP spec.

Status codes: 200 with an ``ExportTraceServiceResponse`` (``partial_success`` when some spans were rejected),
400 for a body that can't be decoded, 413 for a body over the limit (before or after decompression), 415 for
a content type other than ``application/x-protobuf`` / ``application/json``, 429 with ``Retry-After`` when
the store is overloaded (OTLP exporters retry it with backoff). Error bodies are a ``google.rpc.Status`` in
the request's format (415: JSON ``{"error": ...}``, since the request's format is unknown).

The project is the API key's when auth is on; else the ``X-Spanscope-Project`` header, else the resource
attribute ``spanscope.project``, else ``default`` (all through ``project_of``).
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.ingest.native import IngestBatch, IngestError, decompress
from spanscope.ingest.otlp import (
    JSON,
    PROTOBUF,
    RPC_INVALID_ARGUMENT,
    RPC_RESOURCE_EXHAUSTED,
    RPC_UNAVAILABLE,
    encode_export_response,
    encode_status,
    format_of,
)
from spanscope.server.context import BadRequest, project_of, read_body, state
from spanscope.store.durable import StoreOverloaded

_MEDIA_TYPES = {PROTOBUF: "application/x-protobuf", JSON: "application/json"}


def _error(status_code: int, message: str, fmt: str, headers: dict[str, str] | None = None) -> Response:
    code = {413: RPC_RESOURCE_EXHAUSTED, 429: RPC_UNAVAILABLE}.get(status_code, RPC_INVALID_ARGUMENT)
    return Response(
        encode_status(code, message, fmt), status_code=status_code, media_type=_MEDIA_TYPES[fmt], headers=headers
    )


async def export_traces(request: Request) -> Response:
    fmt = format_of(request.headers.get("content-type"))
    if fmt is None:
        return JSONResponse(
            {
                "error": f"unsupported Content-Type {request.headers.get('content-type')!r}; "
                "send OTLP as application/x-protobuf or application/json"
            },
            status_code=415,
        )
    st = state(request)
    try:
        body = await read_body(request, st.max_body_bytes)
        body = decompress(body, request.headers.get("content-encoding"), st.max_body_bytes)
        decoded = await st.decode_pool.decode(body, fmt)
        by_project: dict[str, IngestBatch] = {}
        for resource_project, batch in decoded.batches.items():
            project = project_of(request, resource_project)
            into = by_project.get(project)
            if into is None:
                by_project[project] = batch
            else:
                into.spans.extend(batch.spans)
                into.traces.extend(batch.traces)
                into.findings.extend(batch.findings)
    except (IngestError, BadRequest) as exc:
        return _error(getattr(exc, "status_code", 400), str(exc), fmt)
    try:
        for project, batch in by_project.items():
            await run_in_threadpool(st.write, project, batch)
    except StoreOverloaded as exc:
        # Spans of a project written before this one stay written: a retry upserts them (last write wins).
        return _error(429, str(exc), fmt, {"Retry-After": f"{max(1, math.ceil(exc.retry_after))}"})
    return Response(encode_export_response(decoded, fmt), status_code=200, media_type=_MEDIA_TYPES[fmt])


routes = [Route("/v1/traces", export_traces, methods=["POST"])]
