"""FanoutExporter, raw/decoded batches, submit_model, and the OTLP hook in configure()."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from spanscope.model import Finding, TraceInfo
from spanscope.model import Span as SpanRecord
from spanscope.sdk import ExportBatch, FanoutExporter, configure, flush, span, stats, submit_model
from spanscope.sdk.config import parse_headers
from spanscope.sdk.encode import WireSpan
from spanscope.testing import CaptureExporter, capture


class RawRecorder:
    accepts_raw = True

    def __init__(self) -> None:
        self.batches: list[ExportBatch] = []

    def export(self, batch: ExportBatch) -> bool:
        self.batches.append(batch)
        return True

    def shutdown(self) -> None:
        pass


class Failing:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.shut = False

    def export(self, batch: ExportBatch) -> bool:
        if self.mode == "raise":
            raise ConnectionError("secondary down")
        return False

    def shutdown(self) -> None:
        self.shut = True


def test_raw_exporters_get_wire_records_others_get_models() -> None:
    raw, plain = RawRecorder(), CaptureExporter()
    configure(exporter=FanoutExporter(raw, plain), flush_interval=60)
    with span("x", attributes={"a": 1}) as s:
        s.set_inputs({"q": "hi"})
        s.add_event("e", {"k": 2})
    assert flush(timeout=5) is True
    (wire,) = raw.batches[0].spans
    assert type(wire) is WireSpan and raw.batches[0].raw
    assert bytes(wire.inputs) == b'{"q":"hi"}' and msgspec.json.decode(wire.attributes) == {"a": 1}
    (model,) = plain.spans
    assert type(model) is SpanRecord and model.inputs == {"q": "hi"} and model.events[0].attributes == {"k": 2}
    assert raw.batches[0].sdk_stats is not None


@pytest.mark.parametrize("mode", ["raise", "false"])
def test_fanout_secondary_failures_are_counted_not_fatal(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    primary, secondary = CaptureExporter(), Failing(mode)
    fanout = FanoutExporter(primary, secondary)
    configure(exporter=fanout, flush_interval=60)
    with span("x"):
        pass
    assert flush(timeout=5) is True  # the primary decides
    assert [s.name for s in primary.spans] == ["x"]
    assert stats()["secondary_export_failed"] == 1 and stats()["exported"] == 1
    fanout.shutdown()
    assert secondary.shut


def test_submit_model_uses_the_pipeline() -> None:
    assert submit_model(TraceInfo(trace_id="a" * 32)) is False  # not configured
    with capture(redact_builtins=True) as cap:
        rec = SpanRecord(
            trace_id="a" * 32, span_id="b" * 16, name="otel.span", start_time_ns=5, end_time_ns=9, kind="llm",
            attributes={"gen_ai.request.model": "m", "list": [1, 2]}, inputs={"email": "x@y.io"},
        )  # fmt: skip
        assert submit_model(rec) is True
        assert submit_model(TraceInfo(trace_id="a" * 32, tags={"k": "v"})) is True
        assert submit_model(Finding(trace_id="a" * 32, name="score", value=0.5)) is True
        with pytest.raises(TypeError):
            submit_model({"not": "a model"})  # type: ignore[arg-type]
    (out,) = cap.spans
    assert out.inputs == {"email": "[REDACTED:email]"} and out.attributes["list"] == [1, 2]
    assert (out.kind, out.start_time_ns, out.end_time_ns) == ("llm", 5, 9)
    assert cap.traces[0].tags == {"k": "v"} and cap.findings[0].value == 0.5


def test_parse_headers() -> None:
    assert parse_headers("a=1, b = two ,bad") == {"a": "1", "b": "two"}
    assert parse_headers({"x": 1}) == {"x": "1"}  # type: ignore[dict-item]
    assert parse_headers(None) is None and parse_headers("") is None


def test_otlp_endpoint_fans_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import spanscope.sdk.otlp_export as otlp_export

    made: list[Any] = []

    class FakeOtlp(CaptureExporter):
        def __init__(self, endpoint: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> None:
            super().__init__()
            made.append((endpoint, headers, timeout))

    monkeypatch.setattr(otlp_export, "OtlpJsonExporter", FakeOtlp)
    primary = CaptureExporter()
    configure(exporter=primary, otlp_endpoint="http://127.0.0.1:4318", otlp_headers="k=v", request_timeout=3)
    with span("both"):
        pass
    assert flush(timeout=5) is True
    assert made == [("http://127.0.0.1:4318", {"k": "v"}, 3.0)]
    assert [s.name for s in primary.spans] == ["both"]
