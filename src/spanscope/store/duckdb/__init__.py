"""The embedded store: one DuckDB file, owned by the server process (one writer).

Writes go through a :class:`GroupCommitWriter` (``write.py``); reads use a cursor per call, so they run
beside the writer (``read.py``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import duckdb

from spanscope.store.duckdb.read import ReadMixin
from spanscope.store.duckdb.write import WriteMixin
from spanscope.store.schema import MIGRATIONS, SCHEMA_VERSION
from spanscope.store.writer import GroupCommitWriter

DB_FILENAME = "spanscope.duckdb"


class DuckDBStore(WriteMixin, ReadMixin):
    """The default engine. ``path`` is a directory (the file inside is ``spanscope.duckdb``) or a file."""

    def __init__(self, path: str | os.PathLike[str], *, read_only: bool = False, write_batch_rows: int = 20_000):
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
            self._migrate()
            self._writer: GroupCommitWriter | None = GroupCommitWriter(self._write_many, max_rows=write_batch_rows)
        else:
            self._writer = None

    # ------------------------------------------------------------------ schema
    def _migrate(self) -> None:
        con = self._con
        con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] if row and row[0] is not None else 0
        for version in sorted(MIGRATIONS):
            if version <= current:
                continue
            con.execute("BEGIN")
            for stmt in MIGRATIONS[version]:
                con.execute(stmt)
            con.execute("INSERT INTO schema_version VALUES (?)", [version])
            con.execute("COMMIT")
        assert max(MIGRATIONS) == SCHEMA_VERSION

    # ------------------------------------------------------------------ writes
    def stats(self) -> dict[str, Any]:
        return self._writer.stats() if self._writer else {}

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        with self._lock:
            try:
                if not self.read_only:
                    self._con.execute("CHECKPOINT")
            finally:
                self._con.close()
