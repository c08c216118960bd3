"""The embedded store: one DuckDB file, owned by the server process (one writer).

``write_many`` writes a group of batches in one transaction (``write.py``); in the server it is called by
the :class:`~spanscope.store.durable.DurableStore` applier, the only writer. Reads use a cursor per call,
so they run beside it (``read.py``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import duckdb

from spanscope.store.duckdb.quality import QualityMixin
from spanscope.store.duckdb.read import ReadMixin
from spanscope.store.duckdb.write import WriteMixin
from spanscope.store.schema import MIGRATIONS

DB_FILENAME = "spanscope.duckdb"


class DuckDBStore(WriteMixin, ReadMixin, QualityMixin):
    """The default engine. ``path`` is a directory (the file inside is ``spanscope.duckdb``) or a file."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False):
        p = Path(path)
        if p.suffix != ".duckdb":
            p.mkdir(parents=True, exist_ok=True)
            p = p / DB_FILENAME
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
        self.path = p
        self.read_only = read_only
        self._con = duckdb.connect(str(p), read_only=read_only)
        self._lock = threading.Lock()
        if not read_only:
            # Checkpoint every 256 MB of WAL, not DuckDB's 16 MB: each checkpoint rewrites the partly filled last
            # row groups and every index, and the blocks that frees stay in the file. Measured at 1M spans
            # (BENCHMARKS.md, issue 5): file 294 -> 234 bytes/span, load 119 -> 76 s; the data is 213 either way.
            self._con.execute("SET checkpoint_threshold = '256MB'")
            self._migrate()

    # ------------------------------------------------------------------ schema
    def _migrate(self, *, dry_run: bool = False) -> list[str]:
        """Apply the pending migrations and return their ids; ``dry_run`` only lists them (works read-only)."""
        con = self._con
        if not dry_run:
            con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
        tracked = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = 'schema_migrations'"
        ).fetchone()
        applied = {r[0] for r in con.execute("SELECT id FROM schema_migrations").fetchall()} if tracked[0] else set()
        pending = [mid for mid in MIGRATIONS if mid not in applied]
        if dry_run:
            return pending
        for mid in pending:
            statements = MIGRATIONS[mid]
            con.execute("BEGIN")
            for stmt in statements:
                con.execute(stmt)
            con.execute("INSERT INTO schema_migrations VALUES (?, now())", [mid])
            con.execute("COMMIT")
        return pending

    # ------------------------------------------------------------------ writes
    def stats(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        with self._lock:
            try:
                if not self.read_only:
                    self._con.execute("CHECKPOINT")
            finally:
                self._con.close()
