"""What every route needs: the store, the settings in force, and how a request names its project."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request

from spanscope.ingest.native import BodyTooLarge, IngestBatch
from spanscope.server.decode_pool import DecodePool
from spanscope.store.base import Store

log = logging.getLogger("spanscope.server")

PROJECT_HEADER = "x-spanscope-project"
DEFAULT_PROJECT = "default"
_PROJECT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


class BadRequest(ValueError):
    status_code = 400


IngestListener = Callable[[str, IngestBatch], None]


@dataclass(slots=True)
class ServerState:
    store: Store
    max_body_bytes: int
    # Called with (project, batch) after every acknowledged write, whatever the route (native, OTLP):
    # metrics and monitors hang off this. A listener must be quick and must not raise.
    ingest_listeners: list[IngestListener] = field(default_factory=list)
    decode_pool: DecodePool = field(default_factory=lambda: DecodePool(0))

    def write(self, project: str, batch: IngestBatch) -> None:
        """Store a validated batch (durable on return), then tell the listeners. Runs in a worker thread."""
        self.store.write(project, batch)
        for listener in self.ingest_listeners:
            try:
                listener(project, batch)
            except Exception:  # noqa: BLE001 - a listener bug must not fail an acknowledged write
                log.exception("ingest listener %r failed", listener)


def state(request: Request) -> ServerState:
    return request.app.state.spanscope


def project_of(request: Request, body_project: str | None = None) -> str:
    """The project a request addresses: its API key's project when auth is on; otherwise the
    ``X-Spanscope-Project`` header, then ``?project=``, then a body field, then ``default``."""
    keyed = request.scope.get("state", {}).get("spanscope_project")
    if keyed is not None:
        return keyed
    project = request.headers.get(PROJECT_HEADER) or request.query_params.get("project") or body_project
    if not project:
        return DEFAULT_PROJECT
    if not _PROJECT_RE.match(project):
        raise BadRequest(
            f"invalid project name {project!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit"
        )
    return project


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing (413) anything over ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size_declared = int(declared)
        except ValueError:
            raise BadRequest("invalid Content-Length header") from None
        if size_declared > limit:
            raise BodyTooLarge(f"body of {size_declared} bytes is over the {limit} byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body is over the {limit} byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
