"""The HTTP API of a real server on a loopback port."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from spanscope.server import ServerThread
from tests.helpers import make_span, sid, tid


@pytest.fixture
def http(server: ServerThread) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def test_healthz_and_openapi(http: httpx.Client) -> None:
    assert http.get("/healthz").status_code == 200
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    for path in ("/api/v1/ingest", "/api/v1/traces/search", "/api/v1/traces/{trace_id}"):
        assert path in doc["paths"]
    assert "Span" in doc["components"]["schemas"]


def test_mixed_batch_keeps_valid_items(http: httpx.Client) -> None:
    body = {
        "spans": [
            make_span(tid(1), sid(1), "root", status="OK"),
            {"trace_id": tid(1), "name": "no span id", "start_time_ns": 1, "end_time_ns": 2},
            make_span(tid(1), sid(2), "child", parent=sid(1), kind="tool"),
            make_span(tid(1), sid(3), "bad kind", kind="banana"),
        ],
        "findings": [{"trace_id": tid(1), "name": "q", "value": 0.3}, {"trace_id": tid(1), "name": "q"}],
    }
    r = http.post("/api/v1/ingest", json=body)
    assert r.status_code == 200
    out = r.json()
    assert out["accepted"] == {"spans": 2, "traces": 0, "events": 0, "findings": 1}
    assert [(x["kind"], x["index"]) for x in out["rejected"]] == [("span", 1), ("span", 3), ("finding", 1)]
    assert "span_id" in out["rejected"][0]["reason"]
    trace = http.get(f"/api/v1/traces/{tid(1)}").json()
    assert sorted(s["name"] for s in trace["spans"]) == ["child", "root"]
    assert trace["findings"][0]["value"] == 0.3
    assert trace["spans"][0]["parent_span_id"] is None  # every field present in the answer


def test_nothing_accepted_is_400(http: httpx.Client) -> None:
    r = http.post("/api/v1/ingest", json={"spans": [{"name": "x"}]})
    assert r.status_code == 400
    assert r.json()["rejected"][0]["index"] == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"", b'{"spans": {"a": 1}}'])
def test_malformed_json_is_400_and_server_stays_up(http: httpx.Client, raw: bytes) -> None:
    r = http.post("/api/v1/ingest", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]
    assert http.get("/healthz").status_code == 200


def test_oversized_body_is_413(tmp_path) -> None:  # noqa: ANN001
    with ServerThread(tmp_path / "d", max_body_bytes=10_000) as srv, httpx.Client(base_url=srv.url) as c:
        big = {"spans": [make_span(tid(1), sid(1), inputs="x" * 20_000)]}
        r = c.post("/api/v1/ingest", json=big)
        assert r.status_code == 413
        # a gzip bomb: small on the wire, too big once decompressed
        bomb = gzip.compress(json.dumps(big).encode())
        assert len(bomb) < 10_000
        r = c.post("/api/v1/ingest", content=bomb, headers={"content-encoding": "gzip"})
        assert r.status_code == 413
        ok = c.post("/api/v1/ingest", json={"spans": [make_span(tid(2), sid(2))]})
        assert ok.status_code == 200


def test_gzip_body_and_projects(http: httpx.Client) -> None:
    body = gzip.compress(json.dumps({"spans": [make_span(tid(5), sid(5), "in-p1")]}).encode())
    r = http.post("/api/v1/ingest", content=body, headers={"content-encoding": "gzip", "x-spanscope-project": "p1"})
    assert r.status_code == 200 and r.json()["accepted"]["spans"] == 1
    assert http.get(f"/api/v1/traces/{tid(5)}").status_code == 404  # default project
    assert http.get(f"/api/v1/traces/{tid(5)}", params={"project": "p1"}).status_code == 200
    found = http.post(
        "/api/v1/traces/search", json={"filter": "trace.name = 'in-p1'"}, headers={"x-spanscope-project": "p1"}
    ).json()
    assert [t["trace_id"] for t in found["traces"]] == [tid(5)]
    assert http.post("/api/v1/ingest", json={}, headers={"x-spanscope-project": "bad name!"}).status_code == 400


def test_search_errors_are_400_with_column(http: httpx.Client) -> None:
    r = http.post("/api/v1/traces/search", json={"filter": "tag.quality_score < "})
    assert r.status_code == 400
    assert r.json()["column"] >= 1 and "expected" in r.json()["error"]
    assert http.post("/api/v1/traces/search", json={"max_results": -1}).status_code == 400
    assert http.post("/api/v1/traces/search", json={"bogus": 1}).status_code == 400
    assert http.post("/api/v1/traces/search", content=b"{").status_code == 400
    assert http.post("/api/v1/traces/search", json={"page_token": "!!"}).status_code == 400
    assert http.get("/api/v1/traces/not-an-id").status_code == 400
    assert http.get(f"/api/v1/traces/{tid(99)}").status_code == 404
