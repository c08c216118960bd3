"""Value conversion helpers for the worker thread (``encode.py`` builds the wire records with them).

The application thread only keeps references to the user's values; here (off the hot path) they become
JSON-able builtins, attribute and tag values are coerced to the wire types (anything else becomes its
``str``), exceptions are formatted and the ``@observe`` arguments are bound to the function's signature.
A value that cannot be converted degrades to its ``repr`` rather than losing the span.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import inspect
import math
import os
import traceback
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import Any

import msgspec

from spanscope.model.conventions import EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE
from spanscope.model.records import Finding

_MAX_DEPTH = 64


class ExceptionInfo:
    """An exception seen leaving a span, kept raw until the worker formats it."""

    __slots__ = ("exc", "tb")

    def __init__(self, exc: BaseException, tb: TracebackType | None) -> None:
        self.exc = exc
        self.tb = tb

    def message(self) -> str:
        try:
            return str(self.exc)
        except Exception:
            return f"<unprintable {type(self.exc).__name__}>"

    def attributes(self) -> dict[str, Any]:
        cls = type(self.exc)
        module = cls.__module__
        qualname = cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"
        stack = "".join(traceback.format_exception(cls, self.exc, self.tb))
        return {EXCEPTION_TYPE: qualname, EXCEPTION_MESSAGE: self.message(), EXCEPTION_STACKTRACE: stack}


class SignatureCache:
    """One function's signature, computed once, lazily, on the worker thread."""

    __slots__ = ("func", "_sig", "_skip", "_done")

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self._sig: inspect.Signature | None = None
        self._skip: str | None = None
        self._done = False

    def get(self) -> tuple[inspect.Signature | None, str | None]:
        if not self._done:
            try:
                sig = inspect.signature(self.func)
                first = next(iter(sig.parameters), None)
                self._skip = first if first in ("self", "cls") else None
                self._sig = sig
            except (TypeError, ValueError):
                self._sig = None
            self._done = True
        return self._sig, self._skip


class DeferredInputs:
    """The arguments of an ``@observe``d call; bound to the signature (defaults applied) by the worker."""

    __slots__ = ("args", "cache", "kwargs")

    def __init__(self, cache: SignatureCache, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.cache = cache
        self.args = args
        self.kwargs = kwargs

    def resolve(self) -> dict[str, Any]:
        sig, skip = self.cache.get()
        if sig is not None:
            try:
                bound = sig.bind(*self.args, **self.kwargs)
            except TypeError:
                pass
            else:
                bound.apply_defaults()
                arguments = dict(bound.arguments)
                if skip is not None:
                    arguments.pop(skip, None)
                return arguments
        return {"args": list(self.args), "kwargs": dict(self.kwargs)}


def enc_hook(obj: Any) -> Any:
    """Make what msgspec can't encode JSON-able: pydantic-like models, dataclasses, sets, bytes, dates…"""
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and not isinstance(obj, type):
        try:
            return dump(mode="json")
        except TypeError:
            return dump()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    if isinstance(obj, dt.datetime | dt.date | dt.time):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return float(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    return repr(obj)


def _safe_repr(obj: Any) -> str:
    try:
        return repr(obj)
    except Exception:
        return f"<unrepresentable {type(obj).__name__}>"


def _sanitize(obj: Any, depth: int = 0) -> Any:
    """Slow path for values msgspec refuses as a whole (odd dict keys, cycles): convert piece by piece."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if depth >= _MAX_DEPTH:
        return _safe_repr(obj)
    if isinstance(obj, dict):
        items = list(obj.items())
        return {k if isinstance(k, str) else _safe_repr(k): _sanitize(v, depth + 1) for k, v in items}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_sanitize(v, depth + 1) for v in list(obj)]
    try:
        return _DECODER.decode(_ENCODER.encode(obj))
    except Exception:
        try:
            return _sanitize(enc_hook(obj), depth + 1)
        except Exception:
            return _safe_repr(obj)


_ENCODER = msgspec.json.Encoder(enc_hook=enc_hook, decimal_format="number")
_DECODER = msgspec.json.Decoder()


def json_value(obj: Any) -> Any:
    """Any user value as the JSON builtins the server will see (a JSON round trip: tuples become lists,
    Decimal a float, NaN null, unknown objects their repr)."""
    if obj is None or type(obj) in (str, int, bool):
        return obj
    if type(obj) is DeferredInputs:
        obj = obj.resolve()
    try:
        return _DECODER.decode(_ENCODER.encode(obj))
    except Exception:
        return _sanitize(obj)


def scalar(value: Any) -> str | int | float | bool:
    """A tag or finding value: str, int, float or bool; anything else (and NaN/inf) becomes its str."""
    t = type(value)
    if t is str or t is bool or t is int:
        return value
    if t is float:
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return scalar(float(value))
    return str(value)


def attribute_value(value: Any) -> Any:
    """An attribute value: a scalar or a list of scalars (tuples become lists)."""
    if type(value) in (list, tuple):
        return [scalar(v) for v in value]
    return scalar(value)


def attributes(values: dict[Any, Any] | None) -> dict[str, Any]:
    if not values:
        return {}
    # list() snapshots the items atomically, so a concurrent set_attribute can't break the iteration.
    return {k if type(k) is str else str(k): attribute_value(v) for k, v in list(values.items())}


def tags(values: dict[Any, Any] | None) -> dict[str, Any]:
    if not values:
        return {}
    return {k if type(k) is str else str(k): scalar(v) for k, v in list(values.items())}


def _json_object(values: dict[Any, Any] | None) -> dict[str, Any]:
    if not values:
        return {}
    out = json_value(values)
    return out if isinstance(out, dict) else {"value": out}


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def finding_record(finding: Finding) -> Finding:
    return Finding(
        trace_id=finding.trace_id,
        span_id=finding.span_id,
        name=str(finding.name) or "unnamed",
        value=scalar(finding.value),
        source=finding.source,
        rationale=_optional_str(finding.rationale),
        time_ns=finding.time_ns,
        metadata=_json_object(finding.metadata),
        finding_id=finding.finding_id,
    )
