"""Datasets: versions, records, ground truth, diffs and fine-tuning examples.

``POST   /api/v1/datasets``                              create (version 0, empty)
``GET    /api/v1/datasets``                              list, each with its latest version
``GET    /api/v1/datasets/{name}``                       ``?version=``: one version's number, hash, size
``DELETE /api/v1/datasets/{name}``                       delete with every version
``GET    /api/v1/datasets/{name}/versions``              every version with who/when/what changed
``GET    /api/v1/datasets/{name}/records``               ``?version=&offset=&limit=``
``POST   /api/v1/datasets/{name}/records``               add (or update by record_id) records
``POST   /api/v1/datasets/{name}/records/from-traces``   add one record per matching trace (mapping, sample)
``POST   /api/v1/datasets/{name}/records/remove``        remove records by id
``POST   /api/v1/datasets/{name}/expected``              set ground truth by record_id, source trace or a field
``GET    /api/v1/datasets/{name}/diff``                  ``?from=&to=``
``GET    /api/v1/datasets/{name}/finetune``              ``?version=&use_expected=&span_name=``: OpenAI chat examples

Every change answers the counts of what it did and ``dataset`` (the new latest version); a change that
changes nothing makes no version (``changed`` false).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanscope.server.context import BadRequest, project_of, state
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
from spanscope.store.datasets_core import SampleSpec, check_name, record_from_row

Who = Annotated[str, msgspec.Meta(max_length=256)]
_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._\\-]{0,127}$"


class CreateDataset(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(pattern=_NAME_PATTERN)]
    description: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    created_by: Who | None = None


class AddRecords(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Records as flat objects: fields, plus optional ``record_id``, ``expected``, ``source_trace_id``,
    ``source_span_id``."""

    records: list[dict[str, Any]]
    dedupe: bool = True
    by: Who | None = None


class DatasetSample(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    n: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] | None = None
    fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] | None = None
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None
    stratify_by: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)] | None = None
    buckets: Annotated[int, msgspec.Meta(ge=1, le=100)] | list[float] | None = None
    allocation: Literal["equal", "proportional"] = "equal"


class FromTraces(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One record per trace matching ``filter``; ``mapping`` maps record fields to extract-field paths."""

    mapping: dict[str, Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]]
    filter: str | None = None
    sample: DatasetSample | None = None
    dedupe: bool = True
    required: list[str] | None = None
    max_traces: Annotated[int, msgspec.Meta(ge=0, le=100_000)] = 10_000
    by: Who | None = None


class RemoveRecords(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    record_ids: list[Annotated[str, msgspec.Meta(max_length=128)]]
    by: Who | None = None


class ExpectedItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    match: Any
    expected: Any = None


class SetExpected(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Ground truth by ``key`` (``record_id``, ``source_trace_id``, ``source_span_id`` or a field name):
    every record whose key equals an item's ``match`` gets its ``expected``."""

    items: list[ExpectedItem]
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] = "record_id"
    by: Who | None = None


def _name(request: Request) -> str:
    return check_name(request.path_params["name"])


def _store(request: Request) -> Any:
    return state(request).store


async def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    return await run_in_threadpool(fn, *args, **kwargs)


async def _changed(request: Request, project: str, name: str, result: dict[str, Any]) -> Response:
    info = await _run(_store(request).get_dataset, project, name)
    return json_response({**result, "dataset": info})


@store_errors
async def create(request: Request) -> Response:
    body = await decode_body(request, CreateDataset)
    info = await _run(_store(request).create_dataset, project_of(request), body.name, body.description, body.created_by)
    return json_response(info, 201)


@store_errors
async def list_all(request: Request) -> Response:
    return json_response({"datasets": await _run(_store(request).list_datasets, project_of(request))})


@store_errors
async def get_one(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    version = int_param(request, "version", None)
    info = await _run(_store(request).get_dataset, project, name, version)
    if info is None:
        what = f"version {version} of dataset" if version is not None else "dataset"
        raise HttpError(404, f"no {what} {name!r} in project {project!r}")
    return json_response(info)


@store_errors
async def delete(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    if not await _run(_store(request).delete_dataset, project, name):
        raise HttpError(404, f"no dataset {name!r} in project {project!r}")
    return json_response({"deleted": True})


@store_errors
async def versions(request: Request) -> Response:
    return json_response(
        {"versions": await _run(_store(request).dataset_versions, project_of(request), _name(request))}
    )


@store_errors
async def records(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    version = int_param(request, "version", None)
    offset = int_param(request, "offset", 0) or 0
    limit = int_param(request, "limit", None, 0, 1_000_000)
    store = _store(request)

    def run() -> dict[str, Any]:
        info = store.get_dataset(project, name, version)
        if info is None:
            what = f"version {version} of dataset" if version is not None else "dataset"
            raise HttpError(404, f"no {what} {name!r} in project {project!r}")
        recs = store.dataset_records(project, name, info["version"], offset, limit)
        return {"dataset": name, "version": info["version"], "content_hash": info["content_hash"], "records": recs}

    return json_response(await _run(run))


@store_errors
async def add_records(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    body = await decode_body(request, AddRecords)
    recs = [record_from_row(r, i) for i, r in enumerate(body.records)]
    result = await _run(
        _store(request).commit_dataset_version, project, name, add=recs, dedupe=body.dedupe, by=body.by,
        message="add_records", changes={"op": "add_records"},
    )  # fmt: skip
    return await _changed(request, project, name, result)


@store_errors
async def add_from_traces(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    body = await decode_body(request, FromTraces)
    s = body.sample or DatasetSample()
    if s.n is not None and s.fraction is not None:
        raise BadRequest("sample takes n or fraction, not both")
    spec = SampleSpec(s.n, s.fraction, s.seed, s.stratify_by, s.buckets, s.allocation)
    result = await _run(
        _store(request).add_dataset_records_from_traces, project, name, body.filter, body.mapping, sample=spec,
        dedupe=body.dedupe, max_traces=body.max_traces, required=body.required, by=body.by,
    )  # fmt: skip
    return await _changed(request, project, name, result)


@store_errors
async def remove_records(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    body = await decode_body(request, RemoveRecords)
    result = await _run(
        _store(request).commit_dataset_version, project, name, remove=body.record_ids, by=body.by,
        message="remove_records", changes={"op": "remove_records"},
    )  # fmt: skip
    return await _changed(request, project, name, result)


@store_errors
async def set_expected(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    body = await decode_body(request, SetExpected)
    triples = [(body.key, it.match, it.expected) for it in body.items]
    result = await _run(
        _store(request).commit_dataset_version, project, name, expected=triples, by=body.by,
        message="set_expected", changes={"op": "set_expected", "key": body.key},
    )  # fmt: skip
    return await _changed(request, project, name, result)


@store_errors
async def diff(request: Request) -> Response:
    project, name = project_of(request), _name(request)
    a = int_param(request, "from", None)
    b = int_param(request, "to", None)
    if a is None or b is None:
        raise BadRequest("diff needs ?from=<version>&to=<version>")
    return json_response(await _run(_store(request).dataset_diff, project, name, a, b))


@store_errors
async def finetune(request: Request) -> Response:
    from spanscope.datasets.finetune import chat_example

    project, name = project_of(request), _name(request)
    version = int_param(request, "version", None)
    use_expected = bool_param(request, "use_expected", True)
    span_name = request.query_params.get("span_name") or None
    store = _store(request)

    def run() -> dict[str, Any]:
        recs = store.dataset_records(project, name, version)
        trace_ids = sorted({r["source_trace_id"] for r in recs if r["source_trace_id"]})
        traces: dict[str, Any] = {}
        for i in range(0, len(trace_ids), 500):
            traces.update(store.dataset_trace_contexts(project, trace_ids[i : i + 500], spans=True))
        examples, skipped = [], []
        for r in recs:
            trace = traces.get(r["source_trace_id"]) if r["source_trace_id"] else None
            messages, reason = chat_example(r, trace, use_expected=use_expected, span_name=span_name)
            if messages is None:
                skipped.append({"record_id": r["record_id"], "reason": reason})
            else:
                examples.append(
                    {"record_id": r["record_id"], "source_trace_id": r["source_trace_id"], "messages": messages}
                )
        return {"examples": examples, "skipped": skipped}

    return json_response(await _run(run))


routes = [
    Route("/api/v1/datasets", create, methods=["POST"]),
    Route("/api/v1/datasets", list_all, methods=["GET"]),
    Route("/api/v1/datasets/{name}", get_one, methods=["GET"]),
    Route("/api/v1/datasets/{name}", delete, methods=["DELETE"]),
    Route("/api/v1/datasets/{name}/versions", versions, methods=["GET"]),
    Route("/api/v1/datasets/{name}/records", records, methods=["GET"]),
    Route("/api/v1/datasets/{name}/records", add_records, methods=["POST"]),
    Route("/api/v1/datasets/{name}/records/from-traces", add_from_traces, methods=["POST"]),
    Route("/api/v1/datasets/{name}/records/remove", remove_records, methods=["POST"]),
    Route("/api/v1/datasets/{name}/expected", set_expected, methods=["POST"]),
    Route("/api/v1/datasets/{name}/diff", diff, methods=["GET"]),
    Route("/api/v1/datasets/{name}/finetune", finetune, methods=["GET"]),
]

SCHEMAS = (CreateDataset, AddRecords, FromTraces, RemoveRecords, SetExpected)


def openapi_paths() -> dict[str, Any]:
    p = [path_param("name", _NAME_PATTERN), project_param()]
    version = query_param("version", "integer")
    changed = "Counts of what changed and the dataset's new latest version"
    return {
        "/api/v1/datasets": {
            "post": {
                "summary": "Create a dataset (version 0, empty)",
                "parameters": [project_param()],
                "requestBody": json_body("CreateDataset"),
                "responses": {**responses("", 400, 409), "201": {"description": "Created"}},
            },
            "get": {"summary": "List datasets", "parameters": [project_param()], "responses": responses("Datasets")},
        },
        "/api/v1/datasets/{name}": {
            "get": {
                "summary": "One version (default: latest) of a dataset",
                "parameters": [*p, version],
                "responses": responses("The dataset", 400, 404),
            },
            "delete": {
                "summary": "Delete a dataset with all its versions",
                "parameters": p,
                "responses": responses("Deleted", 400, 404),
            },
        },
        "/api/v1/datasets/{name}/versions": {
            "get": {
                "summary": "Every version: hash, size, who, when, what changed",
                "parameters": p,
                "responses": responses("Versions", 400, 404),
            },
        },
        "/api/v1/datasets/{name}/records": {
            "get": {
                "summary": "The records of a version",
                "parameters": [*p, version, query_param("offset", "integer"), query_param("limit", "integer")],
                "responses": responses("Records", 400, 404),
            },
            "post": {
                "summary": "Add records (a known record_id updates it)",
                "parameters": p,
                "requestBody": json_body("AddRecords"),
                "responses": responses(changed, 400, 404),
            },
        },
        "/api/v1/datasets/{name}/records/from-traces": {
            "post": {
                "summary": "Add one record per trace matching a filter, fields by extract-field paths",
                "parameters": p,
                "requestBody": json_body("FromTraces"),
                "responses": responses(changed, 400, 404),
            },
        },
        "/api/v1/datasets/{name}/records/remove": {
            "post": {
                "summary": "Remove records",
                "parameters": p,
                "requestBody": json_body("RemoveRecords"),
                "responses": responses(changed, 400, 404),
            },
        },
        "/api/v1/datasets/{name}/expected": {
            "post": {
                "summary": "Set ground truth (expected) by record id, source trace or a field",
                "parameters": p,
                "requestBody": json_body("SetExpected"),
                "responses": responses(changed, 400, 404),
            },
        },
        "/api/v1/datasets/{name}/diff": {
            "get": {
                "summary": "What changed between two versions",
                "parameters": [*p, query_param("from", "integer"), query_param("to", "integer")],
                "responses": responses("Added, removed, changed records", 400, 404),
            },
        },
        "/api/v1/datasets/{name}/finetune": {
            "get": {
                "summary": "OpenAI chat fine-tuning examples from the records' traces",
                "parameters": [*p, version, query_param("use_expected", "boolean"), query_param("span_name")],
                "responses": responses("Examples and skipped records", 400, 404),
            },
        },
    }
