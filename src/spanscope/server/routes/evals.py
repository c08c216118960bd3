"""Evaluation runs and their comparison.

``POST /api/v1/runs``                   start a run (``evaluate`` does this first)
``GET  /api/v1/runs``                   ``?dataset=&limit=``: runs, newest first
``GET  /api/v1/runs/{run}``             a run by id or name (the latest of that name); ``?results=false``
``POST /api/v1/runs/{run}/results``     per-record results, and the scores as findings on the calls' traces
``POST /api/v1/runs/{run}/finish``      status and aggregates
``POST /api/v1/runs/compare``           ``{"run_a", "run_b"}``: per metric means, difference, 95% CI, p, verdict
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanscope.server.context import project_of, state
from spanscope.server.routes.findings import FindingIn, store_findings
from spanscope.server.routes.quality_common import (
    HttpError,
    bool_param,
    decode_body,
    int_param,
    json_body,
    json_response,
    path_param,
    project_param,
    query_param,
    responses,
    store_errors,
)

Text = Annotated[str, msgspec.Meta(max_length=1000)]


class CreateRun(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    dataset: Text | None = None
    dataset_version: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] | None = None
    dataset_hash: Text | None = None
    app: Text | None = None
    scorers: list[dict[str, Any]] = []
    params: dict[str, Any] = {}


class RunResult(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    record_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    position: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)] = 0
    trace_id: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")] | None = None
    inputs: Any = None
    outputs: Any = None
    expected: Any = None
    scores: dict[str, bool | int | float | str | None] = {}
    rationales: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    error: str | None = None
    latency_ms: float | None = None
    source_trace_id: Text | None = None


class RunResults(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    results: list[RunResult]
    findings: list[FindingIn] = []


class FinishRun(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    status: Literal["finished", "failed"] = "finished"
    aggregates: dict[str, Any] = {}


class CompareRuns(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Run A (before) and run B (after), by id or name."""

    run_a: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    run_b: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    metrics: list[str] | None = None
    lower_is_better: list[str] = []
    include_latency: bool = False
    alpha: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05
    n_boot: Annotated[int, msgspec.Meta(ge=100, le=20_000)] = 5000
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] = 0


def _store(request: Request) -> Any:
    return state(request).store


async def _run_or_404(request: Request, ref: str, results: bool) -> dict[str, Any]:
    project = project_of(request)
    run = await run_in_threadpool(_store(request).get_run, project, ref, results=results)
    if run is None:
        raise HttpError(404, f"no run {ref!r} in project {project!r}")
    return run


@store_errors
async def create(request: Request) -> Response:
    body = await decode_body(request, CreateRun)
    run = await run_in_threadpool(
        _store(request).create_run, project_of(request), name=body.name, dataset=body.dataset,
        dataset_version=body.dataset_version, dataset_hash=body.dataset_hash, app=body.app, scorers=body.scorers,
        params=body.params,
    )  # fmt: skip
    return json_response(run, 201)


@store_errors
async def list_runs(request: Request) -> Response:
    runs = await run_in_threadpool(
        _store(request).list_runs, project_of(request), request.query_params.get("dataset") or None,
        int_param(request, "limit", 100, 1, 10_000),
    )  # fmt: skip
    return json_response({"runs": runs})


@store_errors
async def get_one(request: Request) -> Response:
    return json_response(await _run_or_404(request, request.path_params["run"], bool_param(request, "results", True)))


@store_errors
async def add_results(request: Request) -> Response:
    body = await decode_body(request, RunResults)
    run = await _run_or_404(request, request.path_params["run"], False)
    project = project_of(request)
    st = state(request)
    ids = await run_in_threadpool(store_findings, st, project, body.findings) if body.findings else []
    rows = [msgspec.structs.asdict(r) for r in body.results]
    stored = await run_in_threadpool(_store(request).add_run_results, project, run["run_id"], rows)
    return json_response({"stored": stored, "finding_ids": [i["finding_id"] for i in ids]})


@store_errors
async def finish(request: Request) -> Response:
    body = await decode_body(request, FinishRun)
    run = await _run_or_404(request, request.path_params["run"], False)
    done = await run_in_threadpool(
        _store(request).finish_run, project_of(request), run["run_id"], body.status, body.aggregates
    )
    return json_response(done)


@store_errors
async def compare(request: Request) -> Response:
    from spanscope.evals.compare import compare_run_dicts

    body = await decode_body(request, CompareRuns)
    a = await _run_or_404(request, body.run_a, True)
    b = await _run_or_404(request, body.run_b, True)

    def run() -> dict[str, Any]:
        return compare_run_dicts(
            a,
            b,
            metrics=body.metrics,
            lower_is_better=body.lower_is_better,
            include_latency=body.include_latency,
            alpha=body.alpha,
            n_boot=body.n_boot,
            seed=body.seed,
        ).to_dict()  # fmt: skip

    return json_response(await run_in_threadpool(run))


routes = [
    Route("/api/v1/runs", create, methods=["POST"]),
    Route("/api/v1/runs", list_runs, methods=["GET"]),
    Route("/api/v1/runs/compare", compare, methods=["POST"]),
    Route("/api/v1/runs/{run}", get_one, methods=["GET"]),
    Route("/api/v1/runs/{run}/results", add_results, methods=["POST"]),
    Route("/api/v1/runs/{run}/finish", finish, methods=["POST"]),
]

SCHEMAS = (CreateRun, RunResults, FinishRun, CompareRuns)


def openapi_paths() -> dict[str, Any]:
    p = [path_param("run"), project_param()]
    return {
        "/api/v1/runs": {
            "post": {
                "summary": "Start an evaluation run",
                "parameters": [project_param()],
                "requestBody": json_body("CreateRun"),
                "responses": {**responses("", 400), "201": {"description": "Created"}},
            },
            "get": {
                "summary": "Evaluation runs, newest first",
                "parameters": [project_param(), query_param("dataset"), query_param("limit", "integer")],
                "responses": responses("Runs", 400),
            },
        },
        "/api/v1/runs/compare": {
            "post": {
                "summary": "Compare two runs metric by metric (paired where they share records)",
                "parameters": [project_param()],
                "requestBody": json_body("CompareRuns"),
                "responses": responses(
                    "Per metric: means, difference, 95% CI, p, verdict; records that got worse", 400, 404
                ),
            },
        },
        "/api/v1/runs/{run}": {
            "get": {
                "summary": "A run by id or name, with its per-record results",
                "parameters": [*p, query_param("results", "boolean")],
                "responses": responses("The run", 400, 404),
            },
        },
        "/api/v1/runs/{run}/results": {
            "post": {
                "summary": "Store per-record results and the scores as findings",
                "parameters": p,
                "requestBody": json_body("RunResults"),
                "responses": responses("Stored", 400, 404),
            },
        },
        "/api/v1/runs/{run}/finish": {
            "post": {
                "summary": "Finish a run with its aggregates",
                "parameters": p,
                "requestBody": json_body("FinishRun"),
                "responses": responses("The run", 400, 404),
            },
        },
    }
