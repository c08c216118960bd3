"""Helpers shared by the quality-loop routes (findings, datasets, runs): JSON bodies decoded into msgspec
types (a 400 that names the problem otherwise), query parameters, and store errors as HTTP answers."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spanscope.server.context import BadRequest, read_body, state
from spanscope.store.datasets_core import DatasetError

T = TypeVar("T")
BODY_LIMIT = 8 * 1024 * 1024


class HttpError(Exception):
    """An answer other than 200 with an ``error`` message (404 unknown, 409 conflict…)."""

    def __init__(self, status_code: int, message: str):
        super().__init__(message)
        self.status_code = status_code


def json_response(data: object, status_code: int = 200) -> Response:
    return Response(msgspec.json.encode(data), status_code=status_code, media_type="application/json")


def error(message: str, status_code: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


async def decode_body(request: Request, typ: type[T], limit: int | None = None) -> T:
    """The JSON body as ``typ``; BadRequest (400) for an empty, malformed or ill-typed body."""
    cap = limit if limit is not None else max(BODY_LIMIT, state(request).max_body_bytes)
    body = await read_body(request, cap)
    if not body.strip():
        raise BadRequest("empty body; expected a JSON object")
    try:
        return msgspec.json.decode(body, type=typ)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid request body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None


def int_param(request: Request, name: str, default: int | None, lo: int = 0, hi: int = 2**31 - 1) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer, got {raw!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"query parameter {name!r} must be between {lo} and {hi}, got {value}")
    return value


def bool_param(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise BadRequest(f"query parameter {name!r} must be true or false, got {raw!r}")


def store_errors(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Answer a dataset error or an :class:`HttpError` with its status and message."""

    @functools.wraps(handler)
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except (DatasetError, HttpError) as exc:
            return error(str(exc), exc.status_code)

    return wrapped


def schema_ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema_ref(name)}}}


def project_param() -> dict[str, Any]:
    return {"name": "X-Spanscope-Project", "in": "header", "required": False, "schema": {"type": "string"}}


def path_param(name: str, pattern: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    if pattern:
        schema["pattern"] = pattern
    return {"name": name, "in": "path", "required": True, "schema": schema}


def query_param(name: str, typ: str = "string", description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": {"type": typ}}
    if description:
        out["description"] = description
    return out


def responses(ok: str, *errors: int) -> dict[str, Any]:
    out: dict[str, Any] = {"200": {"description": ok}}
    for code in errors:
        out[str(code)] = {
            "description": "Error",
            "content": {"application/json": {"schema": schema_ref("ErrorResponse")}},
        }
    return out
