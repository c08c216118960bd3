"""Large OTLP bodies decoded in a worker process come back identical to decoding them in-process."""

from __future__ import annotations

import asyncio

import msgspec
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan

from spanscope.ingest.native import raw_value
from spanscope.ingest.otlp import decode_otlp_traces
from spanscope.server.decode_pool import POOL_MIN_BYTES, DecodePool


def _body(n: int) -> bytes:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    for i in range(n):
        attrs = [
            KeyValue(key="openinference.span.kind", value=AnyValue(string_value="LLM")),
            KeyValue(key="input.value", value=AnyValue(string_value='{"q": "%s"}' % ("x" * 100))),  # noqa: UP031
            KeyValue(key="input.mime_type", value=AnyValue(string_value="application/json")),
            KeyValue(key="llm.token_count.prompt", value=AnyValue(int_value=i)),
        ]
        ss.spans.append(PbSpan(trace_id=(i + 1).to_bytes(16, "big"), span_id=(i + 1).to_bytes(8, "big"), name="llm",
                               start_time_unix_nano=1_700_000_000 * 10**9, end_time_unix_nano=1_700_000_001 * 10**9,
                               attributes=attrs))  # fmt: skip
    ss.spans.append(PbSpan(trace_id=b"\x01" * 3, span_id=b"\x02" * 8, name="bad"))  # rejected: short trace id
    return req.SerializeToString()


def _plain(decoded) -> list:  # noqa: ANN001
    out = []
    for project, b in sorted(decoded.batches.items(), key=lambda kv: str(kv[0])):
        spans = [{**msgspec.structs.asdict(s), "inputs": raw_value(s.inputs), "outputs": raw_value(s.outputs)}
                 for s in b.spans]  # fmt: skip
        out.append((project, spans, [msgspec.structs.asdict(f) for f in b.findings]))
    return [out, [(r.kind, r.index) for r in decoded.rejected], decoded.span_count]


def test_pool_and_in_process_agree() -> None:
    body = _body(600)
    assert len(body) > POOL_MIN_BYTES
    pool = DecodePool(1)
    try:
        pooled = asyncio.run(pool.decode(body, "protobuf"))
    finally:
        pool.close()
    local = decode_otlp_traces(body, "protobuf")
    assert _plain(pooled) == _plain(local)
    assert pooled.span_count == 601 and [r.index for r in pooled.rejected] == [600]
    span = pooled.batches[None].spans[5]
    assert span.kind == "llm" and span.attributes["gen_ai.usage.input_tokens"] == 5
    assert raw_value(span.inputs) == {"q": "x" * 100}
