"""Copying a whole store into another, any engine to any engine (``spanscope migrate-data --from URL --to URL``).

- **Which tables**: read from each store's catalog, not from a list here, so tables added by later migrations
  are copied too. A DuckDB store's tables are its base tables; a ClickHouse store's are its MergeTree tables,
  named by their view (``spans`` for ``spans_data``). A source table the target lacks is skipped with a
  warning, and so is a column; a target column the source lacks keeps its default.
- **In what order**: by a key, in chunks. The key is the table's own (a DuckDB primary key, a ClickHouse
  sorting key's columns, else the logical key of ``clickhouse/schema.py``), preceded on a DuckDB source by
  the row's time when it has one, so a DuckDB target is written in time order. DuckDB streams one ordered
  query as Arrow batches (re-cut so equal keys stay together). ClickHouse reads pages
  ``WHERE (key) > (last) ORDER BY key LIMIT n``. The trace tables (``schema.TABLES``, whose views only
  dedupe) are read from their ``*_data`` table in sorting-key order, the newest version of each sorting key
  as their ``FINAL`` views show: index order, so a page costs what it returns whatever the table's size
  (400k spans: 2.3 s). Other tables (datasets: their views also decide what is visible) are read through
  their views, ``WITH TIES``.
- **Resumable**: after each chunk is written, the last key copied is saved in a checkpoint file (under
  ``<data-dir>/migrate-data/``, one per source and target). A re-run continues after it; a finished copy
  is not redone unless asked (``restart``).
- **Never duplicated**: ClickHouse targets dedupe by key (``ReplacingMergeTree``). Rows read from a
  ClickHouse trace table keep their ``_version``; every other row of one copy carries the same one, kept in
  the checkpoint across resumes: the copy's start time. So anything ingested later wins, and rows that must
  agree on it do (a dataset version's members carry its row's ``_version``). A target key column the
  source lacks (``sdk_reports.report_id`` coming from DuckDB) gets a hash of the row, the same on every
  run. A target table that does not dedupe gets only the keys it lacks. DuckDB targets upsert:
  ``INSERT OR REPLACE`` on a table with a primary key, else the batch's keys are deleted before the insert
  wherever a row could already be there (a target table that was not empty, or the first chunk after a
  resume). ClickHouse keeps a row written again under another sorting key twice (a span whose start moved
  to another minute); a DuckDB target keeps its newest version (last write wins), mended at the end.

The source should not be written while it is copied: a row written meanwhile behind the checkpoint is missed
(run again with ``restart``). A DuckDB file cannot be opened while a server holds it anyway.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc

from spanscope.store import store_kind
from spanscope.store.retention import RECORD_TABLE

# Bookkeeping, not data.
INTERNAL: Final = frozenset({"schema_migrations", RECORD_TABLE})
# Copied first, in this order (the rest follow by name): a partial copy holds whole traces early.
FIRST: Final = ("spans", "traces", "trace_info", "findings", "events")
# A row's own time (ns): the leading sort column on a DuckDB source, and ``_version`` on a ClickHouse target.
TIME_COLUMNS: Final = ("start_time_ns", "time_ns", "created_at_ns", "added_at_ns")


class CopyError(RuntimeError):
    """The copy cannot start (same store, missing source, a store held by a server…); the message says why."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def redact(url: str | None) -> str:
    """A store URL without its password."""
    if not url:
        return "(default DuckDB store)"
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def normalize_url(url: str) -> str:
    """A bare path names a DuckDB store directory: ``./data`` -> ``duckdb:///abs/data``."""
    if "://" in url:
        return url
    return f"duckdb://{Path(url).resolve()}"


def open_engine(url: str | None, data_dir: str | os.PathLike[str], *, read_only: bool) -> Any:
    """The engine named by ``url`` without the ingest log (``open_store`` adds it for serving). Read-write
    opens apply pending migrations; read-only ones change nothing."""
    if store_kind(url) == "duckdb":
        from spanscope.store.duckdb import DB_FILENAME, DuckDBStore

        path = Path((unquote(urlsplit(url).path) if url else "") or data_dir)
        file = path if path.suffix == ".duckdb" else path / DB_FILENAME
        if read_only and not file.exists():
            raise CopyError(f"no DuckDB store at {file}")
        try:
            return DuckDBStore(path, read_only=read_only)
        except Exception as exc:
            if "lock" in str(exc).lower():
                raise CopyError(
                    f"{file} is held by another process (a running `spanscope serve`?): stop it first"
                ) from exc
            raise
    from spanscope.store.clickhouse import ClickHouseStore

    return ClickHouseStore.from_url(str(url), read_only=read_only)


# ---------------------------------------------------------------------------- the two kinds of store
@dataclass
class TableInfo:
    name: str  # logical name: the DuckDB table, the ClickHouse view
    storage: str  # where rows are written (ClickHouse: ``<name>_data`` when there is a view)
    columns: dict[str, str]  # written: column -> SQL type, in table order (no ``_version``)
    key: tuple[str, ...] = ()  # the dedupe key, () when unknown
    not_null: frozenset[str] = frozenset()
    primary_key: bool = False  # DuckDB: INSERT OR REPLACE works
    versioned: bool = False  # ClickHouse: a ``_version`` column
    dedupes: bool = False  # ClickHouse: a Replacing engine
    readable: dict[str, str] = field(default_factory=dict)  # read from ``name`` (ClickHouse: the view's columns)
    stored_key: tuple[str, ...] = ()  # ClickHouse: the sorting key's columns, ``_version`` included
    sort_exprs: tuple[str, ...] = ()  # ClickHouse: the sorting key's expressions
    raw: bool = False  # ClickHouse: read from ``storage`` in its own order (the view only dedupes)


def _after_sql(order: Sequence[str], after: Sequence[Any] | None) -> tuple[str, list[Any]]:
    if after is None:
        return "", []
    return f" WHERE ({', '.join(q(c) for c in order)}) > ({', '.join('?' for _ in order)})", list(after)


def _whole_groups(batches: Iterator[pa.RecordBatch], order: Sequence[str]) -> Iterator[pa.Table]:
    """Re-cut ordered batches so rows with equal ``order`` values never straddle two of them (then a resume
    ``WHERE (order) > (last)`` skips exactly what was written)."""
    carry: pa.Table | None = None
    for batch in batches:
        table = pa.Table.from_batches([batch])
        if carry is not None:
            table = pa.concat_tables([carry, table])
        if table.num_rows == 0:
            continue
        columns = [table.column(c) for c in order]

        def at(i: int, columns: list[Any] = columns) -> tuple[Any, ...]:
            return tuple(c[i].as_py() for c in columns)

        last = at(table.num_rows - 1)
        cut = table.num_rows - 1
        while cut > 0 and at(cut - 1) == last:
            cut -= 1
        if cut == 0:
            carry = table
            continue
        yield table.slice(0, cut)
        carry = table.slice(cut)
    if carry is not None and carry.num_rows:
        yield carry


class DuckDBSide:
    kind = "duckdb"

    def __init__(self, engine: Any):
        self.engine = engine

    def tables(self) -> dict[str, TableInfo]:
        con = self.engine._con.cursor()
        try:
            scope = "database_name = current_database() AND schema_name = 'main'"
            names = [r[0] for r in con.execute(f"SELECT table_name FROM duckdb_tables() WHERE {scope}").fetchall()]
            columns: dict[str, dict[str, str]] = {}
            not_null: dict[str, set[str]] = {}
            for table, column, sql_type, nullable in con.execute(
                "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
                f"WHERE {scope} ORDER BY table_name, column_index"
            ).fetchall():
                columns.setdefault(table, {})[column] = sql_type
                if not nullable:
                    not_null.setdefault(table, set()).add(column)
            primary = {
                r[0]: tuple(r[1])
                for r in con.execute(
                    "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
                    f"WHERE {scope} AND constraint_type = 'PRIMARY KEY'"
                ).fetchall()
            }
        finally:
            con.close()
        from spanscope.store.clickhouse import schema  # the logical keys of the tables without a primary key

        TABLES = {**schema.TABLES, **getattr(schema, "QUALITY_TABLES", {})}  # noqa: N806

        out = {}
        for name in names:
            if name in INTERNAL:
                continue
            logical_key = TABLES.get(name, ((),))[0]
            key = primary.get(name) or (logical_key if all(c in columns[name] for c in logical_key) else ())
            out[name] = TableInfo(
                name,
                name,
                columns[name],
                key,
                frozenset(not_null.get(name, ())),
                primary_key=name in primary,
                readable=columns[name],
            )
        return out

    def count(self, info: TableInfo) -> int:
        con = self.engine._con.cursor()
        try:
            row = con.execute(f"SELECT count(*) FROM {q(info.name)}").fetchone()
        finally:
            con.close()
        return int(row[0]) if row else 0

    def order(self, info: TableInfo) -> list[str]:
        key = [c for c in info.key] or [c for c, t in info.columns.items() if t != "JSON"]
        time_column = next((c for c in TIME_COLUMNS if c in info.columns and c in info.not_null), None)
        return [time_column, *(c for c in key if c != time_column)] if time_column else key

    def read(
        self, info: TableInfo, columns: Sequence[str], order: Sequence[str], after: Sequence[Any] | None, rows: int
    ) -> Iterator[pa.Table]:
        where, params = _after_sql(order, after)
        con = self.engine._con.cursor()
        sql = (
            f"SELECT {', '.join(q(c) for c in columns)} FROM {q(info.name)}{where} ORDER BY {', '.join(map(q, order))}"
        )
        try:
            yield from _whole_groups(iter(con.sql(sql, params=params).to_arrow_reader(rows)), order)
        finally:
            con.close()

    def duplicate_keys(self, info: TableInfo) -> list[tuple[Any, ...]]:
        """Keys held by more than one row (a table without a primary key)."""
        if info.primary_key or not info.key:
            return []
        key = ", ".join(q(c) for c in info.key)
        con = self.engine._con.cursor()
        try:
            return con.execute(f"SELECT {key} FROM {q(info.name)} GROUP BY {key} HAVING count(*) > 1").fetchall()
        finally:
            con.close()

    def write(self, info: TableInfo, batch: pa.Table, columns: Sequence[str], replace: bool) -> None:
        cols = ", ".join(q(c) for c in columns)
        con = self.engine._con.cursor()
        con.register("copy_batch", batch)
        try:
            con.execute("BEGIN")
            if info.primary_key:
                con.execute(f"INSERT OR REPLACE INTO {q(info.name)} ({cols}) SELECT {cols} FROM copy_batch")
            else:
                if replace:  # a row with one of these keys may be there already: replace it
                    key = [c for c in info.key if c in columns] or list(columns)
                    match = " AND ".join(f"b.{q(c)} IS NOT DISTINCT FROM t.{q(c)}" for c in key)
                    con.execute(f"DELETE FROM {q(info.name)} t WHERE EXISTS (SELECT 1 FROM copy_batch b WHERE {match})")
                con.execute(f"INSERT INTO {q(info.name)} ({cols}) SELECT {cols} FROM copy_batch")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            con.unregister("copy_batch")
            con.close()


def _sorting_items(sorting_key: str) -> tuple[str, ...]:
    """The expressions of a ClickHouse sorting key (``project, toDate(…), trace_id``)."""
    items, depth, start = [], 0, 0
    for i, ch in enumerate(sorting_key + ","):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(sorting_key[start:i].strip())
            start = i + 1
    return tuple(item.strip("`") if item.strip("`").isidentifier() else item for item in items if item)


def _sorting_columns(sorting_key: str, columns: dict[str, str]) -> tuple[str, ...]:
    """The plain columns of a ClickHouse sorting key (``project, toDate(…), trace_id`` -> project, trace_id)."""
    return tuple(c for c in _sorting_items(sorting_key) if c in columns)


def _as_viewed(info: TableInfo, page: pa.Table) -> pa.Table:
    """Rows read from ClickHouse storage as the view shows them: NULL where storage keeps '' because n-gram
    indexes take no Nullable (a view column that is Nullable over a storage column that is not)."""
    for c in page.column_names:
        if c in info.not_null and info.readable.get(c, "").startswith("Nullable"):
            column = page.column(c)
            empty = pc.equal(column, "")
            page = page.set_column(
                page.column_names.index(c), c, pc.if_else(empty, pa.scalar(None, column.type), column)
            )
    return page


def _ch_default(sql_type: str) -> Any:
    inner = sql_type.removeprefix("LowCardinality(")
    return 0 if inner.startswith(("Int", "UInt", "Float", "Decimal", "Bool")) else ""


class ClickHouseSide:
    kind = "clickhouse"

    def __init__(self, engine: Any):
        self.engine = engine
        self.ex = engine._ex
        self.version = time.time_ns()  # the ``_version`` of every row written (the checkpoint's, on resume)

    def tables(self) -> dict[str, TableInfo]:
        found = {n: (e, k) for n, e, k in self.ex.rows(
            "SELECT name, engine, sorting_key FROM system.tables WHERE database = currentDatabase()"
        )}  # fmt: skip
        columns: dict[str, dict[str, str]] = {}
        for table, column, sql_type in self.ex.rows(
            # (not the computed ones: ClickHouse fills MATERIALIZED and ALIAS columns itself, and refuses them)
            "SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
            "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS') ORDER BY table, position"
        ):
            columns.setdefault(table, {})[column] = sql_type
        from spanscope.store.clickhouse import schema

        out = {}
        for name, (engine, sorting_key) in sorted(found.items()):
            if not engine.endswith("MergeTree"):
                continue
            base = name.removesuffix("_data")
            logical = base if base != name and found.get(base, ("",))[0] == "View" else name
            if logical in INTERNAL:
                continue
            stored = columns.get(name, {})
            cols = {c: t for c, t in stored.items() if c != "_version"}
            key = _sorting_columns(sorting_key, cols)
            # A Nullable key column (``traces_data.start_time_ns``) is read as ``ifNull(…, max)``: NULLs sort last
            # either way, and a page's last key then compares with the next page's rows.
            sort_exprs = tuple(
                f"ifNull({e}, {2**63 - 1})" if stored.get(e, "").startswith("Nullable") else e
                for e in _sorting_items(sorting_key)
            )
            out[logical] = TableInfo(
                logical,
                name,
                cols,
                key,
                frozenset(c for c, t in cols.items() if not t.startswith(("Nullable", "LowCardinality(Nullable"))),
                versioned="_version" in stored,
                dedupes="Replacing" in engine,
                # What the view shows (a tombstone column may be hidden), without its ``_version``.
                readable={c: t for c, t in columns.get(logical, {}).items() if c != "_version"},
                stored_key=_sorting_columns(sorting_key, stored),
                sort_exprs=sort_exprs,
                # The trace tables' views (``schema.TABLES``) only keep the newest version of each key: those
                # are read from storage, in its order (index order: a page costs what it returns, not the
                # whole table as a page of the view does), newest version per key, as the view would.
                raw=logical in schema.TABLES and logical != name and "_version" in stored and bool(key)
                and set(schema.TABLES[logical][0]) <= set(sort_exprs),
            )  # fmt: skip
        return out

    def count(self, info: TableInfo) -> int:
        # Stored rows, before merges drop replaced versions: an upper bound, for the progress bar.
        rows = self.ex.rows(f"SELECT count() FROM `{info.storage}`")
        return int(rows[0][0]) if rows else 0

    def order(self, info: TableInfo) -> list[str]:
        if info.raw:  # the storage's sorting key (expressions: the batches carry their values under that name)
            return list(info.sort_exprs)
        # The view's own key: a predicate on it reaches below the view's GROUP BY, so a page reads what is left.
        return list(info.key) or list(info.readable)

    def read(
        self, info: TableInfo, columns: Sequence[str], order: Sequence[str], after: Sequence[Any] | None, rows: int
    ) -> Iterator[pa.Table]:
        if info.raw:
            yield from self._read_storage(info, columns, order, after, rows)
            return
        select = ", ".join(f"`{c}`" for c in columns)
        by = ", ".join(f"`{c}`" for c in order)
        while True:
            where, params = _after_sql(order, after)
            page = self.ex.query(
                f"SELECT {select} FROM `{info.name}`{where} ORDER BY {by} LIMIT {int(rows)} WITH TIES", params
            )
            if page.num_rows == 0:
                return
            yield page
            if page.num_rows < rows:
                return
            after = [page.column(c)[page.num_rows - 1].as_py() for c in order]

    def _read_storage(
        self, info: TableInfo, columns: Sequence[str], order: Sequence[str], after: Sequence[Any] | None, rows: int
    ) -> Iterator[pa.Table]:
        """Pages of ``info.storage`` in sorting-key order, with ``_version``: the newest version of each sorting
        key, so of each key (what the view shows) unless a row was written again under another sorting key (a
        span whose start moved to another day). A ClickHouse target keeps the versions, so it still shows the
        newest; a DuckDB target mends those keys at the end (``rows_for_keys``)."""
        types = self.ex.rows(f"SELECT {', '.join(f'toTypeName({e})' for e in order)} FROM `{info.storage}` LIMIT 1")
        if not types:
            return
        extra = {e: f"__k{i}" for i, e in enumerate(order) if e not in columns}
        # A tombstone (schema 0600: the newest version of a sorting key that is no longer the row's) is read to
        # know that key is gone, and not copied.
        tombstones = "is_deleted" in info.columns
        select = ", ".join(
            [
                *(f"`{c}`" for c in columns),
                *(f"{e} AS {alias}" for e, alias in extra.items()),
                "_version",
                *(["is_deleted AS __deleted"] if tombstones else []),
            ]
        )
        by = ", ".join(order)
        while True:
            where, params = "", []
            if after is not None:
                where = f" WHERE ({by}) > ({', '.join(f'CAST(? AS {t})' for t in types[0])})"
                params = [v if isinstance(v, int | float | str) else str(v) for v in after]
            page = self.ex.query(
                f"SELECT {select} FROM `{info.storage}`{where} ORDER BY {by}, _version DESC "
                f"LIMIT 1 BY {by} LIMIT {int(rows)}",
                params,
            )
            if page.num_rows == 0:
                return
            page = page.rename_columns([{a: e for e, a in extra.items()}.get(n, n) for n in page.column_names])
            full, after = page.num_rows, [page.column(e)[page.num_rows - 1].as_py() for e in order]
            if tombstones:
                page = page.filter(pc.equal(page.column("__deleted"), 0)).drop_columns(["__deleted"])
            if page.num_rows:
                yield _as_viewed(info, page)
            if full < rows:
                return

    def newest_rows(
        self, info: TableInfo, columns: Sequence[str], key: Sequence[str], keys: list[tuple[Any, ...]]
    ) -> pa.Table:
        """The newest stored version of each of ``keys`` (values of columns ``key``), one query each."""
        match = " AND ".join(
            [*(f"`{c}` = ?" for c in key), *(["is_deleted = 0"] if "is_deleted" in info.columns else [])]
        )
        select = ", ".join(f"`{c}`" for c in columns)
        pages = [
            self.ex.query(
                f"SELECT {select} FROM `{info.storage}` WHERE {match} ORDER BY _version DESC LIMIT 1", list(k)
            )
            for k in keys
        ]
        return _as_viewed(info, pa.concat_tables(pages))

    def write(self, info: TableInfo, batch: pa.Table, columns: Sequence[str], replace: bool) -> None:
        data = []
        for c in columns:
            values = batch.column(c).to_pylist()
            if c in info.not_null:  # NULL into a plain column: its default ('' is "none" for spans.inputs)
                default = _ch_default(info.columns[c])
                values = [default if v is None else v for v in values]
            data.append(values)
        cols = list(columns)
        if info.versioned:
            # A trace table read from ClickHouse storage keeps its versions (the target then shows the newest,
            # and retention by ingest time still holds); anything else gets the copy's (module doc).
            raw = "_version" in batch.column_names
            data.append(batch.column("_version").to_pylist() if raw else [self.version] * batch.num_rows)
            cols.append("_version")
        rows = list(zip(*data, strict=True))
        if not replace or info.dedupes or not info.stored_key:
            self.ex.insert(info.storage, cols, rows)
            return
        # A table that does not dedupe, and rows that may be there already: insert only the keys it lacks.
        staging = f"copy_staging_{os.urandom(6).hex()}"
        key = ", ".join(f"`{c}`" for c in info.stored_key)
        self.ex.command(f"CREATE TABLE `{staging}` AS `{info.storage}` ENGINE = Memory")
        try:
            self.ex.insert(staging, cols, rows)
            self.ex.command(
                f"INSERT INTO `{info.storage}` SELECT * FROM `{staging}` WHERE ({key}) NOT IN "
                f"(SELECT {key} FROM `{info.storage}`)"
            )
        finally:
            self.ex.command(f"DROP TABLE IF EXISTS `{staging}`")


def side(engine: Any) -> DuckDBSide | ClickHouseSide:
    return ClickHouseSide(engine) if hasattr(engine, "_ex") else DuckDBSide(engine)


# ---------------------------------------------------------------------------- planning and the checkpoint
@dataclass
class TablePlan:
    name: str
    source: TableInfo
    target: TableInfo
    columns: list[str]  # read: the columns copied, then any order column the target lacks
    order: list[str]  # the source's read order (a key, maybe after the row's time)
    rows: int = 0  # source rows (ClickHouse: an upper bound)
    row_ids: list[str] = field(default_factory=list)  # target key columns the source lacks: a hash of the row


@dataclass
class CopyReport:
    copied: dict[str, int] = field(default_factory=dict)  # rows copied by this run
    already_done: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    checkpoint: str = ""


def plan_copy(
    source: DuckDBSide | ClickHouseSide, target: DuckDBSide | ClickHouseSide
) -> tuple[list[TablePlan], CopyReport]:
    report = CopyReport()
    src, dst = source.tables(), target.tables()
    names = [n for n in FIRST if n in src] + sorted(n for n in src if n not in FIRST)
    plans = []
    for name in names:
        if name not in dst:
            report.skipped.append(name)
            report.warnings.append(f"table {name!r} is not in the target store: skipped")
            continue
        s, t = src[name], dst[name]
        if not s.key and t.key and all(c in s.readable for c in t.key):
            s.key = t.key
        columns = [c for c in s.readable if c in t.columns]
        row_ids = [c for c in t.key if c not in s.readable]
        if dropped := [c for c in s.readable if c not in t.columns]:
            report.warnings.append(f"{name}: column(s) {', '.join(dropped)} not in the target: not copied")
        if missing := [c for c in t.columns if c not in s.readable and c not in row_ids]:
            report.warnings.append(f"{name}: target column(s) {', '.join(missing)} not in the source: left default")
        order = source.order(s)
        plans.append(
            TablePlan(
                name, s, t, [*columns, *(c for c in order if c not in columns and c in s.readable)], order, 0, row_ids
            )
        )
    return plans, report


def checkpoint_path(data_dir: str | os.PathLike[str], source_url: str, target_url: str) -> Path:
    digest = hashlib.sha256(f"{source_url}\n{target_url}".encode()).hexdigest()[:16]
    return Path(data_dir) / "migrate-data" / f"{digest}.json"


class Checkpoint:
    """Per table: the read order, the last key copied, rows copied, done. Saved atomically after each chunk."""

    def __init__(self, path: Path, source: str, target: str, *, restart: bool = False):
        self.path = path
        self.state: dict[str, Any] = {
            "source": redact(source),
            "target": redact(target),
            "version": time.time_ns(),  # the ``_version`` of every row this copy writes (ClickHouse)
            "tables": {},
        }
        if path.exists() and not restart:
            self.state = json.loads(path.read_text())

    def table(self, plan: TablePlan) -> dict[str, Any]:
        entry = self.state["tables"].get(plan.name)
        if entry is None or entry.get("order") != plan.order:
            entry = {"order": plan.order, "after": None, "rows": 0, "done": False}
            self.state["tables"][plan.name] = entry
        return dict(entry)

    def save(self, name: str, entry: dict[str, Any]) -> None:
        self.state["tables"][name] = entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=1))
        os.replace(tmp, self.path)


# ---------------------------------------------------------------------------- the copy
def copy_store(
    source_url: str | None,
    target_url: str | None,
    *,
    data_dir: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str] | None = None,
    batch_rows: int = 50_000,
    restart: bool = False,
    progress: bool = True,
    after_batch: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy every table of the store at ``source_url`` into the one at ``target_url`` (see the module doc).

    ``after_batch(table, rows_so_far)`` runs after each chunk is written and checkpointed.

    >>> copy_store("duckdb:///var/lib/spanscope", "chdb:///var/lib/spanscope/ch", data_dir=".")  # doctest: +SKIP
    """
    if (source_url or None) == (target_url or None):
        raise CopyError("the source and the target are the same store")
    path = Path(checkpoint) if checkpoint else checkpoint_path(data_dir, source_url or "", target_url or "")
    source_engine = open_engine(source_url, data_dir, read_only=True)
    try:
        target_engine = open_engine(target_url, data_dir, read_only=False)
    except Exception:
        source_engine.close()
        raise
    try:
        source, target = side(source_engine), side(target_engine)
        plans, report = plan_copy(source, target)
        report.checkpoint = str(path)
        state = Checkpoint(path, source_url or "", target_url or "", restart=restart)
        if isinstance(target, ClickHouseSide):
            target.version = int(state.state["version"])
        for plan in plans:
            plan.rows = source.count(plan.source)
        with _progress(progress) as bar:
            tasks = {p.name: bar.add_task(p.name, total=p.rows) for p in plans}
            for plan in plans:
                entry = state.table(plan)
                task = tasks[plan.name]
                if entry["done"]:
                    report.already_done.append(plan.name)
                    bar.update(task, completed=plan.rows)
                    continue
                if entry["after"] is not None:
                    report.resumed.append(plan.name)
                bar.update(task, completed=min(entry["rows"], plan.rows))
                _copy_table(source, target, plan, entry, state, batch_rows, report, bar, task, after_batch)
        return report
    finally:
        source_engine.close()
        target_engine.close()


def _copy_table(
    source: DuckDBSide | ClickHouseSide,
    target: DuckDBSide | ClickHouseSide,
    plan: TablePlan,
    entry: dict[str, Any],
    state: Checkpoint,
    batch_rows: int,
    report: CopyReport,
    bar: Any,
    task: Any,
    after_batch: Callable[[str, int], None] | None,
) -> None:
    # A key may already be in the target where the target table had rows before the copy, and in the chunk
    # after a resume (written before the interruption?). Elsewhere keys only grow: no check needed.
    if "target_had_rows" not in entry:
        entry["target_had_rows"] = target.count(plan.target) > 0
        state.save(plan.name, entry)
    had_rows = bool(entry["target_had_rows"])
    first = True
    copied = 0
    copy_columns = [c for c in plan.columns if c in plan.target.columns]
    for batch in source.read(plan.source, plan.columns, plan.order, entry["after"], batch_rows):
        if plan.row_ids:
            batch = _with_row_ids(batch, [c for c in plan.columns if c in plan.target.columns], plan.row_ids)
        write_columns = [*copy_columns, *plan.row_ids]
        target.write(plan.target, batch, write_columns, replace=had_rows or (first and entry["after"] is not None))
        first = False
        copied += batch.num_rows
        entry["after"] = [_plain(batch.column(c)[batch.num_rows - 1].as_py()) for c in plan.order]
        entry["rows"] += batch.num_rows
        state.save(plan.name, entry)
        bar.update(task, completed=min(entry["rows"], plan.rows) if plan.rows else entry["rows"])
        if after_batch is not None:
            after_batch(plan.name, entry["rows"])
    if plan.source.raw and isinstance(target, DuckDBSide) and isinstance(source, ClickHouseSide):
        # ClickHouse keeps the newest version per sorting key, so a row written again under another one (a
        # span whose start moved to another minute) is there twice; DuckDB keeps the last write per key.
        keys = target.duplicate_keys(plan.target)
        if keys:
            rows = source.newest_rows(plan.source, plan.columns, plan.target.key, keys)
            target.write(plan.target, rows, copy_columns, True)
    entry["done"] = True
    state.save(plan.name, entry)
    bar.update(task, completed=plan.rows)
    report.copied[plan.name] = copied


def _plain(value: Any) -> Any:
    """A key value as the checkpoint (JSON) keeps it; a date goes as its text, which the query casts back."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)


def _with_row_ids(batch: pa.Table, columns: Sequence[str], names: Sequence[str]) -> pa.Table:
    """``batch`` with columns ``names`` holding a hash of each row's ``columns``: a stable key for a target
    key column the source has no counterpart of (the same row gets the same id on every run)."""
    values = zip(*(batch.column(c).to_pylist() for c in columns), strict=True)
    ids = [hashlib.blake2b(json.dumps(row, default=str).encode(), digest_size=16).hexdigest() for row in values]
    for name in names:
        batch = batch.append_column(name, pa.array(ids, type=pa.string()))
    return batch


class _NoProgress:
    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def add_task(self, *args: Any, **kwargs: Any) -> int:
        return 0

    def update(self, *args: Any, **kwargs: Any) -> None:
        pass


def _progress(enabled: bool) -> Any:
    if not enabled:
        return _NoProgress()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
