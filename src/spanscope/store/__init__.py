"""Storage engines behind one ``Store`` contract: DuckDB (embedded default); ClickHouse later."""

from spanscope.store.base import SearchResult, Store, TraceRow

__all__ = ["SearchResult", "Store", "TraceRow", "open_store"]


def open_store(data_dir: str, *, read_only: bool = False, write_batch_rows: int = 20_000) -> Store:
    """Open the embedded store in ``data_dir`` (imports the engine lazily)."""
    from spanscope.store.duckdb import DuckDBStore

    return DuckDBStore(data_dir, read_only=read_only, write_batch_rows=write_batch_rows)
