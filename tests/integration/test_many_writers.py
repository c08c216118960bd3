"""Several ``spanscope serve`` replicas writing to one ClickHouse (issue 9, "many writers"): each replica keeps its
own ingest log and writes to the same ``clickhouse://`` database (the local chDB-backed endpoint of
``tests/clickhouse_http.py``, or SPANSCOPE_TEST_CLICKHOUSE_URL), requests arriving at both at once.

- every acknowledged span is there once, whichever replica took it, and both replicas answer the same;
- a client retry that lands on the other replica (the same batch written by both) adds nothing visible;
- a replica that crashed after ClickHouse had its writes but before its log forgot them replays the log on
  restart and adds nothing visible either.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from spanscope.server import ServerThread
from spanscope.store.durable import LOG_DIRNAME
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("clickhouse_connect")
TRACES_PER_REPLICA = 60
SPANS_PER_TRACE = 4


def _trace(n: int) -> list[dict[str, Any]]:
    root = make_span(tid(n), sid(10 * n), "turn", start_ms=n * 1000, dur_ms=400)
    children = [
        make_span(tid(n), sid(10 * n + i), f"step{i}", parent=sid(10 * n), start_ms=n * 1000 + i, dur_ms=10 * i)
        for i in range(1, SPANS_PER_TRACE)
    ]
    return [*children, root]  # the root last: each trace's start moves when it arrives


def _send(url: str, first: int, errors: list[str]) -> None:
    with httpx.Client(base_url=url, headers={"X-Spanscope-Project": "p"}, timeout=30) as c:
        for n in range(first, first + TRACES_PER_REPLICA, 3):  # three traces per request, spans split in two
            spans = [s for k in range(n, n + 3) for s in _trace(k)]
            for part in (spans[: len(spans) // 2], spans[len(spans) // 2 :]):
                r = c.post("/api/v1/ingest", json={"spans": part})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text}")


def _expect_all(url: str, traces: range) -> None:
    with httpx.Client(base_url=url, headers={"X-Spanscope-Project": "p"}, timeout=30) as c:
        found = c.post("/api/v1/traces/search", json={"max_results": 1000}).json()["traces"]
        assert sorted(t["trace_id"] for t in found) == sorted(tid(n) for n in traces)
        assert {(t["name"], t["duration_ms"]) for t in found} == {("turn", 400.0)}  # summaries from the whole trace
        spans = c.post("/api/v1/spans/search", json={"max_results": 10_000}).json()["spans"]
        assert len(spans) == len(traces) * SPANS_PER_TRACE  # each span once
        for n in (traces[0], traces[-1]):
            t = c.get(f"/api/v1/traces/{tid(n)}").json()
            assert len(t["spans"]) == SPANS_PER_TRACE and t["start_time_ns"] == min(
                s["start_time_ns"] for s in t["spans"]
            )


def test_two_replicas_write_one_clickhouse(tmp_path: Path) -> None:
    url = engine_url("clickhouse")
    a = ServerThread(tmp_path / "a", store_url=url).start()
    b = ServerThread(tmp_path / "b", store_url=url).start()
    try:
        errors: list[str] = []
        senders = [
            threading.Thread(target=_send, args=(a.url, 1, errors)),
            threading.Thread(target=_send, args=(b.url, 1 + TRACES_PER_REPLICA, errors)),
        ]
        for s in senders:
            s.start()
        for s in senders:
            s.join()
        assert errors == []
        everything = range(1, 1 + 2 * TRACES_PER_REPLICA)
        for srv in (a, b):
            srv.store.barrier()
        _expect_all(a.url, everything)
        _expect_all(b.url, everything)

        # a retry landing on the other replica: b writes what a already has
        with httpx.Client(base_url=b.url, headers={"X-Spanscope-Project": "p"}) as c:
            assert c.post("/api/v1/ingest", json={"spans": _trace(1) + _trace(2)}).status_code == 200
        b.store.barrier()
        _expect_all(a.url, everything)

        # a crash of b after ClickHouse had its writes: its ingest log, as it was, replayed on restart
        shutil.copytree(tmp_path / "b" / LOG_DIRNAME, tmp_path / "b-log")
    finally:
        a.stop()
        b.stop()
    shutil.rmtree(tmp_path / "b" / LOG_DIRNAME)
    shutil.copytree(tmp_path / "b-log", tmp_path / "b" / LOG_DIRNAME)
    assert sum(f.stat().st_size for f in (tmp_path / "b" / LOG_DIRNAME).iterdir()) > 10_000  # requests to replay
    b = ServerThread(tmp_path / "b", store_url=url).start()
    try:
        _expect_all(b.url, everything)
    finally:
        b.stop()
        drop_database(url)
