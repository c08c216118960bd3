"""The scale-out store: ClickHouse, in-process through chDB or a server/cluster through clickhouse-connect.

Same contract as :class:`~spanscope.store.duckdb.DuckDBStore` and the same SQL shape: the read code of the
DuckDB engine runs here unchanged over a cursor that binds ``?`` as typed ClickHouse query parameters
(``executor.py``) and over dedupe views named like the DuckDB tables (``schema.py``); the filter compiles
with :class:`~spanscope.query.dialect_clickhouse.ClickHouseDialect`. Writes: ``write.py``.

>>> store = ClickHouseStore.from_url("chdb:///var/lib/spanscope/ch?database=spanscope")  # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from spanscope.query.dialect_clickhouse import ClickHouseDialect
from spanscope.store.clickhouse.executor import ChDBExecutor, Cursor, Executor, HttpExecutor
from spanscope.store.clickhouse.quality import ClickHouseQualityMixin
from spanscope.store.clickhouse.schema import MIGRATIONS
from spanscope.store.clickhouse.write import WriteMixin
from spanscope.store.duckdb.read import ReadMixin
from spanscope.store.schema import HOT_ATTRIBUTE_COLUMNS

DIALECT: Final = ClickHouseDialect(hot_columns=HOT_ATTRIBUTE_COLUMNS)


def executor_from_url(url: str) -> Executor:
    """``chdb:///path[?database=name]`` or ``clickhouse[s]://user:pass@host:8123/db[?setting=value…]``."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if parts.scheme == "chdb":
        path = unquote(parts.path)
        if not path:
            raise ValueError(f"{url!r}: a chdb:// store needs a directory, e.g. chdb:///var/lib/spanscope/ch")
        return ChDBExecutor(path, database=query.pop("database", "spanscope"))
    if parts.scheme in ("clickhouse", "clickhouses"):
        if not parts.hostname:
            raise ValueError(f"{url!r}: expected clickhouse://user:password@host:8123/database")
        secure = parts.scheme == "clickhouses"
        return HttpExecutor(
            parts.hostname,
            parts.port or (8443 if secure else 8123),
            username=unquote(parts.username or "default"),
            password=unquote(parts.password or ""),
            database=parts.path.strip("/") or "spanscope",
            secure=secure,
            **query,
        )
    raise ValueError(f"{url!r} is not a ClickHouse store URL (chdb:///path or clickhouse://host:8123/db)")


class ClickHouseStore(WriteMixin, ReadMixin, ClickHouseQualityMixin):
    """The ClickHouse engine over one :class:`Executor` (one database)."""

    dialect = DIALECT
    IN_LIST = "has(?, {column})"

    def __init__(self, executor: Executor, *, read_only: bool = False):
        self._ex = executor
        self.read_only = read_only
        self._lock = threading.Lock()
        if not read_only:
            self._migrate()

    @classmethod
    def from_url(cls, url: str, *, read_only: bool = False) -> ClickHouseStore:
        return cls(executor_from_url(url), read_only=read_only)

    # ------------------------------------------------------------------ schema
    def _migrate(self, *, dry_run: bool = False) -> list[str]:
        """Apply the pending migrations and return their ids; ``dry_run`` only lists them (changes nothing)."""
        ex = self._ex
        if not dry_run:
            ex.command(
                "CREATE TABLE IF NOT EXISTS schema_migrations (id String, applied_at DateTime DEFAULT now()) "
                "ENGINE = ReplacingMergeTree ORDER BY id"
            )
        tracked = ex.rows(
            "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = 'schema_migrations'"
        )
        applied = {r[0] for r in ex.rows("SELECT DISTINCT id FROM schema_migrations")} if tracked[0][0] else set()
        pending = [mid for mid in MIGRATIONS if mid not in applied]
        if dry_run:
            return pending
        for mid in pending:
            statements = MIGRATIONS[mid]
            # No DDL transactions in ClickHouse: every statement is idempotent (IF NOT EXISTS / OR REPLACE),
            # so a migration interrupted half-way is simply run again.
            for stmt in statements:
                ex.command(stmt)
            ex.insert("schema_migrations", ("id",), [(mid,)])
        return pending

    def migrations_applied(self) -> list[str]:
        return sorted(r[0] for r in self._ex.rows("SELECT DISTINCT id FROM schema_migrations"))

    # ------------------------------------------------------------------ reads (engine-specific parts)
    def _cursor(self) -> Any:
        return Cursor(self._ex)

    def query_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._ex.rows(sql, params)

    def stats(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        self._ex.close()


def _loads(text: str | None) -> Any:
    import msgspec

    return None if text is None else msgspec.json.decode(text)


__all__ = ["DIALECT", "ClickHouseStore", "executor_from_url"]
