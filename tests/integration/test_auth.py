"""API keys and projects against a real server with --require-auth."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import spanscope
from spanscope.server import ServerThread
from spanscope.server.keys import KeyStore
from tests.helpers import make_span, sid, tid


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def create_key_cli(data_dir: Path, project: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "spanscope.cli.main", "keys", "create", "--project", project,
         "--data-dir", str(data_dir)],
        capture_output=True, text=True, check=True, env={**os.environ},
    )  # fmt: skip
    return out.stdout.strip().splitlines()[-1].split()[-1]


@pytest.fixture
def secured(tmp_path: Path):  # noqa: ANN201
    with ServerThread(tmp_path / "d", require_auth=True) as srv:
        yield srv


def test_no_key_bad_key_revoked_key(secured: ServerThread) -> None:
    key = create_key_cli(secured.data_dir, "a")  # created while the server runs
    with httpx.Client(base_url=secured.url) as c:
        assert c.get("/healthz").status_code == 200
        body = {"spans": [make_span(tid(1), sid(1))]}
        for method, path, kw in (
            ("POST", "/api/v1/ingest", {"json": body}),
            ("POST", "/api/v1/traces/search", {"json": {}}),
            ("GET", f"/api/v1/traces/{tid(1)}", {}),
            ("POST", "/v1/traces", {"content": b""}),
        ):
            r = c.request(method, path, **kw)
            assert r.status_code == 401, path
            assert "API key" in r.json()["error"]
            assert c.request(method, path, headers=bearer("ssk_deadbeef_nope"), **kw).status_code == 401
            assert c.request(method, path, headers={"Authorization": "Basic abc"}, **kw).status_code == 401
        assert c.post("/api/v1/ingest", json=body, headers=bearer(key)).status_code == 200
        KeyStore(secured.data_dir).revoke(key)
        r = c.post("/api/v1/ingest", json=body, headers=bearer(key))
        assert r.status_code == 403 and "revoked" in r.json()["error"]


def test_projects_isolated_by_key(secured: ServerThread) -> None:
    keys = KeyStore(secured.data_dir)
    _, key_a = keys.create("proj-a")
    _, key_b = keys.create("proj-b")
    with httpx.Client(base_url=secured.url) as c:
        # the header can't redirect a key to another project
        r = c.post("/api/v1/ingest", json={"spans": [make_span(tid(1), sid(1), "secret-a")]},
                   headers={**bearer(key_a), "X-Spanscope-Project": "proj-b"})  # fmt: skip
        assert r.status_code == 200
        assert c.post("/api/v1/ingest", json={"spans": [make_span(tid(2), sid(2), "secret-b")]},
                      headers=bearer(key_b)).status_code == 200  # fmt: skip
        assert c.get(f"/api/v1/traces/{tid(1)}", headers=bearer(key_a)).status_code == 200
        assert c.get(f"/api/v1/traces/{tid(1)}", headers=bearer(key_b)).status_code == 404
        assert c.get(f"/api/v1/traces/{tid(1)}", headers=bearer(key_b), params={"project": "proj-a"}).status_code == 404
        found_b = c.post("/api/v1/traces/search", json={"project": "proj-a"}, headers=bearer(key_b)).json()
        assert [t["name"] for t in found_b["traces"]] == ["secret-b"]
        found_a = c.post("/api/v1/traces/search", json={}, headers=bearer(key_a)).json()
        assert [t["name"] for t in found_a["traces"]] == ["secret-a"]
        # writing B's trace id with A's key lands in A, never in B
        c.post("/api/v1/ingest", json={"spans": [make_span(tid(2), sid(9), "intruder")]}, headers=bearer(key_a))
        trace_b = c.get(f"/api/v1/traces/{tid(2)}", headers=bearer(key_b)).json()
        assert [s["name"] for s in trace_b["spans"]] == ["secret-b"]


def test_sdk_and_client_with_key(secured: ServerThread) -> None:
    _, key = KeyStore(secured.data_dir).create("sdk-proj")
    spanscope.configure(endpoint=secured.url, api_key=key, project="ignored-under-auth")
    try:
        with spanscope.trace("keyed.turn", tags={"k": 1}):
            pass
        assert spanscope.flush(timeout=10) is True
    finally:
        spanscope.shutdown()
    df = spanscope.Client(secured.url, api_key=key).search_traces()
    assert list(df["name"]) == ["keyed.turn"]
    with pytest.raises(spanscope.client.ApiError) as err:
        spanscope.Client(secured.url).search_traces()
    assert err.value.status == 401


def test_serve_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "spanscope.cli.main", "serve", "--host", "0.0.0.0", "--port", "0",
           "--data-dir", str(tmp_path)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--require-auth" in out.stderr
