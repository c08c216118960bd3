"""A ClickHouse cluster: the schema as sharded, replicated tables, and where a clustered store's DDL goes.

``spanscope cluster-ddl --cluster NAME`` prints the statements that lay out a store on a cluster
(:func:`cluster_ddl`), taken from a store with every migration applied, so it is the current schema whatever
migrations have run:

- **Trace tables** (:data:`SHARDED`: spans, traces, trace keys, trace info, findings, events, SDK reports) become
  ``<name>_local`` (``spans_data`` -> ``spans_local``) with the ``Replicated…`` form of their engine (path
  ``/clickhouse/tables/{shard}/<database>/<local name>``, replica ``{replica}``: the nodes' macros) and a
  ``Distributed`` table under the store's name in front, sharded by ``cityHash64(trace_id)``: every version of a
  span, every span of a trace, its summary, findings and events land on one shard, so dedupe by key (``FINAL``,
  merges) and the trace-level subqueries stay on the shard.
- **The other tables** (datasets, evaluations, retention records, ``schema_migrations``) are small and read whole:
  ``Replicated…`` with a path without ``{shard}``, so every node holds all of their rows; no ``Distributed``.
- **Materialized views** run where the rows are inserted, so they go on the local tables (``trace_keys_mv``:
  ``traces_local`` -> ``trace_keys_local``), each shard filling its own.
- **Views** are made as on one node, over the ``Distributed`` tables (``spans`` reads ``spans_data FINAL``: each
  shard applies ``FINAL`` to its own rows).
- Every migration is recorded as applied, so ``spanscope serve`` finds the schema current and changes nothing.

Statements carry ``ON CLUSTER`` (run once, on any node; needs the cluster's distributed DDL queue) unless
``per_node``, where the same statements run on each node in turn. ``replicated=False`` gives plain engines (shards
without replicas).

A store whose trace tables are ``Distributed`` changes its own tables at run time through :func:`storage_of`:
retention sets TTL on ``<name>_local ON CLUSTER`` and ``spanscope compact`` merges ``<name>_local ON CLUSTER``
(plain statements when the cluster is this one node).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from spanscope.store.clickhouse.schema import MIGRATIONS

# Trace tables and their sharding keys: all rows of one trace on one shard.
SHARDED: Final[dict[str, str]] = {
    "spans_data": "cityHash64(trace_id)",
    "traces_data": "cityHash64(trace_id)",
    "trace_keys_data": "cityHash64(trace_id)",
    "trace_info_data": "cityHash64(trace_id)",
    "findings_data": "cityHash64(trace_id)",
    "findings_supersedes": "cityHash64(trace_id)",
    "events_data": "cityHash64(trace_id)",
    "sdk_reports_data": "cityHash64(report_id)",
}

_ENGINE = re.compile(r"^(\w*MergeTree)(?:\(([^)]*)\))?")
_DISTRIBUTED = re.compile(r"^Distributed\(\s*'?([^',\s]+)'?\s*,\s*'?([^',\s]+)'?\s*,\s*'?([^',\s]+)'?")


def local_name(table: str) -> str:
    """The shard-local table behind a sharded one: ``spans_data`` -> ``spans_local``."""
    return table.removesuffix("_data") + "_local"


def _quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def cluster_ddl(
    schema: Any,
    cluster: str,
    database: str = "spanscope",
    *,
    replicated: bool = True,
    per_node: bool = False,
) -> list[str]:
    """The statements that lay out a store in ``database`` on ``cluster`` (see the module's docstring).

    ``schema`` is an executor on a database with every migration applied (a scratch chDB store), whose tables
    are read from ``system.tables``; its name in their definitions becomes ``database``.
    """
    source = schema.database
    rows = schema.rows(
        "SELECT name, engine, engine_full, create_table_query FROM system.tables "
        "WHERE database = currentDatabase() ORDER BY name"
    )
    on = "" if per_node else f" ON CLUSTER {_quoted(cluster)}"
    db = _quoted(database)

    def renamed(sql: str, *, local: bool = False) -> str:
        """``sql`` with the scratch database's name as ``database``; with ``local``, the sharded tables as their
        local tables (a materialized view reads and writes on its own shard)."""

        def name(m: re.Match[str]) -> str:
            table = m.group(1).strip("`")
            if local and table in SHARDED:
                table = local_name(table)
            return f"{db}.{_quoted(table)}"

        return re.sub(rf"(?:`{re.escape(source)}`|\b{re.escape(source)})\.(`[^`]+`|\w+)", name, sql)

    def create_as(sql: str, kind: str, name: str) -> str:
        """``CREATE <kind> <db>.<name> …`` becomes ``CREATE <kind> IF NOT EXISTS <db>.<name> ON CLUSTER …``."""
        head = re.match(rf"CREATE {kind} \S+", sql)
        assert head is not None, sql[:80]
        return f"CREATE {kind} IF NOT EXISTS {db}.{_quoted(name)}{on}{sql[head.end() :]}"

    tables, distributed, mviews, views = [], [], [], {}
    for name, engine, engine_full, create in rows:
        if engine == "MaterializedView":
            mviews.append(create_as(renamed(create, local=True), "MATERIALIZED VIEW", name))
        elif engine == "View":
            views[name] = create_as(renamed(create), "VIEW", name)
        elif engine.endswith("MergeTree"):
            sharded = name in SHARDED
            target = local_name(name) if sharded else name
            columns = create[create.index(" (") : create.index(") ENGINE = ") + 1]
            m = _ENGINE.match(engine_full)
            assert m is not None, engine_full
            family, args = m.group(1), m.group(2)
            if replicated:
                path = f"/clickhouse/tables/{'{shard}' if sharded else 'all'}/{database}/{target}"
                args = ", ".join([f"'{path}'", "'{replica}'", *([args] if args else [])])
                family = f"Replicated{family}"
            engine_sql = f"{family}({args or ''}){engine_full[m.end() :]}"
            tables.append(f"CREATE TABLE IF NOT EXISTS {db}.{_quoted(target)}{on}{columns} ENGINE = {engine_sql}")
            if sharded:
                distributed.append(
                    f"CREATE TABLE IF NOT EXISTS {db}.{_quoted(name)}{on} AS {db}.{_quoted(target)} "
                    f"ENGINE = Distributed({_quoted(cluster)}, {db}, {_quoted(target)}, {SHARDED[name]})"
                )
    ordered: list[str] = []
    done: set[str] = set()

    def add(name: str, seen: tuple[str, ...] = ()) -> None:  # views after the views they read
        if name in done or name in seen:
            return
        for other in views:
            if other != name and re.search(rf"{re.escape(db)}\.`{re.escape(other)}`", views[name].split(" AS ", 1)[-1]):
                add(other, (*seen, name))
        done.add(name)
        ordered.append(views[name])

    for name in views:
        add(name)
    ids = ", ".join(f"('{mid}')" for mid in MIGRATIONS)
    record = f"INSERT INTO {db}.`schema_migrations` (id) VALUES {ids}"
    create_db = f"CREATE DATABASE IF NOT EXISTS {db}{on}"
    return [create_db, *tables, *distributed, *mviews, *ordered, record]


def current_cluster_ddl(
    cluster: str, database: str = "spanscope", *, replicated: bool = True, per_node: bool = False
) -> list[str]:
    """:func:`cluster_ddl` of the current schema: every migration applied to a scratch chDB database, dropped
    after (in this process's chDB path if it has one, chDB taking one per process; else in a temporary one,
    released after)."""
    import shutil
    import tempfile
    import uuid

    from spanscope.store.clickhouse import ClickHouseStore, executor

    scratch_dir = None if executor._chdb_path else tempfile.mkdtemp(prefix="spanscope-schema-")
    scratch = executor.ChDBExecutor(scratch_dir or str(executor._chdb_path), f"spanscope_schema_{uuid.uuid4().hex[:8]}")
    try:
        ClickHouseStore(scratch)
        return cluster_ddl(scratch, cluster, database, replicated=replicated, per_node=per_node)
    finally:
        scratch.command(f"DROP DATABASE IF EXISTS `{scratch.database}`")
        if scratch_dir is not None:
            executor.release_chdb_session()
            shutil.rmtree(scratch_dir, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Storage:
    """Where a table's rows are: the table itself, or the local table of a ``Distributed`` one, with the
    ``ON CLUSTER`` clause that reaches every shard (empty when the cluster is this one node)."""

    table: str
    on_cluster: str = ""


def storage_of(ex: Any, table: str) -> Storage:
    """The table that holds ``table``'s rows: itself unless it is ``Distributed``, then its local table."""
    rows = ex.rows(
        "SELECT engine, engine_full FROM system.tables WHERE database = currentDatabase() AND name = ?", [table]
    )
    if not rows or rows[0][0] != "Distributed":
        return Storage(table)
    m = _DISTRIBUTED.match(rows[0][1])
    if m is None:
        return Storage(table)
    cluster, _, local = m.groups()
    hosts = ex.rows("SELECT count() FROM system.clusters WHERE cluster = ?", [cluster])
    on = f" ON CLUSTER {_quoted(cluster)}" if hosts and hosts[0][0] > 1 else ""
    return Storage(local, on)
