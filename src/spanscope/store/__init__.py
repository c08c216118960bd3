"""Storage engines behind one ``Store`` contract: DuckDB (embedded default) and ClickHouse (scale-out).

A store is named by URL (``SPANSCOPE_STORE`` / ``spanscope serve --store``)::

    duckdb:///path/to/dir          the embedded default (also: no URL, the data dir itself)
    chdb:///path/to/dir[?database=name]      ClickHouse in-process (chDB: one path per process)
    clickhouse://user:pass@host:8123/db      a ClickHouse server or cluster over HTTP (clickhouse-connect)

Engines and their drivers are imported only when a store of that kind is opened.
"""

from urllib.parse import unquote, urlsplit

from spanscope.store.base import SearchResult, Store, TraceRow

__all__ = ["SearchResult", "Store", "TraceRow", "open_store", "store_kind"]

_KINDS = {"duckdb": "duckdb", "chdb": "clickhouse", "clickhouse": "clickhouse", "clickhouses": "clickhouse"}


def store_kind(store_url: str | None) -> str:
    """``"duckdb"`` or ``"clickhouse"`` for a store URL (None: the DuckDB default)."""
    if not store_url:
        return "duckdb"
    scheme = urlsplit(store_url).scheme
    if scheme not in _KINDS:
        raise ValueError(
            f"unknown store URL {store_url!r}: expected duckdb:///path, chdb:///path or clickhouse://host:8123/db"
        )
    return _KINDS[scheme]


def open_store(
    data_dir: str,
    store_url: str | None = None,
    *,
    read_only: bool = False,
    write_batch_rows: int = 20_000,
    max_pending_rows: int = 50_000,
    apply_delay: float = 0.25,
) -> Store:
    """Open the store named by ``store_url`` (default: DuckDB in ``data_dir``).

    ``data_dir`` holds the server's local state whatever the engine: read-write opens put the ingest log
    there in front of the engine (:class:`DurableStore`), so writes are durable once fsynced in it and
    reach the database in large batches. A read-only open (the CLI reading a store no server holds) reads
    the database alone.
    """
    kind = store_kind(store_url)
    engine: Store
    if kind == "duckdb":
        from spanscope.store.duckdb import DuckDBStore

        path = unquote(urlsplit(store_url).path) if store_url else data_dir
        engine = DuckDBStore(path or data_dir, read_only=read_only)
    else:
        from spanscope.store.clickhouse import ClickHouseStore

        engine = ClickHouseStore.from_url(str(store_url), read_only=read_only)
    if read_only:
        return engine
    from spanscope.store.durable import DurableStore

    return DurableStore(
        engine, data_dir, max_rows=write_batch_rows, max_queue_rows=max_pending_rows, apply_delay=apply_delay
    )
