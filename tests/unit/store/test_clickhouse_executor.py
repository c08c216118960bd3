"""The ClickHouse executors: typed parameter binding (run on chDB), store URLs, the clickhouse-connect path."""

from __future__ import annotations

import socket

import pytest

from spanscope.store import open_store, store_kind
from spanscope.store.clickhouse import executor_from_url
from spanscope.store.clickhouse.executor import ChDBExecutor, bind
from tests.unit.store.engines import chdb_dir, engine_url

pytest.importorskip("chdb")


def test_bind_types_placeholders_and_skips_quoted_text() -> None:
    sql, values = bind("SELECT ?, ?, ?, ?, ? WHERE a = '?' AND b IN ?", ["s", 1, 1.5, True, None, ["x", "y"]])
    assert sql == (
        "SELECT {p0:String}, {p1:Int64}, {p2:Float64}, {p3:Bool}, {p4:Nullable(String)} "
        "WHERE a = '?' AND b IN {p5:Array(String)}"
    )
    assert values == {"p0": "s", "p1": 1, "p2": 1.5, "p3": True, "p4": None, "p5": ["x", "y"]}
    with pytest.raises(ValueError, match="placeholders"):
        bind("SELECT ?", [])
    with pytest.raises(TypeError, match="one type"):
        bind("SELECT ?", [[1, "a"]])


HOSTILE = ["it's", "back\\slash", "tab\there", "new\nline", "{p0:String}", "'; DROP TABLE x; --", "\\N", "ünïcode"]


@pytest.mark.parametrize("value", HOSTILE)
def test_values_come_back_unchanged(value: str) -> None:
    ex = ChDBExecutor(chdb_dir(), database="t_binding")
    assert ex.rows("SELECT ?, ?, length(?)", [value, [value, "b"], value]) == [
        (value, [value, "b"], len(value.encode()))
    ]


def test_null_and_numbers_bind_as_values() -> None:
    ex = ChDBExecutor(chdb_dir(), database="t_binding")
    assert ex.rows("SELECT ? IS NULL, ? + 1, ? * 2, ?", [None, 2**62, 0.25, False]) == [(True, 2**62 + 1, 0.5, False)]


def test_one_chdb_path_per_process_is_explained(tmp_path: object) -> None:
    ChDBExecutor(chdb_dir(), database="t_binding")
    with pytest.raises(RuntimeError, match="one data path per process"):
        ChDBExecutor(str(tmp_path), database="x")


def test_store_urls() -> None:
    assert store_kind(None) == store_kind("duckdb:///x") == "duckdb"
    assert store_kind("chdb:///x") == store_kind("clickhouse://h:8123/db") == "clickhouse"
    with pytest.raises(ValueError, match="unknown store URL"):
        store_kind("postgres://h/db")
    with pytest.raises(ValueError, match="needs a directory"):
        executor_from_url("chdb://")


def test_duckdb_url_names_the_file_location(tmp_path: object) -> None:
    from pathlib import Path

    base = Path(str(tmp_path))
    s = open_store(str(base / "state"), f"duckdb://{base / 'db'}")
    s.close()
    assert (base / "db" / "spanscope.duckdb").exists() and (base / "state" / "ingest-log").exists()


def test_clickhouse_connect_path_reaches_the_network() -> None:
    # No server here: the real clickhouse-connect client is built from the URL and fails to connect, with its
    # own error (not a fake result). SPANSCOPE_TEST_CLICKHOUSE_URL runs the whole contract suite on a server.
    pytest.importorskip("clickhouse_connect")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    from clickhouse_connect.driver.exceptions import OperationalError

    with pytest.raises(OperationalError):
        executor_from_url(f"clickhouse://user:p%40ss@127.0.0.1:{port}/spanscope?connect_timeout=1")


def test_engine_url_gives_each_test_its_database() -> None:
    a, b = engine_url("chdb"), engine_url("chdb")
    assert a != b and a is not None and a.startswith(f"chdb://{chdb_dir()}?database=t_")
