from __future__ import annotations

import dataclasses
import datetime as dt
import io
import math
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any

import pytest

from spanscope.sdk import ConsoleExporter, ExportBatch
from spanscope.sdk.convert import attribute_value, enc_hook, json_value, scalar
from spanscope.sdk.guard import handle_internal_errors


class PydanticLike:
    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        return {"mode": mode}


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Opaque:
    def __repr__(self) -> str:
        return "<Opaque>"


@pytest.mark.parametrize(("value", "expected"), [
    (PydanticLike(), {"mode": "json"}),
    (Point(1, 2), {"x": 1, "y": 2}),
    ({1, 2}, [1, 2]),
    ((1, 2), [1, 2]),
    (b"hi", "aGk="),
    (dt.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02T03:04:05"),
    (dt.date(2024, 1, 2), "2024-01-02"),
    (Decimal("1.5"), 1.5),
    (PurePosixPath("/tmp/x"), "/tmp/x"),
    (Opaque(), "<Opaque>"),
])  # fmt: skip
def test_enc_hook(value: object, expected: object) -> None:
    assert json_value(enc_hook(value)) == expected


def test_json_value() -> None:
    value = {"p": Point(1, 2), "o": Opaque(), "d": Decimal("2.5"), "t": (1,), "n": float("nan")}
    assert json_value(value) == {"p": {"x": 1, "y": 2}, "o": "<Opaque>", "d": 2.5, "t": [1], "n": None}
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    out = json_value(cyclic)  # msgspec refuses a cycle; the slow path cuts it at a depth limit
    assert out[0] == 1 and isinstance(out[1], list)
    assert json_value({Opaque(): 1}) == {"<Opaque>": 1}


def test_scalar_and_attribute_coercion() -> None:
    assert scalar(True) is True and scalar(3) == 3 and scalar("s") == "s"
    assert scalar(math.inf) == "inf" and scalar(Decimal("1")) == "1" and scalar(None) == "None"
    assert attribute_value((1, None, [2])) == [1, "None", "[2]"]


def test_guard_as_decorator_and_context_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "0")

    @handle_internal_errors
    def buggy() -> int:
        raise RuntimeError("sdk bug")

    assert buggy() is None
    with handle_internal_errors():
        raise RuntimeError("swallowed")
    with pytest.raises(KeyboardInterrupt), handle_internal_errors():
        raise KeyboardInterrupt  # never ours to swallow
    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "1")
    with pytest.raises(RuntimeError):
        buggy()


def test_console_exporter_prints_one_line_per_span() -> None:
    from spanscope.sdk import span
    from spanscope.testing import capture

    with capture() as cap, span("root", kind="chain") as root:
        root.add_finding("ok", True)
        with pytest.raises(ValueError), span("child", kind="tool"):
            raise ValueError("boom")
    out = io.StringIO()
    batch = ExportBatch(spans=cap.spans, findings=cap.findings)
    assert ConsoleExporter(out).export(batch) is True
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "tool" in lines[0] and "ERROR" in lines[0] and "(boom)" in lines[0] and lines[0].endswith("(boom)")
    assert lines[1].endswith("root") and f"finding ok=True on {root.span_id}" in lines[2]
