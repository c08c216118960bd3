"""Store URLs for the engines the contract suite runs on.

- ``duckdb``: the default (no URL: the store lives in the test's data dir).
- ``chdb``: ClickHouse in-process. chDB allows one data path per process, so every test gets a fresh
  database inside one per-process directory (``chdb:///<dir>?database=t_<random>``).
- ``clickhouse``: a real server or cluster over HTTP, named by ``SPANSCOPE_TEST_CLICKHOUSE_URL``
  (``clickhouse://user:pass@host:8123``); each test gets a fresh database on it. Skipped when unset.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_chdb_dir: str | None = None


def chdb_dir() -> str:
    """The process's one chDB data directory (removed at exit)."""
    global _chdb_dir
    if _chdb_dir is None:
        _chdb_dir = tempfile.mkdtemp(prefix="spanscope-chdb-")
        atexit.register(shutil.rmtree, _chdb_dir, True)
    return _chdb_dir


def engine_url(engine: str) -> str | None:
    database = f"t_{uuid.uuid4().hex[:12]}"
    if engine == "duckdb":
        return None
    if engine == "chdb":
        pytest.importorskip("chdb")
        return f"chdb://{chdb_dir()}?database={database}"
    if engine == "clickhouse":
        url = os.environ.get("SPANSCOPE_TEST_CLICKHOUSE_URL")
        if not url:
            pytest.skip("set SPANSCOPE_TEST_CLICKHOUSE_URL=clickhouse://user:pass@host:8123 to run on a server")
        pytest.importorskip("clickhouse_connect")
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))
    raise ValueError(engine)


def drop_database(url: str | None) -> None:
    """Drop a test's chDB database, so its tables' background merges stop taking CPU from later tests."""
    if not url or not url.startswith("chdb://"):
        return
    from urllib.parse import parse_qs

    from spanscope.store.clickhouse.executor import ChDBExecutor

    database = parse_qs(urlsplit(url).query)["database"][-1]
    ChDBExecutor(chdb_dir(), database=database).command(f"DROP DATABASE IF EXISTS `{database}` SYNC")


@contextmanager
def fresh_chdb_store() -> Iterator[Any]:
    """A :class:`ClickHouseStore` on a fresh chDB database, dropped afterwards."""
    pytest.importorskip("chdb")
    from spanscope.store.clickhouse import ClickHouseStore

    url = str(engine_url("chdb"))
    store = ClickHouseStore.from_url(url)
    try:
        yield store
    finally:
        store.close()
        drop_database(url)
