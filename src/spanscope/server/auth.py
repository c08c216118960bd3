"""Authentication: ``Authorization: Bearer <key>`` on every API route when ``--require-auth`` is on.

A pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware on the ingest hot path). Protected
paths: ``/api/``, ``/v1/`` (OTLP) and ``/metrics``; ``/healthz``, the OpenAPI document and the UI's static
files stay open. The project of a request comes from its key (``scope["state"]["spanscope_project"]``);
the ``X-Spanscope-Project`` header is ignored when auth is on, so a key can only reach its own project.

No key or a malformed/unknown key -> 401; a revoked key -> 403.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from spanscope.server.keys import KeyStore

PROTECTED_PREFIXES = ("/api/", "/v1/", "/metrics")
AUTH_PROJECT = "spanscope_project"


class AuthMiddleware:
    def __init__(self, app: ASGIApp, keys: KeyStore):
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        token = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and rest.strip():
                    token = rest.strip()
                break
        if token is None:
            await _deny(send, 401, "missing API key: send 'Authorization: Bearer <key>'")
            return
        rec = self.keys.verify(token)
        if rec is None:
            await _deny(send, 401, "invalid API key")
            return
        if rec.revoked:
            await _deny(send, 403, "this API key has been revoked")
            return
        scope.setdefault("state", {})[AUTH_PROJECT] = rec.project
        await self.app(scope, receive, send)


async def _deny(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b'Bearer realm="spanscope"'))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
