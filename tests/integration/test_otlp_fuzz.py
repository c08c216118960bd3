"""Hypothesis-generated payloads through ``POST /v1/traces`` on a real server: never a 5xx, server stays up."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.rpc.status_pb2 import Status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanscope.server import ServerThread
from tests.unit.ingest.otlp_strategies import dumps, json_junk, json_requests, pb_requests

FUZZ = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CONTENT_TYPES = st.sampled_from(
    ["application/x-protobuf", "application/json", "application/json; charset=utf-8", "text/plain", ""]
)


@pytest.fixture(scope="module")
def http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with (
        ServerThread(tmp_path_factory.mktemp("otlp-fuzz"), max_body_bytes=64 * 1024) as srv,
        httpx.Client(base_url=srv.url, timeout=30) as client,
    ):
        yield client
        assert client.get("/healthz").status_code == 200


def _post(http: httpx.Client, body: bytes, content_type: str, gzipped: bool = False) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    r = http.post("/v1/traces", content=body, headers=headers)
    assert r.status_code in (200, 400, 413, 415), (r.status_code, r.text[:300])
    if r.status_code != 200:
        assert r.content  # a reason
    return r


@FUZZ
@given(body=st.binary(max_size=500), content_type=CONTENT_TYPES, gzipped=st.booleans())
def test_random_bytes(http: httpx.Client, body: bytes, content_type: str, gzipped: bool) -> None:
    _post(http, body, content_type, gzipped)


@FUZZ
@given(doc=json_junk | json_requests, gzipped=st.booleans())
def test_json_payloads(http: httpx.Client, doc: Any, gzipped: bool) -> None:
    _post(http, dumps(doc), "application/json", gzipped)


@FUZZ
@given(case=pb_requests(), gzipped=st.booleans())
def test_protobuf_payloads(http: httpx.Client, case: tuple[bytes, int], gzipped: bool) -> None:
    r = _post(http, case[0], "application/x-protobuf", gzipped)
    # A well-formed message is never refused as a whole, unless it names an invalid project.
    assert r.status_code == 200 or "invalid project name" in Status.FromString(r.content).message


def test_server_is_still_up(http: httpx.Client) -> None:
    assert http.get("/healthz").json()["status"] == "ok"
