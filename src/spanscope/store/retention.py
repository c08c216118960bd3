"""Retention: trace data older than N days goes away, per project (``--retention-days``, ``SPANSCOPE_RETENTION_DAYS``).

A policy is a default and per-project overrides, written ``30`` or ``30,audit=365,scratch=7``; ``0`` keeps
forever, and overrides alone (``scratch=7``) keep every other project forever. Each row expires by its own
time, on both engines:

=================================  ===========================================================================
``spans``, ``traces``              ``start_time_ns`` (ClickHouse: a trace without spans, by its ingest time)
``findings``, ``events``,          ``time_ns``
``sdk_reports``
``trace_info``                     DuckDB: with its ``traces`` row; ClickHouse: its ingest time (``_version``)
=================================  ===========================================================================

Datasets and evaluation runs are curated, not telemetry: they never expire.

- **ClickHouse** expires rows itself: one TTL rule per override (``… DELETE WHERE project = 'audit'``) and one
  for the default (``… WHERE project NOT IN (<overrides>)``) on each ``*_data`` table. ``MODIFY TTL``
  rewrites parts, so the rules are changed at start-up only when the policy differs from the one recorded in
  ``spanscope_retention`` for that table, or the table is not the one recorded (a migration that rebuilds a
  table gives it a new UUID, and no TTL) (:func:`apply_clickhouse_ttl`).
- **DuckDB** has no TTL: :class:`RetentionService` deletes expired rows every ``retention_interval`` seconds,
  between two applies of the ingest log's applier (``DurableStore.run_exclusive``), so the store keeps one
  writer (:func:`delete_expired`).

Errors: :class:`RetentionError` (a ``ValueError``) for a policy that does not parse.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

log = logging.getLogger("spanscope.retention")

NS_PER_DAY: Final = 86_400 * 1_000_000_000


class RetentionError(ValueError):
    """A retention policy that does not parse; the message names the item and what was expected."""


@dataclass(frozen=True, slots=True)
class Rule:
    """Rows older than ``days`` expire: of ``project``, or (``project`` None) of every project not in ``exclude``."""

    days: int
    project: str | None = None
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """``default`` days for every project (None or 0: forever) and per-project overrides (0: forever)."""

    default: int | None = None
    projects: dict[str, int] = field(default_factory=dict)

    def days_for(self, project: str) -> int | None:
        days = self.projects.get(project, self.default)
        return days or None

    def rules(self) -> list[Rule]:
        out = [Rule(days, project) for project, days in sorted(self.projects.items()) if days > 0]
        if self.default:
            out.append(Rule(self.default, None, tuple(sorted(self.projects))))
        return out

    def __bool__(self) -> bool:
        return bool(self.rules())

    def spec(self) -> str:
        """The policy as it is written (``30,audit=365``); ``""`` when nothing expires."""
        items = [str(self.default)] if self.default is not None else []
        items += [f"{p}={d}" for p, d in sorted(self.projects.items())]
        return ",".join(items)


def parse_policy(spec: str | Iterable[str] | None) -> RetentionPolicy:
    """A policy from ``"30,audit=365"`` or from repeated CLI values (``["30", "audit=365"]``); later items win.

    >>> parse_policy("30,scratch=7").days_for("scratch")
    7
    """
    if spec is None:
        return RetentionPolicy()
    parts = [spec] if isinstance(spec, str) else list(spec)
    default: int | None = None
    projects: dict[str, int] = {}
    for part in parts:
        for raw in str(part).split(","):
            item = raw.strip()
            if not item:
                continue
            project, sep, days_text = item.rpartition("=")
            days = _days(days_text.strip(), item)
            if not sep:
                default = days
            elif not project.strip():
                raise RetentionError(f"retention item {item!r}: expected PROJECT=DAYS with a project name")
            else:
                projects[project.strip()] = days
    return RetentionPolicy(default, projects)


def _days(text: str, item: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise RetentionError(
            f"retention item {item!r}: expected a whole number of days >= 0 (DAYS for every project, "
            "PROJECT=DAYS for one; 0 keeps forever)"
        )
    return days


# ---------------------------------------------------------------------------- DuckDB: a periodic delete
# table -> its time column (ns). trace_info goes with its traces row (it has no time of its own).
DUCKDB_TIME: Final = {
    "spans": "start_time_ns",
    "traces": "start_time_ns",
    "findings": "time_ns",
    "events": "time_ns",
    "sdk_reports": "time_ns",
}


def _duckdb_where(rule: Rule) -> tuple[str, list[Any]]:
    if rule.project is not None:
        return "project = ?", [rule.project]
    if rule.exclude:
        return "NOT list_contains(?, project)", [list(rule.exclude)]
    return "TRUE", []


def delete_expired(engine: Any, policy: RetentionPolicy, now_ns: int | None = None) -> dict[str, int]:
    """Delete what ``policy`` expires from a :class:`DuckDBStore`, in one transaction; rows deleted per table.

    Call it from the store's one writer (``DurableStore.run_exclusive``) when a server holds the store.
    """
    now_ns = time.time_ns() if now_ns is None else now_ns
    deleted: dict[str, int] = {}
    if not policy:
        return deleted
    con = engine._con.cursor()
    try:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main'"
            ).fetchall()
        }
        con.execute("BEGIN")
        for rule in policy.rules():
            cutoff = now_ns - rule.days * NS_PER_DAY
            where, params = _duckdb_where(rule)
            if {"trace_info", "traces"} <= tables:  # before its traces row goes
                row = con.execute(
                    f"DELETE FROM trace_info i WHERE {where} AND EXISTS (SELECT 1 FROM traces t "
                    "WHERE t.project = i.project AND t.trace_id = i.trace_id AND t.start_time_ns < ?)",
                    [*params, cutoff],
                ).fetchone()
                deleted["trace_info"] = deleted.get("trace_info", 0) + (row[0] if row else 0)
            for table, column in DUCKDB_TIME.items():
                if table in tables:
                    row = con.execute(
                        f"DELETE FROM {table} WHERE {where} AND {column} < ?", [*params, cutoff]
                    ).fetchone()
                    deleted[table] = deleted.get(table, 0) + (row[0] if row else 0)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.close()
    return deleted


# ---------------------------------------------------------------------------- ClickHouse: TTL rules
# table -> (its time in ns as SQL, the columns that needs). A table that is absent, or lacks them, is skipped.
CLICKHOUSE_TIME: Final = {
    "spans": ("start_time_ns", ("start_time_ns",)),
    "traces": ("coalesce(start_time_ns, toInt64(_version))", ("start_time_ns", "_version")),
    "trace_info": ("toInt64(_version)", ("_version",)),
    "findings": ("time_ns", ("time_ns",)),
    "events": ("time_ns", ("time_ns",)),
    "sdk_reports": ("time_ns", ("time_ns",)),
}

RECORD_TABLE: Final = "spanscope_retention"


def sql_string(value: str) -> str:
    """A ClickHouse string literal. TTL rules are DDL, which takes no query parameters, so project names are
    quoted here: backslash and quote escaped, nothing else can end the literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ttl_clause(time_ns_sql: str, policy: RetentionPolicy) -> str:
    """The TTL rules of one table (``""``: none), e.g.
    ``toDateTime(intDiv(time_ns, 1000000000)) + INTERVAL 30 DAY DELETE WHERE project NOT IN ('audit')``."""
    at = f"toDateTime(intDiv({time_ns_sql}, 1000000000))"
    out = []
    for rule in policy.rules():
        if rule.project is not None:
            where = f" WHERE project = {sql_string(rule.project)}"
        elif rule.exclude:
            where = f" WHERE project NOT IN ({', '.join(sql_string(p) for p in rule.exclude)})"
        else:
            where = ""
        out.append(f"{at} + INTERVAL {int(rule.days)} DAY DELETE{where}")
    return ", ".join(out)


def apply_clickhouse_ttl(engine: Any, policy: RetentionPolicy) -> list[str]:
    """Set ``policy``'s TTL rules on the tables of a :class:`ClickHouseStore` whose recorded rules differ (an
    empty policy removes them); returns the tables changed. Safe to run from several replicas at once."""
    from spanscope.store.clickhouse.cluster import storage_of

    ex = engine._ex
    if not policy and not ex.rows(f"EXISTS TABLE {RECORD_TABLE}")[0][0]:
        return []  # no retention now, and never any: nothing to set or remove (and no table to create)
    ex.command(
        f"CREATE TABLE IF NOT EXISTS {RECORD_TABLE} (table_name String, ttl String, _version UInt64) "
        "ENGINE = ReplacingMergeTree(_version) ORDER BY table_name"
    )
    # ``ttl`` is recorded as ``<table uuid> <rules>``: a rebuilt table (new UUID) has lost its rules.
    recorded = dict(ex.rows(f"SELECT table_name, argMax(ttl, _version) FROM {RECORD_TABLE} GROUP BY table_name"))
    uuids = dict(ex.rows("SELECT name, toString(uuid) FROM system.tables WHERE database = currentDatabase()"))
    columns: dict[str, set[str]] = {}
    for table, column in ex.rows(
        "SELECT c.table, c.name FROM system.columns c JOIN system.tables t ON t.database = c.database "
        "AND t.name = c.table WHERE c.database = currentDatabase() AND t.engine LIKE '%MergeTree'"
    ):
        columns.setdefault(table, set()).add(column)
    changed = []
    for table, (time_sql, needs) in CLICKHOUSE_TIME.items():
        name = f"{table}_data" if f"{table}_data" in uuids else table
        # On a cluster (``spanscope cluster-ddl``) the rows are in the local tables behind ``Distributed`` ones.
        where = storage_of(ex, name)
        storage = where.table
        if storage not in columns or not set(needs) <= columns[storage] or "project" not in columns[storage]:
            continue
        want = ttl_clause(time_sql, policy)
        uuid, _, have = recorded.get(storage, "").partition(" ")
        # The table's UUID tells a table rebuilt by a migration (its rules lost) from the one that got them; on a
        # cluster each node's local table has its own UUID and migrations do not run, so the rules alone decide
        # (else every node's restart would set them again, and ClickHouse rewrite the TTL of every part).
        clustered = storage != name
        if have == want and (uuid == uuids.get(storage) or not want or clustered):
            continue
        if want:
            ex.command(f"ALTER TABLE `{storage}`{where.on_cluster} MODIFY TTL {want}")
        elif uuid == uuids.get(storage):  # rules set on this very table: remove them
            ex.command(f"ALTER TABLE `{storage}`{where.on_cluster} REMOVE TTL")
        record = f"{uuids.get(storage, '')} {want}"
        ex.insert(RECORD_TABLE, ("table_name", "ttl", "_version"), [(storage, record, time.time_ns())])
        changed.append(storage)
    return changed


# ---------------------------------------------------------------------------- in the server
def engine_kind(store: Any) -> str:
    """``"duckdb"`` or ``"clickhouse"`` for a store or the engine behind a ``DurableStore``."""
    engine = getattr(store, "engine", store)
    from spanscope.store.duckdb import DuckDBStore

    if isinstance(engine, DuckDBStore):
        return "duckdb"
    return "clickhouse" if hasattr(engine, "_ex") else type(engine).__name__


class RetentionService:
    """Applies a policy to the server's store: ClickHouse TTL rules at :meth:`start`; on DuckDB, a delete at
    start-up and every ``interval`` seconds (0: at start-up only) in a daemon thread."""

    def __init__(self, store: Any, policy: RetentionPolicy, *, interval: float = 3600.0):
        self.store = store
        self.policy = policy
        self.interval = interval
        self.kind = engine_kind(store)
        self.last_deleted: dict[str, int] = {}  # DuckDB: rows the last delete removed, per table
        self.changed: list[str] = []  # ClickHouse: tables whose TTL rules start() changed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.kind == "clickhouse":
            self.changed = apply_clickhouse_ttl(getattr(self.store, "engine", self.store), self.policy)
            if self.changed:
                log.info("retention %r set as TTL on %s", self.policy.spec() or "forever", ", ".join(self.changed))
            return
        if self.kind != "duckdb" or not self.policy or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="spanscope-retention", daemon=True)
        self._thread.start()

    def enforce(self) -> dict[str, int]:
        """Delete what has expired now (DuckDB), through the store's one writer when there is one."""
        barrier = getattr(self.store, "barrier", None)
        if barrier is not None:
            barrier()  # what was acknowledged before now is in the database, so old rows replayed go too
        run = getattr(self.store, "run_exclusive", None)
        deleted = run(lambda e: delete_expired(e, self.policy)) if run else delete_expired(self.store, self.policy)
        self.last_deleted = deleted
        if any(deleted.values()):
            log.info("retention deleted %s", ", ".join(f"{n} {t}" for t, n in deleted.items() if n))
        return deleted

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.enforce()
            except Exception:  # noqa: BLE001 - logged; the next round tries again
                log.exception("retention delete failed")
            if self.interval <= 0 or self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
