"""Closed days of ``spans_data`` merged into one part: ``spanscope compact`` now, and ClickHouse itself once a day's
parts are old enough (migration ``0700_merge_closed_days``)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from spanscope.cli.main import main
from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.store.clickhouse.compact import by_id_tables, closed_days, days, merge_closed_days
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import drop_database, engine_url

BASE_MS = 1_700_000_000_000  # make_span's zero: 2023-11-14 22:13:20 UTC
DAY_MS = 86_400_000


def _write(store: Any, spans: list[dict[str, object]]) -> None:
    store.write("p", IngestBatch(spans=[msgspec.convert(s, Span) for s in spans]))


@pytest.fixture
def loaded() -> Iterator[tuple[str, Any]]:
    """A chDB store with two past days in several parts each (a span written twice among them) and today."""
    pytest.importorskip("chdb")
    from spanscope.store.clickhouse import ClickHouseStore

    url = str(engine_url("chdb"))
    store = ClickHouseStore.from_url(url)
    now_ms = time.time_ns() // 1_000_000 - BASE_MS
    for group in range(3):  # one insert, one part, per group and day
        for day in (0, 1):
            _write(store, [make_span(tid(100 * day + group), sid(1), "llm", start_ms=day * DAY_MS + 1000 * group)])
    _write(store, [make_span(tid(0), sid(1), "llm", start_ms=0, dur_ms=99)])  # the same span again, newer
    for group in range(2):
        _write(store, [make_span(tid(900 + group), sid(1), "llm", start_ms=now_ms - 1000 * group)])
    try:
        yield url, store
    finally:
        store.close()
        drop_database(url)


def test_closed_days_merge_into_one_part_each_and_answers_stay(loaded: tuple[str, Any]) -> None:
    _, store = loaded
    ex = store._ex
    before = {(d.table, d.day.isoformat() if d.day else ""): d.parts for d in days(ex)}
    for table in ("spans_data", "traces_data"):  # today's 2, the second day's 3, the first day's 4
        assert sorted(n for (t, _), n in before.items() if t == table) == [2, 3, 4], before
    answer = sorted((t.trace_id, t.duration_ms) for t in store.search_traces("p", None, max_results=50).traces)
    trace = store.get_trace("p", tid(0))
    closed = closed_days(ex)
    # oldest first, both tables; today (still open) and the tables looked up by id (written just now) are left alone
    assert [(d.table, d.parts) for d in closed] == [("spans_data", 4), ("traces_data", 4)] + [
        ("spans_data", 3),
        ("traces_data", 3),
    ]

    merged = merge_closed_days(store)

    assert [(d.table, d.partition_id) for d in merged] == [(d.table, d.partition_id) for d in closed]
    after = {(d.table, d.day): d.parts for d in days(ex)}
    assert sorted(after.values()) == [1, 1, 1, 1, 2, 2], after
    assert closed_days(ex) == []
    assert sorted((t.trace_id, t.duration_ms) for t in store.search_traces("p", None, max_results=50).traces) == answer
    assert store.get_trace("p", tid(0)) == trace
    # the merge kept the newest copy of the span written twice, and only it
    rows = ex.rows("SELECT duration_ms FROM spans_data WHERE trace_id = ?", [tid(0)])
    assert rows == [(99.0,)]
    assert ex.rows("SELECT duration_ms FROM traces_data WHERE trace_id = ?", [tid(0)]) == [(99.0,)]


def test_tables_looked_up_by_id_merge_whole_once_writes_pause(loaded: tuple[str, Any]) -> None:
    _, store = loaded
    ex = store._ex
    _write(store, [make_span(tid(0), sid(2), "tool", parent=sid(1), start_ms=10)])  # another part in each
    keys = {d.table: d for d in by_id_tables(ex)}
    assert keys["trace_keys_data"].parts > 1 and keys["trace_keys_data"].day is None
    assert not [d for d in closed_days(ex) if d.day is None]  # written to just now: not quiet yet
    later = time.time_ns() + 3601 * 10**9
    quiet = [d.table for d in closed_days(ex, now_ns=later, grace_s=3600) if d.day is None]
    assert quiet == [t for t, d in keys.items() if d.parts > 1] and "trace_keys_data" in quiet
    answer = store.get_trace("p", tid(0))
    assert answer is not None and len(answer.spans) == 2

    merge_closed_days(store, now_ns=later, grace_s=3600)

    assert {d.table: d.parts for d in by_id_tables(ex)}["trace_keys_data"] == 1
    assert [d for d in closed_days(ex, now_ns=later, grace_s=3600)] == []
    assert store.get_trace("p", tid(0)) == answer
    # one live key per trace (the merge kept each trace's newest start and end)
    assert ex.rows("SELECT count(), uniqExact(trace_id) FROM trace_keys_data") == [(8, 8)]


def test_a_day_is_closed_only_after_the_grace(loaded: tuple[str, Any]) -> None:
    _, store = loaded
    first_day_end_ns = (BASE_MS // DAY_MS + 1) * DAY_MS * 1_000_000
    assert closed_days(store._ex, now_ns=first_day_end_ns + 10**9, grace_s=3600) == []
    late = closed_days(store._ex, now_ns=first_day_end_ns + 3601 * 10**9, grace_s=3600)
    assert [(d.table, d.parts) for d in late] == [("spans_data", 4), ("traces_data", 4)]


def test_clickhouse_merges_a_closed_day_itself_once_its_parts_are_old_enough(loaded: tuple[str, Any]) -> None:
    _, store = loaded
    ex = store._ex
    for table in ("spans_data", "traces_data"):
        create = ex.rows(
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = ?", [table]
        )[0][0]
        assert "min_age_to_force_merge_seconds = 3600" in create
        assert "min_age_to_force_merge_on_partition_only = 1" in create
        ex.command(f"ALTER TABLE {table} MODIFY SETTING min_age_to_force_merge_seconds = 1")
    deadline = time.monotonic() + 120  # ClickHouse's merge scheduler looks every few seconds
    while closed_days(ex) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sorted(d.parts for d in days(ex)) == [1] * 6  # the whole tables are old now: today merged too


def test_compact_command(loaded: tuple[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    url, store = loaded
    store.close()  # the command opens the store itself (chDB: one session per process, reused)
    assert main(["compact", "--store", url, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("to merge") == 4 and "4 closed day(s) or table(s) with several parts" in out
    assert "trace_keys_data" in out and "whole" in out and "spans_data           2023-11-14" in out
    assert main(["compact", "--store", url]) == 0
    out = capsys.readouterr().out
    assert "merged spans_data 2023-11-14: 4 parts" in out and "merged traces_data 2023-11-15: 3 parts" in out
    assert "4 day(s) or table(s) merged" in out
    assert main(["compact", "--store", url]) == 0
    assert "nothing to merge" in capsys.readouterr().out


def test_compact_on_duckdb_has_nothing_to_do(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compact", "--data-dir", str(tmp_path)]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_a_chdb_store_held_by_a_server_is_named_as_such(tmp_path: Any) -> None:
    # chDB takes one process per data path; a second one (a CLI beside `spanscope serve`) gets a clear answer.
    import subprocess
    import sys

    pytest.importorskip("chdb")
    path = str(tmp_path / "ch")
    hold = f"from chdb import session; s = session.Session({path!r}); print('ready', flush=True); input()"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        cli = [sys.executable, "-c", "import sys; from spanscope.cli.main import main; sys.exit(main(sys.argv[1:]))"]
        out = subprocess.run(
            [*cli, "compact", "--store", f"chdb://{path}", "--dry-run"], capture_output=True, text=True
        )
        assert out.returncode == 2 and "held by another process" in out.stderr, out.stderr
    finally:
        holder.communicate("\n", timeout=30)
