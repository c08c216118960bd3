"""SDK drop counters sent with ingest batches are recorded per project and survive a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from spanscope.server import ServerThread
from tests.helpers import make_span, sid, tid


def _post(c: httpx.Client, project: str, n: int, dropped: dict[str, int]) -> None:
    body = {
        "spans": [make_span(tid(n), sid(n))],
        "sdk_stats": {"dropped": dropped, "sdk": "spanscope-python", "version": "0.1.0"},
    }
    r = c.post("/api/v1/ingest", json=body, headers={"X-Spanscope-Project": project})
    assert r.status_code == 200, r.text


def test_drops_are_summed_per_project_and_kept(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "d") as srv, httpx.Client(base_url=srv.url) as c:
        _post(c, "a", 1, {"queue_full": 3, "export_failed": 0})
        _post(c, "a", 2, {"queue_full": 2, "sampled_out": 7, "bogus": "x"})
        _post(c, "b", 3, {"shutdown": 1})
        assert c.get("/api/v1/sdk/drops", params={"project": "a"}).json()["dropped"] == {
            "queue_full": 5,
            "sampled_out": 7,
        }
    with ServerThread(tmp_path / "d") as srv, httpx.Client(base_url=srv.url) as c:
        got = c.get("/api/v1/sdk/drops", headers={"X-Spanscope-Project": "b"}).json()
        assert got["dropped"] == {"shutdown": 1} and got["last_report_ns"] > 0
        assert c.get("/api/v1/sdk/drops", params={"project": "none"}).json()["dropped"] == {}
