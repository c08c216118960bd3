"""The columns scans read keep LZ4 in every part (``1000_scan_columns_lz4``): ClickHouse 26 compresses parts merged
past a size with ZSTD(3) unless a column names its codec, and ZSTD decompresses at a quarter of LZ4's speed."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.store.clickhouse.cluster import cluster_ddl
from spanscope.store.clickhouse.schema import SCAN_COLUMNS_LZ4
from tests.unit.store.engines import fresh_chdb_store

pytest.importorskip("chdb")


def _codecs(store: object, table: str) -> dict[str, str]:
    rows = store._ex.rows(  # type: ignore[attr-defined]
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
