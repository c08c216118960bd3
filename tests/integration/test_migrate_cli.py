"""``spanscope migrate``, ``spanscope migrate-data`` and ``spanscope serve --retention-days``, end to end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import msgspec
import pytest

from spanscope.cli.main import main
from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.server import ServerThread
from spanscope.store import open_store
from spanscope.store.clickhouse.schema import MIGRATIONS as CH_MIGRATIONS
from spanscope.store.retention import NS_PER_DAY
from spanscope.store.schema import MIGRATIONS
from tests.helpers import sid, tid
from tests.unit.store.engines import drop_database, engine_url


@pytest.fixture
def chdb_url() -> Iterator[str]:
    url = engine_url("chdb")
    yield url
    drop_database(url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def spans(*ages_days: int, first: int = 1) -> IngestBatch:
    now = time.time_ns()
    out = []
    for n, age in enumerate(ages_days, start=first):
        start = now - age * NS_PER_DAY
        out.append(
            msgspec.convert(
                {
                    "trace_id": tid(n),
                    "span_id": sid(n),
                    "name": "turn",
                    "start_time_ns": start,
                    "end_time_ns": start + 1,
                },
                Span,
            )
        )
    return IngestBatch(spans=out)


# ---------------------------------------------------------------------------- migrate
def test_migrate_duckdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    code, out, _ = run(capsys, "migrate", "--data-dir", data, "--dry-run")
    assert code == 0 and all(f"pending  {m}" in out for m in MIGRATIONS)
    assert f"{len(MIGRATIONS)} pending (run without --dry-run to apply)" in out
    assert not (tmp_path / "data" / "spanscope.duckdb").exists()  # a dry run creates nothing

    code, out, _ = run(capsys, "migrate", "--data-dir", data)
    assert code == 0 and all(f"applied {m}" in out for m in MIGRATIONS)
    assert out.rstrip().endswith(f"schema is current ({len(MIGRATIONS)} migrations)")

    code, out, _ = run(capsys, "migrate", "--data-dir", data)
    assert code == 0 and "nothing to apply" in out and "applied 0" not in out

    # A store from before the last migration: listed as pending, then applied explicitly.
    last = list(MIGRATIONS)[-1]
    con = duckdb.connect(str(tmp_path / "data" / "spanscope.duckdb"))
    con.execute("DELETE FROM schema_migrations WHERE id = ?", [last])
    con.close()
    code, out, _ = run(capsys, "migrate", "--store", f"duckdb://{data}", "--status")
    assert code == 0 and f"pending  {last}" in out and "1 pending" in out
    code, out, _ = run(capsys, "migrate", "--store", f"duckdb://{data}")
    assert code == 0 and f"applied {last}" in out


def test_migrate_chdb(chdb_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "migrate", "--store", chdb_url, "--dry-run")
    assert code == 0 and f"{len(CH_MIGRATIONS)} pending" in out
    code, out, _ = run(capsys, "migrate", "--store", chdb_url, "--data-dir", str(tmp_path))
    assert code == 0 and all(f"applied {m}" in out for m in CH_MIGRATIONS)
    code, out, _ = run(capsys, "migrate", "--store", chdb_url, "--dry-run")
    assert code == 0 and "0 pending: schema is current" in out


def test_migrate_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "migrate", "--store", "mysql://x")
    assert code == 2 and "unknown store URL 'mysql://x'" in err
    code, _, err = run(capsys, "migrate-data", "--from", str(tmp_path / "none"), "--to", str(tmp_path / "b"))
    assert code == 2 and "no DuckDB store at" in err


# ---------------------------------------------------------------------------- migrate-data
def test_migrate_data_cli(tmp_path: Path, chdb_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(str(tmp_path / "src"))
    store.write("p", spans(1, 2, 3))
    store.close()
    state = str(tmp_path / "state")

    code, out, err = run(capsys, "migrate-data", "--from", str(tmp_path / "src"), "--to", chdb_url, "--data-dir", state)
    assert code == 0, err
    assert "spans: 3 rows copied" in out and "traces: 3 rows copied" in out
    assert "spans" in err and "3/3" in err  # the progress bar (stderr)
    code, out, _ = run(
        capsys, "migrate-data", "--from", str(tmp_path / "src"), "--to", chdb_url, "--data-dir", state, "--no-progress"
    )
    assert code == 0 and "already copied by an earlier run: spans, traces" in out and "rows copied" not in out

    target = open_store(str(tmp_path), chdb_url, read_only=True)
    try:
        assert sorted(t.trace_id for t in target.search_traces("p").traces) == [tid(1), tid(2), tid(3)]
    finally:
        target.close()


# ---------------------------------------------------------------------------- serve --retention-days
def test_serve_rejects_a_bad_retention_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "serve", "--data-dir", str(tmp_path), "--port", "0", "--retention-days", "audit=x")
    assert code == 2 and "retention item 'audit=x': expected a whole number of days" in err
    assert not (tmp_path / "spanscope.duckdb").exists()


def test_server_deletes_expired_rows_on_duckdb(tmp_path: Path) -> None:
    srv = ServerThread(tmp_path / "data", retention_days=["30", "audit=0"], retention_interval=0)
    srv.store.write("p", spans(100, 1))
    srv.store.write("audit", spans(100, first=3))
    with srv:
        thread = srv.retention._thread
        assert thread is not None
        thread.join(20)
        assert srv.retention.last_deleted["spans"] == 1
        assert srv.store.get_trace("p", tid(1)) is None and srv.store.get_trace("p", tid(2)) is not None
        assert srv.store.get_trace("audit", tid(3)) is not None  # 0: kept forever


def test_server_sets_ttl_on_clickhouse(tmp_path: Path, chdb_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPANSCOPE_RETENTION_DAYS", "7,audit=90")
    with ServerThread(tmp_path / "data", store_url=chdb_url) as srv:
        assert "spans_data" in srv.retention.changed
        ddl = srv.store.engine._ex.rows(
            "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'spans_data'"
        )[0][0]
        assert (
            "toIntervalDay(90) WHERE project = 'audit'" in ddl
            and "toIntervalDay(7) WHERE project NOT IN ('audit')" in ddl
        )
    with ServerThread(tmp_path / "data", store_url=chdb_url) as srv:
        assert srv.retention.changed == []  # same policy: left as it is
