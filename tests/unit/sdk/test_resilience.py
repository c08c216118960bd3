"""The SDK never hurts the app: unreachable, failing, slow servers; fork; exit. Real processes, loopback only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from typing import Any

import pytest

from spanscope.sdk import HttpExporter, configure, flush, span, stats
from spanscope.sdk.processor import SDK_NAME
from tests.unit.sdk.fake_ingest import blackhole, dead_url, fake_ingest

EXIT_CAP = 2.0
SLACK = 3.0  # generous: interpreter start-up and a loaded machine, not a tight timing assertion

UNREACHABLE = textwrap.dedent(
    """
    import json, sys, time
    import spanscope

    spanscope.configure(endpoint=sys.argv[1], max_queue_size=20_000, exit_timeout=float(sys.argv[2]))

    def rss_kb():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))

    payload = "x" * 300
    worst = 0.0
    start = time.perf_counter()
    for i in range(100_000):
        t0 = time.perf_counter()
        with spanscope.span("work", kind="tool", attributes={"i": i, "user": "u1"}) as s:
            s.set_inputs(payload)
            s.set_outputs({"answer": payload})
        worst = max(worst, time.perf_counter() - t0)
        if i == 49_999:
            rss_half = rss_kb()
    loop_s = time.perf_counter() - start
    rss_end = rss_kb()
    t0 = time.perf_counter()
    delivered = spanscope.flush(timeout=1.0)
    flush_s = time.perf_counter() - t0
    out = dict(loop_s=loop_s, worst_s=worst, rss_growth_kb=rss_end - rss_half, delivered=delivered,
               flush_s=flush_s, stats=spanscope.stats())
    print(json.dumps(out), flush=True)
    print("DONE", flush=True)
    """
)

EXIT_DURING_SEND = textwrap.dedent(
    """
    import sys
    import spanscope

    spanscope.configure(endpoint=sys.argv[1], exit_timeout=float(sys.argv[2]))
    for i in range(2_000):
        with spanscope.span("work", attributes={"i": i}):
            pass
    print(spanscope.flush(timeout=0.3), flush=True)  # the worker is now stuck in a request
    print("DONE", flush=True)
    """
)


def run_until_done(code: str, *args: str, timeout: float = 120) -> tuple[list[str], str, float]:
    """Run ``code`` in a fresh interpreter; return its stdout lines, stderr and seconds from DONE to exit."""
    env = dict(os.environ, SPANSCOPE_RAISE_INTERNAL_ERRORS="0")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines = []
    done_at = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == "DONE":
            done_at = time.monotonic()
            break
        lines.append(line.strip())
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert done_at is not None, err
    return lines, err, time.monotonic() - done_at


def test_unreachable_server_100k_spans() -> None:
    lines, err, exit_s = run_until_done(UNREACHABLE, dead_url(), str(EXIT_CAP))
    result = json.loads(lines[-1])
    st = result["stats"]
    assert result["worst_s"] < 0.5 and result["loop_s"] < 60  # never blocked on the network
    assert st["spans_ended"] == 100_000 and st["queued"] <= 20_000 + 1  # + the flush marker
    assert st["queue_full"] >= 100_000 - 20_000 - 5_000  # the rest: what the worker took into its retries
    assert result["rss_growth_kb"] < 8_192  # the queue is full by then: memory stays flat
    assert result["delivered"] is False and result["flush_s"] < 1.0 + SLACK
    assert exit_s < EXIT_CAP + SLACK, f"exit took {exit_s:.1f} s"
    assert "Traceback" not in err and err.count("spanscope could not reach") <= 1  # one warning, not a flood


def test_exit_during_a_send_is_capped() -> None:
    with blackhole() as url:
        lines, err, exit_s = run_until_done(EXIT_DURING_SEND, url, str(EXIT_CAP))
    assert lines == ["False"]
    assert exit_s < EXIT_CAP + SLACK, f"exit took {exit_s:.1f} s"
    assert "Traceback" not in err


def test_server_errors_then_success_and_drops_reach_the_server() -> None:
    with fake_ingest() as (url, recorder):
        recorder.script = [(500, {}), (429, {"Retry-After": "0"}), (503, {})]
        configure(exporter=HttpExporter(url, backoff=0.01), flush_interval=60, max_queue_size=2, batch_size=1000)
        for i in range(5):
            with span(f"s{i}"):
                pass
        assert flush(timeout=10) is False  # three records were dropped (queue_full)...
        assert [s["name"] for s in recorder.spans()] == ["s0", "s1"]  # ...the rest got through the retries
        (body,) = recorder.bodies
        version = body["sdk_stats"]["version"]
        assert body["sdk_stats"] == {
            "dropped": {"queue_full": 3, "export_failed": 0, "shutdown": 0, "sampled_out": 0},
            "sdk": SDK_NAME,
            "version": version,
        }
        with span("s5"):
            pass
        assert flush(timeout=10) is True
        assert recorder.bodies[-1]["sdk_stats"]["dropped"]["queue_full"] == 0  # deltas: reported once


def test_retry_after_is_honoured() -> None:
    with fake_ingest() as (url, recorder):
        recorder.script = [(429, {"Retry-After": "1"})]
        configure(exporter=HttpExporter(url, backoff=0.01), flush_interval=60)
        with span("x"):
            pass
        start = time.monotonic()
        assert flush(timeout=10) is True
        assert time.monotonic() - start >= 0.9  # waited as told, not the 10 ms backoff
        assert len(recorder.bodies) == 1


def test_slow_server_flush_honours_its_timeout_and_losses_are_reported() -> None:
    with fake_ingest(delay=1.5) as (url, recorder):
        configure(endpoint=url, flush_interval=60)
        with span("slow"):
            pass
        start = time.monotonic()
        assert flush(timeout=0.3) is False
        assert time.monotonic() - start < 0.3 + SLACK
        with span("later"):
            pass
        assert flush(timeout=20) is False  # the first batch was given up at its flush's deadline
        assert stats()["export_failed"] == 1
        with span("last"):
            pass
        assert flush(timeout=20) is True
        names = [s["name"] for s in recorder.spans()]
        assert "later" in names and "last" in names
        reported = sum(b["sdk_stats"]["dropped"]["export_failed"] for b in recorder.bodies)
        assert reported == 1  # the server hears about the loss with a later batch


def test_a_raising_exporter_never_reaches_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exploding:
        def export(self, batch: Any) -> bool:
            raise MemoryError("exporter blew up")

        def shutdown(self) -> None:
            raise RuntimeError("and again")

    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "0")
    configure(exporter=Exploding(), flush_interval=60)
    with span("x"):
        pass
    assert flush(timeout=5) is False and stats()["export_failed"] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_child_sends_on_its_own_connection() -> None:
    with fake_ingest() as (url, recorder):
        configure(endpoint=url, flush_interval=60)
        with span("parent-before"):
            pass
        assert flush(timeout=10) is True
        with span("parent-queued"):
            pass  # queued at fork time: the child must not send it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
            pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            code = 1
            try:
                signal.alarm(20)
                with span("in-child"):
                    pass
                code = 0 if flush(timeout=10) else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert flush(timeout=10) is True
        names = sorted(s["name"] for s in recorder.spans())
        assert names == ["in-child", "parent-before", "parent-queued"]


def test_disabled_sdk_costs_next_to_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_DISABLED", "1")
    configure()
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        with span("x") as s:
            s.set_attribute("k", 1)
    per_span = (time.perf_counter() - start) / n
    assert per_span < 20e-6  # a function call and a shared no-op object; generous for loaded machines
    assert stats()["spans_started"] == 0
