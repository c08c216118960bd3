"""``POST /v1/traces`` status codes, bodies, encodings and project selection, over real HTTP."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

import spanscope
from spanscope.server import ServerThread
from spanscope.store.durable import StoreOverloaded
from tests.unit.ingest.otlp_util import CHILD, ROOT, json_request, json_span, kvs, pb_request, pb_span

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}
FIXTURES = Path(__file__).parents[1] / "fixtures" / "otlp"


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def test_protobuf_ok_has_an_empty_response(http: httpx.Client) -> None:
    r = http.post("/v1/traces", content=pb_request(pb_span()).SerializeToString(), headers=PB)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
    assert not ExportTraceServiceResponse.FromString(r.content).HasField("partial_success")


def test_json_ok(http: httpx.Client) -> None:
    r = http.post("/v1/traces", json=json_request(json_span()), headers=JS)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {}


def test_partial_success_protobuf(http: httpx.Client, server: ServerThread) -> None:
    body = pb_request(pb_span(ROOT, name="kept"), pb_span(CHILD, trace_id=b"\x01" * 15)).SerializeToString()
    r = http.post("/v1/traces", content=body, headers={**PB, "X-Spanscope-Project": "ps"})
    assert r.status_code == 200
    resp = ExportTraceServiceResponse.FromString(r.content)
    assert resp.partial_success.rejected_spans == 1
    assert "span 1 (resource_spans[0].scope_spans[0].spans[1]): trace_id must be 16 bytes, got 15" in (
        resp.partial_success.error_message
    )
    assert len(spanscope.Client(server.url, project="ps").search_traces("trace.name = 'kept'")) == 1


def test_partial_success_json_all_rejected(http: httpx.Client) -> None:
    r = http.post("/v1/traces", json=json_request(json_span(spanId="00")), headers=JS)
    assert r.status_code == 200
    assert r.json()["partialSuccess"]["rejectedSpans"] == "1"
    assert "spanId must be 16 hex digits" in r.json()["partialSuccess"]["errorMessage"]


def test_unsupported_content_type_is_415(http: httpx.Client) -> None:
    r = http.post("/v1/traces", content=b"hello", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and "application/x-protobuf" in r.json()["error"]
    assert http.post("/v1/traces", content=b"x").status_code == 415  # no content type at all


def test_undecodable_protobuf_is_400_with_a_status_body(http: httpx.Client) -> None:
    r = http.post("/v1/traces", content=b"\x0a\xff\xff\xff\xff\x0f", headers=PB)
    assert r.status_code == 400 and r.headers["content-type"] == "application/x-protobuf"
    status = Status.FromString(r.content)
    assert status.code == 3 and "not a valid protobuf" in status.message


def test_undecodable_json_is_400_with_a_json_status(http: httpx.Client) -> None:
    r = http.post("/v1/traces", content=b"{nope", headers=JS)
    assert r.status_code == 400 and r.json()["code"] == 3 and "malformed JSON" in r.json()["message"]


def test_gzip_and_gzip_errors(http: httpx.Client) -> None:
    body = gzip.compress(json.dumps(json_request(json_span())).encode())
    assert http.post("/v1/traces", content=body, headers={**JS, "Content-Encoding": "gzip"}).status_code == 200
    r = http.post("/v1/traces", content=b"not gzip", headers={**JS, "Content-Encoding": "gzip"})
    assert r.status_code == 400 and "gzip" in r.json()["message"]
    r = http.post("/v1/traces", content=b"x", headers={**JS, "Content-Encoding": "br"})
    assert r.status_code == 400 and "Content-Encoding" in r.json()["message"]


def test_body_limits_are_413(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "d", max_body_bytes=2048) as srv, httpx.Client(base_url=srv.url) as http:
        r = http.post("/v1/traces", content=b"\0" * 4096, headers=PB)
        assert r.status_code == 413 and Status.FromString(r.content).code == 8
        bomb = gzip.compress(b"\0" * 100_000)
        r = http.post("/v1/traces", content=bomb, headers={**PB, "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "decompressed body" in Status.FromString(r.content).message
        assert http.get("/healthz").status_code == 200


def test_invalid_resource_project_is_400(http: httpx.Client) -> None:
    body = pb_request(pb_span(), resource={"spanscope.project": "no spaces allowed"}).SerializeToString()
    r = http.post("/v1/traces", content=body, headers=PB)
    assert r.status_code == 400 and "invalid project name" in Status.FromString(r.content).message


def test_two_resources_two_projects(http: httpx.Client, server: ServerThread) -> None:
    req = pb_request(pb_span(ROOT, name="a"), resource={"spanscope.project": "p-a"})
    req.resource_spans.extend(
        pb_request(pb_span(CHILD, name="b"), resource={"spanscope.project": "p-b"}).resource_spans
    )
    assert http.post("/v1/traces", content=req.SerializeToString(), headers=PB).status_code == 200
    assert list(spanscope.Client(server.url, project="p-a").search_traces()["name"]) == ["a"]
    assert list(spanscope.Client(server.url, project="p-b").search_traces()["name"]) == ["b"]


def test_overloaded_store_is_429_with_retry_after(http: httpx.Client, server: ServerThread) -> None:
    st = server.app.state.spanscope
    real = st.store

    class Overloaded:
        def write(self, project: str, batch: object) -> None:
            raise StoreOverloaded(retry_after=0.5)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    st.store = Overloaded()
    try:
        r = http.post("/v1/traces", content=pb_request(pb_span()).SerializeToString(), headers=PB)
    finally:
        st.store = real
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert Status.FromString(r.content).code == 14


def test_golden_fixtures_over_http(http: httpx.Client, server: ServerThread) -> None:
    for path in sorted(FIXTURES.glob("*.pb")):
        r = http.post("/v1/traces", content=path.read_bytes(), headers={**PB, "X-Spanscope-Project": "golden"})
        assert r.status_code == 200 and r.content == b"", path.name
    client = spanscope.Client(server.url, project="golden")
    # 4 captures x 2 calls, one span each; every one is an llm span with 23 input tokens
    assert len(client.search_traces("span.kind = 'llm' AND span.attributes.gen_ai.usage.input_tokens = 23")) == 8
    assert len(client.search_traces("span.attributes.gen_ai.provider.name = 'openai'")) == 8


def test_retried_export_keeps_one_span_and_one_finding(http: httpx.Client, server: ServerThread) -> None:
    span = pb_span(ROOT, name="judged")
    ev = span.events.add(time_unix_nano=span.start_time_unix_nano, name="gen_ai.evaluation.result")
    ev.attributes.extend(kvs({"gen_ai.evaluation.name": "accuracy", "gen_ai.evaluation.score.label": "good"}))
    body = pb_request(span).SerializeToString()
    for _ in range(2):  # an OTLP client retrying after a lost response
        assert http.post("/v1/traces", content=body, headers={**PB, "X-Spanscope-Project": "retry"}).status_code == 200
    client = spanscope.Client(server.url, project="retry")
    (trace_id,) = client.search_traces("finding.accuracy = 'good'")["trace_id"]
    trace = client.get_trace(trace_id)
    assert len(trace.spans) == 1 and len(trace.findings) == 1


def test_with_auth_the_key_decides_the_project(tmp_path: Path) -> None:
    from spanscope.server.keys import KeyStore

    with ServerThread(tmp_path / "d", require_auth=True) as srv, httpx.Client(base_url=srv.url) as http:
        _, key = KeyStore(srv.data_dir).create("keyed")
        body = pb_request(pb_span(name="auth"), resource={"spanscope.project": "elsewhere"}).SerializeToString()
        assert http.post("/v1/traces", content=body, headers=PB).status_code == 401
        headers = {**PB, "Authorization": f"Bearer {key}", "X-Spanscope-Project": "elsewhere"}
        assert http.post("/v1/traces", content=body, headers=headers).status_code == 200
        assert len(spanscope.Client(srv.url, api_key=key, project="keyed").search_traces("trace.name = 'auth'")) == 1
