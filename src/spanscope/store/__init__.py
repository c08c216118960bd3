"""Storage engines behind one ``Store`` contract: DuckDB (embedded default); ClickHouse later."""

from spanscope.store.base import SearchResult, Store, TraceRow

__all__ = ["SearchResult", "Store", "TraceRow", "open_store"]


def open_store(
    data_dir: str, *, read_only: bool = False, write_batch_rows: int = 20_000, max_pending_rows: int = 50_000
) -> Store:
    """Open the embedded store in ``data_dir`` (engines are imported lazily).

    Read-write opens put the ingest log in front of the engine (:class:`DurableStore`): writes are
    durable once fsynced there and reach the database in large batches. A read-only open (the CLI
    reading a store no server holds) reads the database file alone.
    """
    from spanscope.store.duckdb import DuckDBStore

    engine = DuckDBStore(data_dir, read_only=read_only)
    if read_only:
        return engine
    from spanscope.store.durable import DurableStore

    return DurableStore(engine, data_dir, max_rows=write_batch_rows, max_queue_rows=max_pending_rows)
