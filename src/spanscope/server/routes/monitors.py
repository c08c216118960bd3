"""``/api/v1/monitors``: declare, list, test, evaluate monitors and read their history (docs/monitors.md).

=========================================  =====================================================
``GET    /api/v1/monitors``                the project's monitors with their state
``POST   /api/v1/monitors``                create or replace one (a :class:`MonitorSpec` body)
``POST   /api/v1/monitors/test``           evaluate a spec or a bare ``rule`` now; nothing is stored
``POST   /api/v1/monitors/evaluate``       evaluate every monitor of the project now (state + notify)
``GET    /api/v1/monitors/history``        every monitor's state changes, newest first (``?limit=``)
``GET    /api/v1/monitors/{name}``         one monitor with its state
``DELETE /api/v1/monitors/{name}``         remove one (409 for monitors from the monitors file)
``POST   /api/v1/monitors/{name}/evaluate`` evaluate one now
``GET    /api/v1/monitors/{name}/history`` its state changes, newest first (``?limit=``)
=========================================  =====================================================

Evaluation bodies may carry ``"at"`` (epoch milliseconds or ISO-8601) to evaluate as of another instant.
``install`` adds the routes, the service, its scheduler (started and stopped with the app) and the monitor
gauges in ``/metrics``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spanscope.monitors import (
    MonitorConflict,
    MonitorsConfig,
    MonitorService,
    MonitorSpecError,
    spec_from_dict,
)
from spanscope.monitors.rules import MonitorRuleError
from spanscope.server.context import BadRequest, project_of, read_body

_BODY_LIMIT = 256 * 1024


def service_of(request: Request) -> MonitorService:
    return request.app.state.spanscope_monitors


def _json(data: Any, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status_code, media_type="application/json")


def _error(exc: Exception, status_code: int = 400) -> JSONResponse:
    body: dict[str, Any] = {"error": str(exc)}
    if getattr(exc, "column", None) is not None:
        body["column"] = exc.column  # type: ignore[attr-defined]
    return JSONResponse(body, status_code=status_code)


async def _body(request: Request) -> dict[str, Any]:
    raw = await read_body(request, _BODY_LIMIT)
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("expected a JSON object")
    return data


def parse_at(value: Any) -> int | None:
    """Epoch milliseconds or an ISO-8601 date/datetime (UTC unless a zone is given) -> nanoseconds."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value * 1_000_000)
    if isinstance(value, str):
        try:
            return int(float(value) * 1_000_000)
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest(f"invalid 'at' {value!r}: use epoch milliseconds or ISO-8601") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return int(dt.timestamp() * 1e9)
    raise BadRequest(f"invalid 'at' {value!r}: use epoch milliseconds or ISO-8601")


async def list_monitors(request: Request) -> Response:
    project = project_of(request)
    return _json({"monitors": await run_in_threadpool(service_of(request).describe, project)})


async def put_monitor(request: Request) -> Response:
    data = await _body(request)
    project = project_of(request, data.get("project") if isinstance(data.get("project"), str) else None)
    try:
        spec = spec_from_dict(data, project=project)
        await run_in_threadpool(service_of(request).put, spec)
    except MonitorConflict as exc:
        return _error(exc, 409)
    except (MonitorSpecError, MonitorRuleError) as exc:
        return _error(exc)
    return _json(await run_in_threadpool(service_of(request).get, spec.project, spec.name), 201)


async def get_monitor(request: Request) -> Response:
    name = request.path_params["name"]
    project = project_of(request)
    found = await run_in_threadpool(service_of(request).get, project, name)
    if found is None:
        return JSONResponse({"error": f"no monitor {name!r} in project {project!r}"}, 404)
    return _json(found)


async def delete_monitor(request: Request) -> Response:
    name = request.path_params["name"]
    project = project_of(request)
    try:
        deleted = await run_in_threadpool(service_of(request).delete, project, name)
    except MonitorConflict as exc:
        return _error(exc, 409)
    if not deleted:
        return JSONResponse({"error": f"no monitor {name!r} in project {project!r}"}, 404)
    return _json({"deleted": name})


async def test_monitor(request: Request) -> Response:
    data = await _body(request)
    at = parse_at(data.pop("at", None))
    project = project_of(request, data.get("project") if isinstance(data.get("project"), str) else None)
    data.setdefault("name", "adhoc")
    try:
        spec = spec_from_dict(data, project=project)
        result = await run_in_threadpool(service_of(request).test, spec, at)
    except (MonitorSpecError, MonitorRuleError) as exc:
        return _error(exc)
    return _json(result)


async def evaluate_all(request: Request) -> Response:
    data = await _body(request)
    project = project_of(request)
    results = await run_in_threadpool(service_of(request).run_project, project, parse_at(data.get("at")))
    return _json({"results": results})


async def evaluate_one(request: Request) -> Response:
    data = await _body(request)
    name = request.path_params["name"]
    project = project_of(request)
    svc = service_of(request)
    found = await run_in_threadpool(svc.db.get, project, name)
    if found is None:
        return JSONResponse({"error": f"no monitor {name!r} in project {project!r}"}, 404)
    return _json(await run_in_threadpool(svc.run, found[0], parse_at(data.get("at"))))


async def history(request: Request) -> Response:
    name = request.path_params.get("name")  # None: every monitor of the project
    project = project_of(request)
    try:
        limit = max(1, min(int(request.query_params.get("limit", "100")), 10_000))
    except ValueError:
        raise BadRequest("limit must be an integer") from None
    return _json({"events": await run_in_threadpool(service_of(request).history, project, name, limit)})


routes = [
    Route("/api/v1/monitors", list_monitors, methods=["GET"]),
    Route("/api/v1/monitors", put_monitor, methods=["POST"]),
    Route("/api/v1/monitors/test", test_monitor, methods=["POST"]),
    Route("/api/v1/monitors/evaluate", evaluate_all, methods=["POST"]),
    Route("/api/v1/monitors/history", history, methods=["GET"]),
    Route("/api/v1/monitors/{name}", get_monitor, methods=["GET"]),
    Route("/api/v1/monitors/{name}", delete_monitor, methods=["DELETE"]),
    Route("/api/v1/monitors/{name}/evaluate", evaluate_one, methods=["POST"]),
    Route("/api/v1/monitors/{name}/history", history, methods=["GET"]),
]


def install(app: Starlette, config: MonitorsConfig | str | Path | None = None) -> MonitorService:
    """Add monitors to an app built by ``create_app``; ``config`` may be just the monitors file."""
    if isinstance(config, str | Path):
        config = MonitorsConfig(file=config)
    service = MonitorService(app.state.spanscope.store, config)
    app.state.spanscope_monitors = service
    app.router.routes.extend(routes)
    metrics = getattr(app.state, "spanscope_metrics", None)
    if metrics is not None:
        metrics.extra.append(service.collect)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        async with inner(a) as value:
            service.start()
            try:
                yield value
            finally:
                # Before the store closes (the inner context's exit).
                await run_in_threadpool(service.stop)

    app.router.lifespan_context = lifespan
    return service


def openapi_paths(c: str, err: dict[str, Any], project: dict[str, Any], body: Any, resp: Any) -> dict[str, Any]:
    """The OpenAPI entries of ``/metrics`` and ``/api/v1/monitors`` (for ``openapi.py``); ``MonitorSpec`` must be
    among its components."""
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    at = {
        "required": False,
        "content": {"application/json": {"schema": {"type": "object", "properties": {"at": {}}}}},
        "description": "Optional {'at': epoch ms or ISO-8601}: evaluate as of that instant.",
    }
    return {
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text 0.0.4; OpenMetrics with trace-id exemplars when asked for): "
                "spans, errors, latency, tokens, cost, findings per project, and server health",
                "parameters": [
                    {"name": "project", "in": "query", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "The exposition", "content": {"text/plain": {}}}},
            }
        },
        "/api/v1/monitors": {
            "get": {
                "summary": "Monitors of the project, with their state",
                "parameters": [project],
                "responses": {"200": resp("Monitors")},
            },
            "post": {
                "summary": "Create or replace a monitor (409 for one declared in the monitors file)",
                "parameters": [project],
                "requestBody": body(c + "MonitorSpec"),
                "responses": {"201": resp("The monitor"), "400": err, "409": err},
            },
        },
        "/api/v1/monitors/test": {
            "post": {
                "summary": "Evaluate a monitor spec (or just {'rule': ...}) now; nothing is stored or notified",
                "parameters": [project],
                "requestBody": body(c + "MonitorSpec"),
                "responses": {"200": resp("The evaluation"), "400": err},
            }
        },
        "/api/v1/monitors/evaluate": {
            "post": {
                "summary": "Evaluate every monitor of the project now",
                "parameters": [project],
                "requestBody": at,
                "responses": {"200": resp("State changes and evaluations")},
            }
        },
        "/api/v1/monitors/history": {
            "get": {
                "summary": "State changes of every monitor, newest first",
                "parameters": [project],
                "responses": {"200": resp("Events")},
            }
        },
        "/api/v1/monitors/{name}": {
            "get": {
                "summary": "One monitor with its state",
                "parameters": [name, project],
                "responses": {"200": resp("The monitor"), "404": err},
            },
            "delete": {
                "summary": "Remove a monitor",
                "parameters": [name, project],
                "responses": {"200": resp("Deleted"), "404": err, "409": err},
            },
        },
        "/api/v1/monitors/{name}/evaluate": {
            "post": {
                "summary": "Evaluate one monitor now (moves its state, notifies on a change)",
                "parameters": [name, project],
                "requestBody": at,
                "responses": {"200": resp("The evaluation"), "404": err},
            }
        },
        "/api/v1/monitors/{name}/history": {
            "get": {
                "summary": "State changes of one monitor, newest first",
                "parameters": [name, project],
                "responses": {"200": resp("Events")},
            }
        },
    }
