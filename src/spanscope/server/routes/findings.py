"""Findings (feedback, scores) written and read one at a time, with their history.

``POST /api/v1/findings``                          one finding, or ``{"findings": [...]}``; returns the id(s)
``GET  /api/v1/findings``                          ``?trace_id=&name=&include_superseded=&limit=``
``GET  /api/v1/findings/{finding_id}``             one finding with its history
``POST /api/v1/findings/{finding_id}/supersede``   a new value for a finding (the old one is kept)
``POST /api/v1/findings/compare``                  a finding or tag between two cohorts of production traces

A finding is written through the ingest log like any other (durable when the answer is sent). An update
is a new finding whose metadata ``spanscope.supersedes`` names the old one (see
``store/duckdb/findings.py``); superseding a finding that is already superseded is a 409, so a history
is a chain. ``supersede_previous`` on a batch makes each finding supersede the latest current finding of
the same trace, span, name and source (what re-scoring traces wants).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Annotated, Any, Literal

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spanscope.feedback import check_value
from spanscope.ingest.native import IngestBatch
from spanscope.model import Finding, is_trace_id
from spanscope.model.conventions import FindingSource
from spanscope.model.records import SpanId, TimeNs, TraceId
from spanscope.server.context import BadRequest, ServerState, project_of, state
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
from spanscope.store.duckdb.findings import SUPERSEDES

VALUE_TYPE = "spanscope.value_type"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ValueType = Literal["float", "int", "bool", "category", "text"]

# Check-then-write of a supersession, one at a time: two updates of one finding must not both win.
_LOCK = threading.Lock()


class FindingIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A finding to record. ``source`` defaults to ``human`` (this is the feedback API)."""

    trace_id: TraceId
    name: Name
    value: bool | int | float | str
    span_id: SpanId | None = None
    source: FindingSource = "human"
    rationale: str | None = None
    metadata: dict[str, Any] = {}
    time_ns: TimeNs | None = None
    finding_id: Id | None = None
    value_type: ValueType | None = None
    supersedes: Id | None = None


class FindingsBatch(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    findings: list[FindingIn]
    supersede_previous: bool = False


class SupersedeBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The new value of a finding; trace, span and name stay the old one's."""

    value: bool | int | float | str
    rationale: str | None = None
    metadata: dict[str, Any] = {}
    source: FindingSource | None = None
    value_type: ValueType | None = None


class FindingCompareRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Compare ``field`` (a finding name, ``finding.<name>`` or ``tag.<key>``) between the traces
    matching filter ``a`` and those matching ``b`` (each also matching ``filter``)."""

    field: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]
    a: str | None = None
    b: str | None = None
    filter: str | None = None
    higher_is_better: bool = True
    alpha: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.05
    n_boot: Annotated[int, msgspec.Meta(ge=100, le=20_000)] = 2000
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)] = 0


def infer_value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "category" if len(value) <= 64 and "\n" not in value else "text"


def store_findings(
    st: ServerState, project: str, items: list[FindingIn], supersede_previous: bool = False
) -> list[dict[str, Any]]:
    """Validate, link and write findings (durable on return); ``[{finding_id, supersedes}]``."""
    store: Any = st.store
    out: list[dict[str, Any]] = []
    findings: list[Finding] = []
    with _LOCK:
        now = time.time_ns()
        latest: dict[tuple[str, str | None, str, str], str] = {}
        if supersede_previous:
            keys = [(f.trace_id, f.span_id, f.name, f.source) for f in items if f.supersedes is None]
            latest = store.current_finding_ids(project, keys)
        taken: set[str] = set()
        for i, f in enumerate(items):
            where = f"finding {i}: " if len(items) > 1 else ""
            span_id = f.span_id
            old_id = f.supersedes
            if old_id is not None:
                old = store.get_finding(project, old_id)
                if old is None:
                    raise HttpError(404, f"{where}no finding {old_id!r} to supersede in project {project!r}")
                if old["trace_id"] != f.trace_id or old["name"] != f.name:
                    raise BadRequest(
                        f"{where}finding {old_id} is {old['name']!r} on trace {old['trace_id']}; an update keeps both"
                    )
                span_id = span_id if span_id is not None else old["span_id"]
                if span_id != old["span_id"]:
                    raise BadRequest(f"{where}finding {old_id} is on span {old['span_id']}; an update keeps it")
                if old["superseded_by"] is not None or old_id in taken:
                    current = old["superseded_by"] or "another finding of this request"
                    raise HttpError(
                        409, f"{where}finding {old_id} is already superseded by {current}; update the latest"
                    )
            elif supersede_previous:
                old_id = latest.get((f.trace_id, span_id, f.name, f.source))
            try:
                value_type = f.value_type or infer_value_type(f.value)
                check_value(f.value, value_type)
            except (TypeError, ValueError) as exc:
                raise BadRequest(f"{where}{exc}") from None
            fid = f.finding_id or os.urandom(16).hex()
            metadata = {**f.metadata, VALUE_TYPE: value_type}
            if old_id is not None:
                metadata[SUPERSEDES] = old_id
                taken.add(old_id)
            else:
                metadata.pop(SUPERSEDES, None)
            latest[(f.trace_id, span_id, f.name, f.source)] = fid
            findings.append(
                Finding(trace_id=f.trace_id, name=f.name, value=f.value, span_id=span_id, source=f.source,
                        rationale=f.rationale, time_ns=f.time_ns or now, metadata=metadata, finding_id=fid)
            )  # fmt: skip
            out.append({"finding_id": fid, "supersedes": old_id})
        if findings:
            st.write(project, IngestBatch(findings=findings))
    return out


@store_errors
async def post_findings(request: Request) -> Response:
    st = state(request)
    raw = await decode_body(request, dict[str, Any])
    try:
        if "findings" in raw:
            batch = msgspec.convert(raw, FindingsBatch)
            items, supersede_previous = batch.findings, batch.supersede_previous
        else:
            items, supersede_previous = [msgspec.convert(raw, FindingIn)], False
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid finding: {exc}") from None
    project = project_of(request)
    result = await run_in_threadpool(store_findings, st, project, items, supersede_previous)
    if "findings" in raw:
        return json_response({"finding_ids": [r["finding_id"] for r in result], "findings": result})
    return json_response(result[0])


@store_errors
async def get_finding(request: Request) -> Response:
    project = project_of(request)
    fid = request.path_params["finding_id"]
    found = await run_in_threadpool(state(request).store.get_finding, project, fid)  # type: ignore[attr-defined]
    if found is None:
        raise HttpError(404, f"no finding {fid!r} in project {project!r}")
    return json_response(found)


@store_errors
async def supersede(request: Request) -> Response:
    st = state(request)
    project = project_of(request)
    fid = request.path_params["finding_id"]
    body = await decode_body(request, SupersedeBody)
    old = await run_in_threadpool(st.store.get_finding, project, fid)  # type: ignore[attr-defined]
    if old is None:
        raise HttpError(404, f"no finding {fid!r} in project {project!r}")
    item = FindingIn(
        trace_id=old["trace_id"], name=old["name"], value=body.value, span_id=old["span_id"],
        source=body.source or old["source"], rationale=body.rationale,
        metadata={k: v for k, v in body.metadata.items() if k != SUPERSEDES}, value_type=body.value_type,
        supersedes=fid,
    )  # fmt: skip
    result = await run_in_threadpool(store_findings, st, project, [item])
    return json_response(result[0])


@store_errors
async def list_findings(request: Request) -> Response:
    project = project_of(request)
    trace_id = request.query_params.get("trace_id") or None
    if trace_id is not None and not is_trace_id(trace_id):
        raise BadRequest(f"invalid trace id {trace_id!r}: expected 32 lowercase hex digits")
    findings = await run_in_threadpool(
        state(request).store.list_findings,  # type: ignore[attr-defined]
        project,
        trace_id=trace_id,
        name=request.query_params.get("name") or None,
        include_superseded=bool_param(request, "include_superseded", False),
        limit=int_param(request, "limit", 1000, 1, 100_000),
    )
    return json_response({"findings": findings})


def _and(*parts: str | None) -> str | None:
    present = [p for p in parts if p and p.strip()]
    return " AND ".join(f"({p})" for p in present) or None


@store_errors
async def compare(request: Request) -> Response:
    from spanscope.evals.compare import compare_values

    body = await decode_body(request, FindingCompareRequest)
    project = project_of(request)
    store: Any = state(request).store

    def run() -> dict[str, Any]:
        try:
            va = dict(store.metric_values(project, body.field, _and(body.filter, body.a)))
            vb = dict(store.metric_values(project, body.field, _and(body.filter, body.b)))
        except ValueError as exc:
            if hasattr(exc, "column"):
                raise
            raise BadRequest(str(exc)) from None
        cmp = compare_values(
            body.field,
            va,
            vb,
            label_a=body.a or "all",
            label_b=body.b or "all",
            higher_is_better=body.higher_is_better,
            alpha=body.alpha,
            n_boot=body.n_boot,
            seed=body.seed,
        )
        return {**cmp.to_dict(), "field": body.field, "filter": body.filter}

    return json_response(await run_in_threadpool(run))


routes = [
    Route("/api/v1/findings", post_findings, methods=["POST"]),
    Route("/api/v1/findings", list_findings, methods=["GET"]),
    Route("/api/v1/findings/compare", compare, methods=["POST"]),
    Route("/api/v1/findings/{finding_id}", get_finding, methods=["GET"]),
    Route("/api/v1/findings/{finding_id}/supersede", supersede, methods=["POST"]),
]

SCHEMAS = (FindingIn, FindingsBatch, SupersedeBody, FindingCompareRequest)


def openapi_paths() -> dict[str, Any]:
    fid = path_param("finding_id")
    return {
        "/api/v1/findings": {
            "post": {
                "summary": "Record a finding now (or a batch); an update supersedes an earlier one",
                "parameters": [project_param()],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {"$ref": "#/components/schemas/FindingIn"},
                                    {"$ref": "#/components/schemas/FindingsBatch"},
                                ]
                            }
                        }
                    },
                },  # fmt: skip
                "responses": responses("The finding id(s)", 400, 404, 409),
            },
            "get": {
                "summary": "List findings (current ones unless include_superseded)",
                "parameters": [
                    project_param(),
                    query_param("trace_id"),
                    query_param("name"),
                    query_param("include_superseded", "boolean"),
                    query_param("limit", "integer"),
                ],
                "responses": responses("Findings with supersedes / superseded_by", 400),
            },
        },
        "/api/v1/findings/compare": {
            "post": {
                "summary": "Compare a finding or tag between two cohorts of production traces",
                "parameters": [project_param()],
                "requestBody": json_body("FindingCompareRequest"),
                "responses": responses("Per metric: means, difference, 95% CI, p, verdict", 400),
            }
        },
        "/api/v1/findings/{finding_id}": {
            "get": {
                "summary": "One finding with its history",
                "parameters": [fid, project_param()],
                "responses": responses("The finding", 404),
            }
        },
        "/api/v1/findings/{finding_id}/supersede": {
            "post": {
                "summary": "A new value for a finding; the old one stays in the history",
                "parameters": [fid, project_param()],
                "requestBody": json_body("SupersedeBody"),
                "responses": responses("The new finding's id", 400, 404, 409),
            }
        },
    }
