"""``GET /metrics``: Prometheus exposition of the per-project LLM metrics and the server's health.

Which series a scrape sees: with ``--require-auth`` the API key's project's series plus the server-wide
health series (which carry no project data); without auth every project's, or one project's with
``?project=``. ``install`` wires the registry into an app: the ingest listener, the request-timing
middleware, the route, and label seeding from the store at start-up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanscope.metrics import IngestTimingMiddleware, MetricsConfig, MetricsRegistry, render
from spanscope.server.auth import AUTH_PROJECT
from spanscope.server.context import BadRequest


def registry_of(request: Request) -> MetricsRegistry:
    return request.app.state.spanscope_metrics


async def metrics(request: Request) -> Response:
    project = request.scope.get("state", {}).get(AUTH_PROJECT)
    if project is None:
        project = request.query_params.get("project") or None
    elif request.query_params.get("project") not in (None, project):
        raise BadRequest(f"this API key can only read project {project!r}")
    body, content_type = await run_in_threadpool(render, registry_of(request), project, request.headers.get("accept"))
    return Response(body, media_type=None, headers={"Content-Type": content_type})


routes = [Route("/metrics", metrics, methods=["GET"])]


def install(app: Starlette, config: MetricsConfig | None = None) -> MetricsRegistry:
    """Add ``/metrics`` to an app built by ``create_app`` (its ``ServerState`` must exist)."""
    st = app.state.spanscope
    registry = MetricsRegistry(st.store, config)
    app.state.spanscope_metrics = registry
    st.ingest_listeners.append(registry.on_ingest)
    app.router.routes.extend(routes)
    # Outermost, so requests refused by authentication are counted too.
    app.add_middleware(IngestTimingMiddleware, metrics=registry)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as value:
            await run_in_threadpool(registry.seed_from_store)
            yield value

    app.router.lifespan_context = lifespan
    return registry
