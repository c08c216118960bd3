"""Store URLs for the engines the contract suite runs on.

- ``duckdb``: the default (no URL: the store lives in the test's data dir).
- ``chdb``: ClickHouse in-process. chDB allows one data path per process, so every test gets a fresh
  database inside one per-process directory (``chdb:///<dir>?database=t_<random>``).
- ``clickhouse``: a server over HTTP through clickhouse-connect (``HttpExecutor``); each test gets a fresh database
  on it. ``SPANSCOPE_TEST_CLICKHOUSE_URL`` (``clickhouse://user:pass@host:8123``) names a real server or cluster;
  unset, the process starts (once, stopped at exit) ``tests/clickhouse_http.py``: ClickHouse's HTTP interface on a
  loopback port, every statement executed by chDB in that child process (chDB allows one data path per process,
  and this one holds the ``chdb`` engine's).
- a cluster layout (``clustered_store_url``): ``spanscope cluster-ddl`` on a chDB-backed node configured as the one
  node of cluster ``rehearsal``; with ``SPANSCOPE_TEST_CLICKHOUSE_CLUSTER`` set (and ``SPANSCOPE_TEST_CLICKHOUSE_URL``
  naming one of its nodes), on that real cluster.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pytest

_chdb_dir: str | None = None
_http_server: tuple[subprocess.Popen[bytes], int] | None = None


def chdb_dir() -> str:
    """The process's one chDB data directory (removed at exit)."""
    global _chdb_dir
    if _chdb_dir is None:
        _chdb_dir = tempfile.mkdtemp(prefix="spanscope-chdb-")
        atexit.register(shutil.rmtree, _chdb_dir, True)
    return _chdb_dir


def local_clickhouse_url() -> str:
    """``clickhouse://default:@127.0.0.1:<port>`` of this process's chDB-backed HTTP server (started on first use)."""
    global _http_server
    if _http_server is None:
        from tests.clickhouse_http import spawn, stop

        base = Path(tempfile.mkdtemp(prefix="spanscope-chhttp-"))
        proc, port = spawn(str(base / "data"), base / "server.log")
        _http_server = proc, port
        # Registered after rmtree's so it runs first: the server lets go of its directory, then it goes.
        atexit.register(shutil.rmtree, base, True)
        atexit.register(stop, proc)
    return f"clickhouse://default:@127.0.0.1:{_http_server[1]}"


CLUSTER = "rehearsal"
# One node, itself: a Distributed table reads and writes its local shard in-process (is_local), as a server's does.
CLUSTER_CONFIG = f"""<clickhouse>
  <tcp_port>9000</tcp_port>
  <remote_servers><{CLUSTER}><shard><replica><host>localhost</host><port>9000</port></replica></shard></{CLUSTER}>
  </remote_servers>
  <macros><shard>01</shard><replica>node1</replica></macros>
</clickhouse>
"""
_cluster_node: str | None = None


def cluster_node_url() -> str:
    """``clickhouse://`` of a chDB-backed ClickHouse node configured (``remote_servers``, ``macros``) as the one node
    of cluster ``rehearsal`` (started on first use, stopped at exit)."""
    global _cluster_node
    if _cluster_node is None:
        from tests.clickhouse_http import spawn, stop

        base = Path(tempfile.mkdtemp(prefix="spanscope-cluster-"))
        (base / "config.xml").write_text(CLUSTER_CONFIG)
        proc, port = spawn(str(base / "data"), base / "server.log", config_file=str(base / "config.xml"))
        atexit.register(shutil.rmtree, base, True)
        atexit.register(stop, proc)
        _cluster_node = f"clickhouse://default:@127.0.0.1:{port}"
    return _cluster_node


def clustered_store_url() -> str:
    """A fresh database laid out by ``spanscope cluster-ddl`` (trace tables ``Distributed`` over local ones), as a
    store URL whose inserts wait for the shards. On a real cluster when ``SPANSCOPE_TEST_CLICKHOUSE_URL`` names one
    of its nodes and ``SPANSCOPE_TEST_CLICKHOUSE_CLUSTER`` the cluster (``ON CLUSTER``, ``Replicated…`` engines);
    else on the rehearsal node (``--per-node --no-replication``)."""
    from spanscope.store.clickhouse import executor_from_url
    from spanscope.store.clickhouse.cluster import current_cluster_ddl

    real = os.environ.get("SPANSCOPE_TEST_CLICKHOUSE_CLUSTER")
    node = os.environ["SPANSCOPE_TEST_CLICKHOUSE_URL"].rstrip("/") if real else cluster_node_url()
    database = f"c_{uuid.uuid4().hex[:10]}"
    ex = executor_from_url(f"{node}/{database}")
    try:
        for statement in current_cluster_ddl(real or CLUSTER, database, replicated=bool(real), per_node=not real):
            ex.command(statement)
    finally:
        ex.close()
    return f"{node}/{database}?distributed_foreground_insert=1"


def engine_url(engine: str) -> str | None:
    database = f"t_{uuid.uuid4().hex[:12]}"
    if engine == "duckdb":
        return None
    if engine == "chdb":
        pytest.importorskip("chdb")
        return f"chdb://{chdb_dir()}?database={database}"
    if engine == "clickhouse":
        pytest.importorskip("clickhouse_connect", reason="the clickhouse engine needs the clickhouse extra")
        url = os.environ.get("SPANSCOPE_TEST_CLICKHOUSE_URL")
        if not url:
            pytest.importorskip("chdb", reason="without SPANSCOPE_TEST_CLICKHOUSE_URL, chDB serves the HTTP endpoint")
            url = local_clickhouse_url()
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, ""))
    raise ValueError(engine)


def drop_database(url: str | None) -> None:
    """Drop a test's ClickHouse database, so its tables' background merges stop taking CPU from later tests."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        from urllib.parse import parse_qs

        from spanscope.store.clickhouse.executor import ChDBExecutor

        database = parse_qs(parts.query)["database"][-1]
        ChDBExecutor(chdb_dir(), database=database).command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
    elif parts.scheme in ("clickhouse", "clickhouses"):
        import clickhouse_connect

        client = clickhouse_connect.get_client(
            host=parts.hostname,
            port=parts.port or (8443 if parts.scheme == "clickhouses" else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            secure=parts.scheme == "clickhouses",
        )
        try:
            client.command(f"DROP DATABASE IF EXISTS `{parts.path.strip('/')}` SYNC")
        finally:
            client.close()


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


@contextmanager
def duckdb_and_chdb(tmp_path_factory: pytest.TempPathFactory, project: str, batch: Any) -> Iterator[tuple[Any, Any]]:
    """A DuckDB store and a chDB store holding the same ``batch`` (differential tests), closed and dropped after."""
    from spanscope.store import open_store

    urls = [None, engine_url("chdb")]
    stores = [open_store(str(tmp_path_factory.mktemp(f"pair{i}")), url) for i, url in enumerate(urls)]
    try:
        for store in stores:
            store.write(project, batch)
            store.barrier()  # in the database, for reads that go to the engine itself
        yield stores[0], stores[1]
    finally:
        for store in stores:
            store.close()
        drop_database(urls[1])
