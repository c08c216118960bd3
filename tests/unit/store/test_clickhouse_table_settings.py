"""Physical settings of the ClickHouse tables: the columns scans read keep LZ4 in every part (``1000_scan_columns_lz4``:
ClickHouse 26 compresses parts merged past a size with ZSTD(3) unless a column names its codec, and ZSTD decompresses
at a quarter of LZ4's speed); the trace tables' marks are cached as a store opens (``1100_prewarm_marks``), and a
server too old for such a setting skips it (``IfSupported``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.store.clickhouse import ClickHouseStore
from spanscope.store.clickhouse.cluster import cluster_ddl
from spanscope.store.clickhouse.schema import MIGRATIONS, SCAN_COLUMNS_LZ4, IfSupported
from tests.unit.store.engines import fresh_chdb_store

pytest.importorskip("chdb")


def _codecs(store: ClickHouseStore, table: str) -> dict[str, str]:
    rows = store._ex.rows(
        "SELECT name, compression_codec FROM system.columns WHERE database = currentDatabase() AND table = ?", [table]
    )
    return dict(rows)


def test_scan_columns_are_lz4_and_text_keeps_zstd() -> None:
    with fresh_chdb_store() as store:
        for table, columns in SCAN_COLUMNS_LZ4.items():
            codecs = _codecs(store, table)
            assert {c: codecs[c] for c in columns} == {c: "CODEC(LZ4)" for c in columns}, table
        spans = _codecs(store, "spans_data")
        assert spans["inputs"] == spans["outputs"] == "CODEC(ZSTD(3))" and spans["span_id"] == ""
        # the cluster layout is made from the tables as they are: its local tables carry the codecs
        text = "\n".join(cluster_ddl(store._ex, "prod", "obs"))
        assert "`duration_ms` Float64 CODEC(LZ4)" in text and "`inputs` String CODEC(ZSTD(3))" in text


def test_a_part_written_under_a_zstd_default_keeps_lz4_in_the_scan_columns() -> None:
    # as in a part ClickHouse merged past its size threshold: the part's default codec is ZSTD(3); each column file
    # starts with its first block's method byte (0x82 LZ4, 0x90 ZSTD)
    with fresh_chdb_store() as store:
        store._ex.command(
            "ALTER TABLE spans_data MODIFY SETTING default_compression_codec = 'ZSTD(3)', min_bytes_for_wide_part = 0"
        )
        start, attrs = 10**18, {"gen_ai.request.model": "m"}
        spans = [
            Span(trace_id=f"{j + 1:032x}", span_id=f"{j + 1:016x}", name=f"n{j % 3}", start_time_ns=start + j * 10**6,
                 end_time_ns=start + j * 10**6 + j * 999, attributes=attrs | {"usage.total_tokens": j})
            for j in range(50)
        ]  # fmt: skip
        store.write("p", IngestBatch(spans=spans))
        ((path, codec),) = store._ex.rows(
            "SELECT path, default_compression_codec FROM system.parts WHERE database = currentDatabase() "
            "AND table = 'spans_data' AND active"
        )
        assert codec == "ZSTD(3)"

        def method(column: str) -> int:
            with open(Path(path) / f"{column}.bin", "rb") as f:
                return f.read(17)[16]

        columns = SCAN_COLUMNS_LZ4["spans_data"]
        assert {c: method(c) for c in columns} == dict.fromkeys(columns, 0x82)
        assert method("span_id") == method("trace_id") == 0x90


def test_a_reopened_store_has_the_marks_of_its_trace_tables_in_cache(tmp_path: Path) -> None:
    # 1100_prewarm_marks: the marks of spans_data are in the mark cache as the store opens, before any read of it.
    # Each side runs in a process of its own (one chDB session per process, opened at the start); the other tables'
    # prewarm is off on both sides, so the difference is spans_data's.
    import subprocess
    import sys

    write = """
import msgspec, sys
from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.store.clickhouse import ClickHouseStore
from spanscope.store.clickhouse.schema import PREWARMED_TABLES
from tests.helpers import make_span, sid, tid
store = ClickHouseStore.from_url(f"chdb://{sys.argv[2]}?database=x")
store._ex.command("ALTER TABLE spans_data MODIFY SETTING min_bytes_for_wide_part = 0")
for table in PREWARMED_TABLES:  # spans_data as the migrations left it, unless "off"
    if table != "spans_data" or sys.argv[1] == "off":
        store._ex.command(f"ALTER TABLE {table} MODIFY SETTING prewarm_mark_cache = 0")
store.write("p", IngestBatch(spans=[msgspec.convert(make_span(tid(i), sid(1), "n", start_ms=i, dur_ms=5), Span)
                                    for i in range(100)]))
"""
    count = """
import sys, time
from spanscope.store.clickhouse import ClickHouseStore
store = ClickHouseStore.from_url(f"chdb://{sys.argv[1]}?database=x")
deadline = time.monotonic() + 10  # the prewarm runs in the background as the tables load: wait for it, a while
while True:
    files = store._ex.rows("SELECT value FROM system.metrics WHERE metric = 'MarkCacheFiles'")[0][0]
    if files >= int(sys.argv[2]) or time.monotonic() > deadline:
        break
    time.sleep(0.05)
print(files)
"""

    def files_in_cache(prewarm: str, wanted: int = 0) -> int:
        run = [sys.executable, "-c"]
        root = Path(__file__).parents[3]
        path = str(tmp_path / prewarm.replace(" ", "_"))
        subprocess.run([*run, write, prewarm, path], check=True, cwd=root, timeout=120)
        out = subprocess.run(
            [*run, count, path, str(wanted)], check=True, capture_output=True, text=True, cwd=root, timeout=120
        )
        return int(out.stdout)

    cold = files_in_cache("off")
    wanted = cold + len(SCAN_COLUMNS_LZ4["spans_data"])
    assert files_in_cache("as migrated", wanted) >= wanted


def test_a_setting_the_server_does_not_know_is_skipped_only_where_the_migration_allows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unknown = "ALTER TABLE spans_data MODIFY SETTING no_such_setting_in_any_version = 1"
    with fresh_chdb_store() as store:
        monkeypatch.setitem(
            MIGRATIONS,
            "9998_tuning",
            (IfSupported(unknown), "ALTER TABLE spans_data MODIFY SETTING prewarm_mark_cache = 0"),
        )
        migrated = ClickHouseStore(store._ex)  # applies the pending one: the unknown setting skipped, the next applied
        assert "9998_tuning" in migrated.migrations_applied()
        engine = store._ex.rows(
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'spans_data'"
        )[0][0]
        assert "prewarm_mark_cache = 0" in engine and "no_such_setting" not in engine
        monkeypatch.setitem(MIGRATIONS, "9999_needed", (unknown,))  # a plain statement still fails the migration
        with pytest.raises(Exception, match="UNKNOWN_SETTING"):
            ClickHouseStore(store._ex)
        assert "9999_needed" not in migrated.migrations_applied()
