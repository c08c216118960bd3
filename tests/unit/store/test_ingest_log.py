"""The ingest log and the durable store in front of the engine."""

from __future__ import annotations

import threading
from pathlib import Path

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span
from spanscope.store import open_store
from spanscope.store.duckdb import DuckDBStore
from spanscope.store.durable import LOG_DIRNAME, DurableStore, StoreOverloaded
from spanscope.store.wal import IngestLog
from tests.helpers import make_span, sid, tid


def batch(*names: str, trace: int = 1) -> IngestBatch:
    return IngestBatch(spans=[msgspec.convert(make_span(tid(trace), sid(i + 1), n), Span) for i, n in enumerate(names)])


def test_log_appends_in_order_and_ignores_a_torn_tail(tmp_path: Path) -> None:
    log = IngestLog(tmp_path)
    seqs = [log.append(f"record {i}".encode()).result() for i in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    log.close()
    (seg,) = log.segments()
    with open(seg, "ab") as f:  # a crash in the middle of an append
        f.write(b"\x10\x00\x00\x00garbage")
    assert [(s, p) for s, p in IngestLog.read_segment(seg)] == [(i + 1, f"record {i}".encode()) for i in range(5)]
    reopened = IngestLog(tmp_path)
    assert reopened.append(b"next").result() == 6
    reopened.close()


def test_log_releases_applied_segments(tmp_path: Path) -> None:
    log = IngestLog(tmp_path, segment_bytes=64)
    for _ in range(10):
        log.append(b"x" * 50).result()  # one record per segment: each is over 64 bytes
    assert [int(p.stem) for p in log.segments()] == list(range(1, 11))
    log.release(4)
    assert [int(p.stem) for p in log.segments()] == list(range(5, 11))
    log.release(10)
    assert len(log.segments()) == 1  # the open segment stays
    log.close(applied_seq=10)
    assert log.segments() == []


def test_acknowledged_but_unapplied_writes_are_replayed(tmp_path: Path) -> None:
    # what a crash leaves: records in the ingest log that never reached the database
    log = IngestLog(tmp_path / LOG_DIRNAME)
    enc = msgspec.json.Encoder()
    b = batch("root", "child")
    f = Finding(trace_id=tid(1), name="q", value=0.5, finding_id="f1", time_ns=1)
    log.append(enc.encode(("p", [], b.spans, [], [f]))).result()
    log.append(enc.encode(("p", [], batch("root-v2").spans, [], [f]))).result()  # replayed twice: idempotent
    log.close()
    store = open_store(str(tmp_path))
    try:
        t = store.get_trace("p", tid(1))
        assert t is not None and sorted(s.name for s in t.spans) == ["child", "root-v2"]
        assert [x.finding_id for x in t.findings] == ["f1"]
        assert store.stats()["applied_seq"] == 2
    finally:
        store.close()
    assert list((tmp_path / LOG_DIRNAME).glob("*.log")) == []  # a clean close leaves nothing to replay
    again = open_store(str(tmp_path))
    try:
        t = again.get_trace("p", tid(1))
        assert t is not None and len(t.spans) == 2
    finally:
        again.close()


class _GatedEngine:
    """The real DuckDB engine, held back until the test opens the gate."""

    def __init__(self, path: Path):
        self.engine = DuckDBStore(path)
        self.gate = threading.Event()

    def write_many(self, jobs: list) -> None:
        self.gate.wait(30)
        self.engine.write_many(jobs)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.engine, name)


def test_overload_is_refused_then_recovers(tmp_path: Path) -> None:
    engine = _GatedEngine(tmp_path)
    store = DurableStore(engine, tmp_path, max_queue_rows=3, barrier_timeout=0.2)
    try:
        store.write("p", batch("a", "b", trace=1))
        with pytest.raises(StoreOverloaded) as err:
            store.write("p", batch("c", "d", trace=2))
        assert err.value.retry_after > 0
        assert store.barrier() is False  # the database is behind: a read can't wait forever
        engine.gate.set()
        assert store.barrier(timeout=10) is True
        store.write("p", batch("c", "d", trace=2))
        assert {t.trace_id for t in store.search_traces("p").traces} == {tid(1), tid(2)}
    finally:
        engine.gate.set()
        store.close()


class _RecordingEngine:
    """A real DuckDB store that records how the applier groups requests into transactions."""

    def __init__(self, path: Path) -> None:
        self.engine = DuckDBStore(path)
        self.groups: list[int] = []

    def write_many(self, jobs: list[tuple[str, IngestBatch]]) -> None:
        self.groups.append(len(jobs))
        self.engine.write_many(jobs)

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self.engine, name)


def test_applier_gathers_requests_into_one_transaction(tmp_path: Path) -> None:
    engine = _RecordingEngine(tmp_path)
    # a long gathering window, so only max_rows can end it here
    store = DurableStore(engine, tmp_path, max_rows=3, apply_delay=60)
    try:
        for trace in (1, 2, 3):
            store.write("p", batch("a", trace=trace))
        assert store.barrier(timeout=30) is True
        assert engine.groups == [3]
    finally:
        store.close()


def test_a_waiting_read_makes_the_applier_write_at_once(tmp_path: Path) -> None:
    engine = _RecordingEngine(tmp_path)
    store = DurableStore(engine, tmp_path, apply_delay=600)  # would gather for ten minutes
    try:
        store.write("p", batch("a", trace=1))
        store.write("p", batch("b", trace=2))
        # the read asks the applier to stop gathering: it returns long before the window would end
        assert {t.trace_id for t in store.search_traces("p").traces} == {tid(1), tid(2)}
        assert store.barrier(timeout=30) is True
        store.write("p", batch("c", trace=3))
        assert len(store.search_traces("p").traces) == 3  # and again for the next read
    finally:
        store.close()


@pytest.mark.parametrize("engine", ["duckdb", "chdb"])
def test_a_drop_report_replayed_after_a_crash_counts_once(tmp_path: Path, engine: str) -> None:
    # A crash after the database has a group but before the log forgets it: the log replays the group on the next
    # start. The report's id was stamped before logging, so the replay writes the same key again.
    import shutil

    from tests.unit.store.engines import drop_database, engine_url

    url = engine_url(engine)
    report = {"dropped": {"queue_full": 4, "export_failed": 1}, "sdk": "spanscope-python", "version": "1"}
    store = open_store(str(tmp_path), url)
    try:
        b = batch("root")
        b.sdk_stats = report
        store.write("p", b)
        store.write("p", IngestBatch(sdk_stats={"dropped": {"queue_full": 2}}))  # a report without items
        store.barrier()  # type: ignore[attr-defined]
        assert store.sdk_drop_totals("p")["dropped"] == {"queue_full": 6, "export_failed": 1}
        shutil.copytree(tmp_path / LOG_DIRNAME, tmp_path / "log-at-crash")
    finally:
        store.close()
    shutil.rmtree(tmp_path / LOG_DIRNAME)
    shutil.copytree(tmp_path / "log-at-crash", tmp_path / LOG_DIRNAME)
    again = open_store(str(tmp_path), url)
    try:
        got = again.sdk_drop_totals("p")
        assert got["dropped"] == {"queue_full": 6, "export_failed": 1}
        assert again.get_trace("p", tid(1)) is not None
    finally:
        again.close()
        drop_database(url)


def test_drop_reports_from_before_their_ids_keep_counting(tmp_path: Path) -> None:
    # A store from before migration 0700: its reports get ids from a hash of each row, rows alike included.
    import duckdb

    DuckDBStore(tmp_path).close()
    con = duckdb.connect(str(tmp_path / "spanscope.duckdb"))
    con.execute("DROP INDEX sdk_reports_key")
    con.execute("ALTER TABLE sdk_reports DROP COLUMN report_id")
    con.execute("DELETE FROM schema_migrations WHERE id = '0700_sdk_report_ids'")
    for _ in range(2):
        con.execute("INSERT INTO sdk_reports VALUES ('p', 1, 'py', '1', 'queue_full', 3)")
    con.close()
    store = DuckDBStore(tmp_path)
    try:
        assert store.sdk_drop_totals("p")["dropped"] == {"queue_full": 6}
        ids = store._con.execute("SELECT DISTINCT report_id FROM sdk_reports").fetchall()
        assert len(ids) == 2 and all(i[0] for i in ids)
        b = batch("root")
        b.sdk_stats = {"dropped": {"queue_full": 1}}
        for _ in range(2):  # the same batch again (no ingest log here): keyed by its items, counted once
            store.write_many([("p", b)])
        assert store.sdk_drop_totals("p")["dropped"] == {"queue_full": 7}
    finally:
        store.close()
