"""The ASGI app factory: routes, error handlers, and the store's lifetime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from spanscope.ingest.native import IngestError
from spanscope.query import FilterError
from spanscope.server.auth import AuthMiddleware
from spanscope.server.context import BadRequest, ServerState
from spanscope.server.decode_pool import DecodePool
from spanscope.server.keys import KeyStore
from spanscope.server.routes import analysis, export, health, ingest, otlp, traces, ui, ui_api
from spanscope.server.routes import datasets as dataset_routes
from spanscope.server.routes import evals as eval_routes
from spanscope.server.routes import findings as finding_routes
from spanscope.server.routes import metrics as metrics_routes
from spanscope.server.routes import monitors as monitors_routes
from spanscope.server.routes import sdk as sdk_routes
from spanscope.settings import resolve
from spanscope.store.base import Store
from spanscope.store.durable import StoreOverloaded

log = logging.getLogger("spanscope.server")


async def _filter_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FilterError)
    return JSONResponse({"error": str(exc), "column": exc.column}, status_code=400)


async def _ingest_error(request: Request, exc: Exception) -> JSONResponse:
    status = getattr(exc, "status_code", 400)
    return JSONResponse({"error": str(exc)}, status_code=status)


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreOverloaded)
    return JSONResponse({"error": str(exc)}, status_code=429, headers={"Retry-After": f"{exc.retry_after:g}"})


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal server error"}, status_code=500)


def create_app(
    store: Store,
    *,
    max_body_bytes: int | None = None,
    close_store: bool = True,
    keys: KeyStore | None = None,
    metrics: metrics_routes.MetricsConfig | None = None,
    monitors: monitors_routes.MonitorsConfig | str | None = None,
    otlp_decode_workers: int | None = None,
) -> Starlette:
    """Build the app around an open store. ``close_store`` closes it when the app shuts down.

    With ``keys``, every API route requires ``Authorization: Bearer <key>`` and the key decides the project.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            app.state.spanscope.decode_pool.close()
            if close_store:
                store.close()

    app = Starlette(
        routes=[
            *health.routes,
            *ingest.routes,
            *sdk_routes.routes,
            *otlp.routes,
            *traces.routes,
            *analysis.routes,
            *export.routes,
            *finding_routes.routes,
            *dataset_routes.routes,
            *eval_routes.routes,
            *ui_api.routes,
            *ui.routes,
        ],
        exception_handlers={
            FilterError: _filter_error,
            IngestError: _ingest_error,
            BadRequest: _ingest_error,
            StoreOverloaded: _overloaded,
            HTTPException: _http_error,
            Exception: _internal_error,
        },
        lifespan=lifespan,
        middleware=[Middleware(AuthMiddleware, keys=keys)] if keys is not None else None,
    )
    app.state.spanscope = ServerState(
        store=store,
        max_body_bytes=int(resolve("max_body_bytes", max_body_bytes)),
        decode_pool=DecodePool(int(resolve("otlp_decode_workers", otlp_decode_workers))),
    )
    metrics_routes.install(app, metrics)  # GET /metrics, fed by an ingest listener (docs/metrics.md)
    monitors_routes.install(app, monitors)  # /api/v1/monitors + the scheduler (docs/monitors.md)
    return app
