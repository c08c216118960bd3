"""``store/copy.py``: a whole store copied DuckDB -> chDB -> DuckDB reads back the same, resumes, never duplicates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.ingest.native import SpanEvent
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store import open_store
from spanscope.store.copy import CopyError, copy_store
from spanscope.store.datasets_core import RecordIn
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")

N_TRACES = 12
FILTERS = [
    None,
    "span.attributes.usage.total_tokens > 40",  # a typed hot column, copied as such
    "tag.even = true AND finding.ok = true",
    "span.inputs.question LIKE '%refund%'",
]


def fill(data_dir: Path) -> None:
    store = open_store(str(data_dir))
    for i in range(1, N_TRACES + 1):
        project = "q" if i % 3 == 0 else "p"
        t, root, llm, tool = tid(i), sid(i * 10), sid(i * 10 + 1), sid(i * 10 + 2)
        at = i * 1000
        spans = [
            make_span(t, root, "chatbot.turn", start_ms=at, dur_ms=300, status="OK", inputs={"question": f"refund {i}"},
                      outputs={"answer": "sure"} if i % 2 else None),
            make_span(t, llm, "llm.generate", parent=root, start_ms=at + 10, dur_ms=200, kind="llm",
                      attributes={"usage.total_tokens": 10 * i, "gen_ai.request.model": "gpt-4o", "note": "x"},
                      events=[{"name": "token", "time_ns": 5, "attributes": {"n": i}}]),
            make_span(t, tool, "tool.lookup", parent=root, start_ms=at + 220, dur_ms=50, kind="tool",
                      status="ERROR" if i == 5 else "OK", status_message="boom" if i == 5 else None),
        ]  # fmt: skip
        findings = [Finding(trace_id=t, name="ok", value=i % 4 != 0, time_ns=at, finding_id=f"f{i}")]
        if i == 4:  # an update: supersedes f4, so finding.ok reads the new value
            findings.append(
                Finding(trace_id=t, name="ok", value=True, time_ns=at + 1, finding_id="f4b",
                        metadata={"spanscope.supersedes": "f4"}, source="human", rationale="checked")
            )  # fmt: skip
        batch = IngestBatch(
            spans=[msgspec.convert(s, Span) for s in spans],
            traces=[TraceInfo(trace_id=t, tags={"i": i, "even": i % 2 == 0}, metadata={"m": [1, "x"]},
                              session_id=f"s{i % 4}", user_id="u1" if i % 2 else None)],
            findings=findings,
            events=[SpanEvent(trace_id=t, span_id=tool, name="retry", time_ns=at + 5, attributes={"attempt": 2})],
        )  # fmt: skip
        batch.sdk_stats = {"dropped": {"queue_full": i}, "sdk": "python", "version": "1.0"}
        store.write(project, batch)
    # Datasets: on ClickHouse, a version's members are read only with its row's _version (the copy keeps that).
    store.create_dataset("p", "golden", "qa set")
    store.commit_dataset_version(
        "p", "golden", message="first",
        add=[RecordIn(fields={"q": "a"}, record_id="r1", source_trace_id=tid(1)), RecordIn(fields={"q": "b"})],
    )  # fmt: skip
    store.commit_dataset_version(
        "p", "golden", add=[RecordIn(fields={"q": "c"}, record_id="r3")], expected=[("record_id", "r1", "yes")]
    )
    store.create_dataset("p", "gone")
    store.delete_dataset("p", "gone")
    store.close()


def snapshot(store: Any) -> dict[str, Any]:
    """What a user reads: every search of FILTERS and every whole trace, per project."""
    out: dict[str, Any] = {}
    for project in ("p", "q"):
        for f in FILTERS:
            rows = store.search_traces(project, f, max_results=1000).traces
            out[f"{project} {f}"] = [r.to_dict() for r in rows]
            for r in rows:
                out[f"{project} {r.trace_id}"] = msgspec.to_builtins(store.get_trace(project, r.trace_id))
        out[f"{project} datasets"] = store.list_datasets(project)
        for d in out[f"{project} datasets"]:
            for v in store.dataset_versions(project, d["name"]):
                out[f"{project} {d['name']} {v['version']}"] = [
                    v,
                    store.dataset_records(project, d["name"], v["version"]),
                ]
    return out


def count(url: str | None, data_dir: Path, table: str) -> int:
    store = open_store(str(data_dir), url, read_only=True)
    try:
        return store.query_rows(f"SELECT count(*) FROM {table}")[0][0]
    finally:
        store.close()


def read(url: str | None, data_dir: Path) -> dict[str, Any]:
    store = open_store(str(data_dir), url, read_only=True)
    try:
        return snapshot(store)
    finally:
        store.close()


@pytest.fixture
def chdb_url() -> Iterator[str]:
    url = engine_url("chdb")
    yield url
    drop_database(url)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    fill(tmp_path / "src")
    return tmp_path / "src"


def test_duckdb_to_chdb_and_back(source: Path, tmp_path: Path, chdb_url: str) -> None:
    src_url = f"duckdb://{source}"
    expected = read(src_url, source)
    assert len(expected[f"p {FILTERS[0]}"]) == 8 and expected[f"q {FILTERS[2]}"]  # the data is what we think
    assert [d["name"] for d in expected["p datasets"]] == ["golden"] and len(expected["p golden 2"][1]) == 3

    report = copy_store(src_url, chdb_url, data_dir=tmp_path / "state", batch_rows=7, progress=False)
    assert report.copied["spans"] == 3 * N_TRACES and report.copied["traces"] == N_TRACES
    assert {"findings", "events", "trace_info", "sdk_reports"} <= set(report.copied)
    assert read(chdb_url, tmp_path) == expected

    back = tmp_path / "back"
    report = copy_store(chdb_url, f"duckdb://{back}", data_dir=tmp_path / "state", batch_rows=5, progress=False)
    assert report.copied["spans"] == 3 * N_TRACES
    assert read(f"duckdb://{back}", back) == expected
    for table in ("spans", "traces", "trace_info", "findings", "events", "sdk_reports"):
        assert count(f"duckdb://{back}", back, table) == count(src_url, source, table), table


def test_a_table_the_target_lacks_is_skipped_with_a_warning(source: Path, tmp_path: Path, chdb_url: str) -> None:
    import duckdb

    con = duckdb.connect(str(source / "spanscope.duckdb"))
    con.execute("CREATE TABLE notes (project VARCHAR, body VARCHAR)")
    con.execute("ALTER TABLE traces ADD COLUMN legacy VARCHAR")
    con.close()
    report = copy_store(f"duckdb://{source}", chdb_url, data_dir=tmp_path, progress=False)
    assert "notes" in report.skipped and "notes" not in report.copied
    assert "table 'notes' is not in the target store: skipped" in report.warnings
    assert "traces: column(s) legacy not in the target: not copied" in report.warnings
    assert report.copied["traces"] == N_TRACES


class Crash(Exception):
    pass


def crash_after(n: int) -> Any:
    seen = []

    def after_batch(table: str, rows: int) -> None:
        seen.append((table, rows))
        if len(seen) == n:
            raise Crash

    return after_batch


@pytest.mark.parametrize("direction", ["duckdb->chdb", "chdb->duckdb"])
def test_resume_after_an_interruption_without_duplicates(
    direction: str, source: Path, tmp_path: Path, chdb_url: str
) -> None:
    duck = f"duckdb://{source}"
    if direction == "chdb->duckdb":
        copy_store(duck, chdb_url, data_dir=tmp_path / "seed", progress=False)
        src, dst, dst_dir = chdb_url, f"duckdb://{tmp_path / 'dst'}", tmp_path / "dst"
    else:
        src, dst, dst_dir = duck, chdb_url, tmp_path
    expected = read(duck, source)
    state = tmp_path / "state"

    with pytest.raises(Crash):  # after 2 chunks of spans
        copy_store(src, dst, data_dir=state, batch_rows=4, progress=False, after_batch=crash_after(2))
    with pytest.raises(Crash):  # the rest of spans, then part of traces
        copy_store(src, dst, data_dir=state, batch_rows=4, progress=False, after_batch=crash_after(10))
    report = copy_store(src, dst, data_dir=state, batch_rows=4, progress=False)
    assert report.already_done == ["spans"] and report.resumed == ["traces"]
    assert report.copied["traces"] < N_TRACES and report.copied["findings"] == N_TRACES + 1

    assert read(dst, dst_dir) == expected
    for table in ("spans", "traces", "trace_info", "findings", "events", "sdk_reports"):
        assert count(dst, dst_dir, table) == count(duck, source, table), table
    if dst.startswith("duckdb"):  # no duplicate keys in the physical tables either
        store = open_store(str(dst_dir), dst, read_only=True)
        dupes = store.query_rows(
            "SELECT count(*) FROM (SELECT project, trace_id, span_id FROM spans GROUP BY ALL HAVING count(*) > 1)"
        )
        store.close()
        assert dupes == [(0,)]

    # Finished: a re-run copies nothing; --restart copies again and still duplicates nothing.
    again = copy_store(src, dst, data_dir=state, progress=False)
    assert again.copied == {} and "spans" in again.already_done
    copy_store(src, dst, data_dir=state, progress=False, restart=True)
    assert read(dst, dst_dir) == expected
    for table in ("spans", "traces", "findings", "events", "sdk_reports"):
        assert count(dst, dst_dir, table) == count(duck, source, table), table


def test_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CopyError, match="same store"):
        copy_store(f"duckdb://{tmp_path}", f"duckdb://{tmp_path}", data_dir=tmp_path, progress=False)
    with pytest.raises(CopyError, match="no DuckDB store at"):
        copy_store(f"duckdb://{tmp_path / 'nothing'}", f"duckdb://{tmp_path / 'b'}", data_dir=tmp_path, progress=False)


def test_from_clickhouse_only_the_newest_version_of_a_row(tmp_path: Path, chdb_url: str) -> None:
    store = open_store(str(tmp_path / "ch"), chdb_url)
    day = 86_400_000
    for name, start_ms, span in [("a", 0, 1), ("b", 0, 1), ("c", 10, 2), ("d", 2 * day, 2)]:
        store.write(
            "p", IngestBatch(spans=[msgspec.convert(make_span(tid(1), sid(span), name, start_ms=start_ms), Span)])
        )
        store.barrier()  # one ingest-log apply each: each write is its own version
    store.close()
    dst = f"duckdb://{tmp_path / 'dst'}"
    copy_store(chdb_url, dst, data_dir=tmp_path, progress=False)
    # Span 2 moved two days on: ClickHouse keeps the newest row per sorting key, so both; DuckDB keeps the
    # last write per span, so the copy keeps the newest version.
    target = open_store(str(tmp_path / "dst"), dst, read_only=True)
    trace = target.get_trace("p", tid(1))
    target.close()
    assert trace is not None and sorted(s.name for s in trace.spans) == ["b", "d"]


def test_from_clickhouse_a_trace_whose_start_moved_is_copied_once(tmp_path: Path, chdb_url: str) -> None:
    # traces_data is sorted by start (schema 0600): a moved start leaves a tombstone under the old one, which
    # the copy reads (the newest version of that sorting key) and must not copy as a row.
    store = open_store(str(tmp_path / "ch"), chdb_url)
    writes = [
        IngestBatch(traces=[TraceInfo(trace_id=tid(1), tags={"k": 1})]),
        IngestBatch(traces=[TraceInfo(trace_id=tid(3), tags={"k": 3})]),  # never gets a span: NULL start
        IngestBatch(spans=[msgspec.convert(make_span(tid(1), sid(2), "child", parent=sid(1), start_ms=500), Span)]),
        IngestBatch(spans=[msgspec.convert(make_span(tid(2), sid(5), "other", start_ms=200), Span)]),
        IngestBatch(spans=[msgspec.convert(make_span(tid(1), sid(1), "root", start_ms=100, dur_ms=600), Span)]),
    ]
    for batch in writes:
        store.write("p", batch)
        store.barrier()
    store.close()
    other = engine_url("chdb")
    assert other is not None
    try:
        for dst, path in ((f"duckdb://{tmp_path / 'dst'}", tmp_path / "dst"), (other, tmp_path / "ch2")):
            copy_store(chdb_url, dst, data_dir=tmp_path / path.name, progress=False)
            target = open_store(str(path), dst, read_only=True)
            rows = target.search_traces("p", max_results=10).traces
            target.close()
            got = sorted((r.trace_id, r.name, r.start_time_ns, r.duration_ms, r.tags.get("k")) for r in rows)
            base = 1_700_000_000_000_000_000
            assert got == [
                (tid(1), "root", base + 100_000_000, 600.0, 1),
                (tid(2), "other", base + 200_000_000, 10.0, None),
                (tid(3), None, None, None, 3),
            ], dst
    finally:
        drop_database(other)
