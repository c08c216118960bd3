"""Times ingest requests (native and OTLP) for ``spanscope_ingest_request_*``: a pure ASGI middleware.

It sits outside authentication, so refused requests (401/403) are counted too, and costs two clock reads and
a wrapped ``send`` on the ingest paths only.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROTOCOLS = {"/api/v1/ingest": "native", "/v1/traces": "otlp"}


class IngestTimingMiddleware:
    def __init__(self, app: ASGIApp, metrics: Any) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        protocol = PROTOCOLS.get(scope["path"]) if scope["type"] == "http" else None
        if protocol is None:
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe_request(protocol, status, time.perf_counter() - t0)
