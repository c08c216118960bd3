from __future__ import annotations

import logging
import os
import signal
import threading
import warnings

import pytest

from spanscope.sdk import ExportBatch, configure, flush, shutdown, span, stats, trace
from spanscope.sdk.encode import SpanEncoder
from spanscope.sdk.runtime import RUNTIME
from spanscope.testing import CaptureExporter


class FlakyExporter:
    """Fails (by raising or returning False) while ``mode`` says so, then delivers."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.delivered: list[ExportBatch] = []

    def export(self, batch: ExportBatch) -> bool:
        if self.mode == "raise":
            raise ConnectionError("exporter exploded")
        if self.mode == "false":
            return False
        self.delivered.append(batch)
        return True

    def shutdown(self) -> None:
        pass


class GateExporter(CaptureExporter):
    """Signals every export, so a test can wait for the worker without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.exported = threading.Event()

    def export(self, batch: ExportBatch) -> bool:
        super().export(batch)
        self.exported.set()
        return True


def test_flush_returns_true_when_delivered() -> None:
    exporter = CaptureExporter()
    configure(exporter=exporter, flush_interval=60)
    with trace("root", tags={"a": 1}) as t:
        with span("child"):
            pass
        t.add_finding("score", 1)
    assert flush(timeout=5) is True
    assert len(exporter.spans) == 2 and len(exporter.traces) == 1 and len(exporter.findings) == 1
    assert stats() == {
        "spans_started": 2,
        "spans_ended": 2,
        "exported": 4,
        "queue_full": 0,
        "export_failed": 0,
        "shutdown": 0,
        "sampled_out": 0,
        "queued": 0,
    }


@pytest.mark.parametrize("mode", ["raise", "false"])
def test_flush_returns_false_when_the_exporter_fails(mode: str, caplog: pytest.LogCaptureFixture) -> None:
    exporter = FlakyExporter(mode)
    configure(exporter=exporter, flush_interval=60)
    with span("lost"):
        pass  # the exporter's failure never reaches the application
    assert flush(timeout=5) is False
    assert stats()["export_failed"] == 1 and stats()["exported"] == 0
    if mode == "raise":
        assert "exporter" in caplog.text and "raised" in caplog.text

    exporter.mode = "ok"
    with span("delivered"):
        pass
    assert flush(timeout=5) is True  # only failures since the previous flush count
    assert [s.name for b in exporter.delivered for s in b.spans] == ["delivered"]


def test_rejected_items_count_as_export_failed() -> None:
    class Rejecting(CaptureExporter):
        def export(self, batch: ExportBatch) -> bool:
            batch.rejected = 1
            return super().export(batch)

    configure(exporter=Rejecting(), flush_interval=60)
    with span("a"), span("b"):
        pass
    assert flush(timeout=5) is False
    assert stats()["exported"] == 1 and stats()["export_failed"] == 1


def test_queue_full_drops_are_counted() -> None:
    exporter = CaptureExporter()
    # A long interval and a big batch keep the worker asleep, so the queue fills deterministically.
    configure(exporter=exporter, max_queue_size=2, batch_size=1000, flush_interval=60)
    for i in range(5):
        with span(f"s{i}"):
            pass
    assert stats()["queue_full"] == 3 and stats()["queued"] == 2
    assert flush(timeout=5) is False
    assert [s.name for s in exporter.spans] == ["s0", "s1"]
    assert stats()["spans_ended"] == 5 and stats()["exported"] == 2


def test_a_full_batch_wakes_the_worker() -> None:
    exporter = GateExporter()
    configure(exporter=exporter, batch_size=3, flush_interval=60)
    for _ in range(3):
        with span("s"):
            pass
    assert exporter.exported.wait(5)  # woken by the batch, not by the 60 s interval
    assert len(exporter.spans) == 3


def test_shutdown_flushes_then_drops(caplog: pytest.LogCaptureFixture) -> None:
    exporter = CaptureExporter()
    configure(exporter=exporter, flush_interval=60)
    with span("before"):
        pass
    open_span = span("across-shutdown")
    open_span.__enter__()
    assert shutdown(timeout=5) is True
    assert [s.name for s in exporter.spans] == ["before"]
    open_span.__exit__(None, None, None)
    with span("after") as s:  # the SDK is a no-op again
        assert not s.is_recording
    assert RUNTIME.processor is None
    assert stats()["exported"] == 1


def test_reconfigure_flushes_the_old_pipeline() -> None:
    first, second = CaptureExporter(), CaptureExporter()
    configure(exporter=first, flush_interval=60)
    with span("one"):
        pass
    configure(exporter=second, flush_interval=60)
    with span("two"):
        pass
    assert flush(timeout=5) is True
    assert [s.name for s in first.spans] == ["one"]
    assert [s.name for s in second.spans] == ["two"]


def test_internal_errors_never_reach_the_app(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "0")
    configure(exporter=CaptureExporter(), flush_interval=60)

    def broken_clock() -> int:
        raise RuntimeError("clock bug")

    monkeypatch.setattr(RUNTIME, "clock", broken_clock)
    with caplog.at_level(logging.ERROR, logger="spanscope"):
        for _ in range(3):
            with span("x") as s:
                s.add_event("e")
                value = 42
        assert value == 42
        with pytest.raises(KeyError), span("y"):  # the user's own exception still propagates unchanged
            raise KeyError("mine")
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("spanscope internal error; your code is unaffected") == 1


def test_internal_errors_raise_under_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(exporter=CaptureExporter(), flush_interval=60)

    def broken_ids() -> str:
        raise RuntimeError("id bug")

    monkeypatch.setattr(RUNTIME, "new_span_id", broken_ids)
    with pytest.raises(RuntimeError, match="id bug"), span("x"):
        pass


def test_worker_errors_surface_at_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(exporter=CaptureExporter(), flush_interval=60)

    def broken(*_: object) -> None:
        raise RuntimeError("conversion bug")

    monkeypatch.setattr(SpanEncoder, "span", broken)
    with span("x"):
        pass
    with pytest.raises(RuntimeError, match="conversion bug"):
        flush(timeout=5)
    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "0")
    with span("y"):
        pass
    assert flush(timeout=5) is False  # production: logged, counted, and the app carries on
    assert stats()["export_failed"] == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_forked_child_gets_its_own_worker() -> None:
    exporter = CaptureExporter()
    configure(exporter=exporter, flush_interval=60)
    with span("parent-before-fork"):
        pass  # left queued: the child must not export it again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads running
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            signal.alarm(20)  # never hang the test run
            with span("in-child"):
                pass
            names = [s.name for s in exporter.spans]
            ok = flush(timeout=10)
            names = [s.name for s in exporter.spans]
            if ok and names.count("in-child") == 1 and stats()["exported"] == 1:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert flush(timeout=5) is True
    assert [s.name for s in exporter.spans] == ["parent-before-fork"]
