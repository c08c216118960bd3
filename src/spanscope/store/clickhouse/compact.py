"""Closed days of ``spans_data`` and ``traces_data`` merged into one part each, so reading them with ``FINAL``
merges nothing; the tables keyed by trace id merged whole once writes have paused.

``spans_data`` and ``traces_data`` are partitioned by day. Until the parts of a day are merged into one, every
``FINAL`` read of that day (the ``spans`` and ``traces`` views, ``get_trace``) merges the parts' overlapping key
ranges at read time: at 10M spans over 7 days (6-10 parts a day) latency percentiles over every span took 385 ms,
and 205 ms once each closed day was one part; ``get_trace`` 29 -> 23 ms (in-process, chDB; docs/scale-out.md).
ClickHouse merges parts on its own, but not all the way down to one per day.

Two ways get a day there:

- **In the background**, by ClickHouse itself: migrations ``0700_merge_closed_days`` and ``0800_traces_by_day`` set
  ``min_age_to_force_merge_seconds`` (:data:`MERGE_CLOSED_AFTER_S`) with ``min_age_to_force_merge_on_partition_only``
  on both tables: once every part of a day is that old (the day has closed, or ingest paused that long), the
  merge scheduler merges the whole day into one part. It runs in ClickHouse's merge pool (no query waits on it) and
  on every replica of a ``Replicated`` table. Change the age with ``ALTER TABLE spans_data MODIFY SETTING
  min_age_to_force_merge_seconds = N``.
- **Now**, with ``spanscope compact`` (:func:`merge_closed_days`): ``OPTIMIZE TABLE … PARTITION ID … FINAL``
  for each day that ended at least ``grace_s`` ago and still has several parts, oldest first: after a backfill or
  ``spanscope migrate-data``, or before measuring (~23 s per 1.4M-span day on 2 vCPUs). On chDB the command needs
  the store to itself (one process per data path: stop the server first); on a server it is an ordinary
  ``OPTIMIZE`` beside the running replicas. A ``Distributed`` table (a cluster, ``spanscope cluster-ddl``) has no
  parts of its own: its local table's parts on the node the store URL names are looked at, and merged with
  ``ON CLUSTER`` on every shard (``cluster.storage_of``).

The tables looked up by trace id (:data:`BY_ID_TABLES`: ``trace_keys``, findings, events, trace info) have no time
to partition by: a day partition would cost a point read one granule per day. Their parts are merged only by
``spanscope compact``, and only once no part is younger than ``grace_s`` (writes have paused): a whole-table
rewrite (``OPTIMIZE TABLE … FINAL``; 1.3 s for ``trace_keys`` at 1M traces), which ClickHouse's own merges are not
told to do, as they would rewrite the whole table every hour on a busy store. At 10M spans, in-process: a trace's
id lookup 5.2 -> 3.4 ms and its findings 5.4 -> 3.4 ms with each table in one part.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from spanscope.store.clickhouse.cluster import Storage, storage_of
from spanscope.store.clickhouse.schema import MERGE_CLOSED_AFTER_S

DAY_TABLES: Final = ("spans_data", "traces_data")
BY_ID_TABLES: Final = ("trace_keys_data", "findings_data", "events_data", "trace_info_data", "findings_supersedes")


@dataclass(frozen=True, slots=True)
class DayParts:
    """One day of a day-partitioned table (``table``): its partition id (``20251225``), day and active parts and
    rows. A table looked up by id comes whole: no day, partition id ``all``."""

    partition_id: str
    day: dt.date | None
    parts: int
    rows: int
    table: str = "spans_data"
    newest: dt.datetime | None = None  # the newest part's last change (UTC)
    on_cluster: str = ""  # a cluster's local table: the clause that merges it on every shard


def _merge_tree_tables(ex: Any, names: tuple[str, ...]) -> dict[str, Storage]:
    """The tables that hold the rows of ``names`` (a ``Distributed`` table's local table), by their names, in the
    order of ``names``; those that are no MergeTree left out."""
    storages = {name: storage_of(ex, name) for name in names}
    rows = ex.rows(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND has(?, name)",
        [[s.table for s in storages.values()]],
    )
    ours = {name for name, engine in rows if str(engine).endswith("MergeTree")}
    return {s.table: s for s in storages.values() if s.table in ours}


def _parts(ex: Any, storages: dict[str, Storage]) -> list[tuple[Any, ...]]:
    if not storages:
        return []
    return ex.rows(
        "SELECT table, partition_id, any(partition), count(), sum(rows), toUnixTimestamp(max(modification_time)) "
        "FROM system.parts WHERE database = currentDatabase() AND has(?, table) AND active "
        "GROUP BY table, partition_id ORDER BY partition_id, table",
        [list(storages)],
    )


def days(ex: Any, tables: tuple[str, ...] = DAY_TABLES) -> list[DayParts]:
    """Every day of the day-partitioned ``tables`` with its active parts, oldest first."""
    out = []
    storages = _merge_tree_tables(ex, tables)
    for table, partition_id, partition, parts, n, newest in _parts(ex, storages):
        try:
            day = dt.date.fromisoformat(str(partition).strip("'"))
        except ValueError:  # not a day: a table partitioned some other way is not ours to merge
            continue
        out.append(
            DayParts(str(partition_id), day, int(parts), int(n), table, _utc(newest), storages[table].on_cluster)
        )
    return out


def by_id_tables(ex: Any) -> list[DayParts]:
    """The tables looked up by trace id, each whole (their one partition ``all``) with its active parts."""
    storages = _merge_tree_tables(ex, BY_ID_TABLES)
    out = [
        DayParts(str(pid), None, int(parts), int(n), table, _utc(when), storages[table].on_cluster)
        for table, pid, _, parts, n, when in _parts(ex, storages)
    ]
    order = list(storages)
    return sorted(out, key=lambda d: order.index(d.table))


def _utc(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(seconds), tz=dt.UTC)


def closed_days(ex: Any, now_ns: int | None = None, grace_s: float = MERGE_CLOSED_AFTER_S) -> list[DayParts]:
    """What to merge: the days that ended at least ``grace_s`` ago (UTC) and still have more than one part, oldest
    first, then the tables looked up by id that have several parts, none changed in the last ``grace_s``."""
    now = dt.datetime.fromtimestamp((time.time_ns() if now_ns is None else now_ns) / 1e9, tz=dt.UTC)
    grace = dt.timedelta(seconds=grace_s)
    out = []
    for d in days(ex):
        assert d.day is not None
        end = dt.datetime.combine(d.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if d.parts > 1 and end + grace <= now:
            out.append(d)
    out.extend(t for t in by_id_tables(ex) if t.parts > 1 and t.newest is not None and t.newest + grace <= now)
    return out


def merge_closed_days(
    engine: Any,
    now_ns: int | None = None,
    grace_s: float = MERGE_CLOSED_AFTER_S,
    on_day: Callable[[DayParts, float], None] | None = None,
) -> list[DayParts]:
    """Merge each of :func:`closed_days` into one part (``OPTIMIZE … FINAL``), oldest day first, then the tables
    looked up by id; returns what was merged. ``on_day(day, seconds)`` is called after each."""
    ex = engine._ex
    merged = []
    for d in closed_days(ex, now_ns, grace_s):
        t0 = time.perf_counter()
        where = "" if d.day is None else f" PARTITION ID '{d.partition_id}'"
        ex.command(f"OPTIMIZE TABLE `{d.table}`{d.on_cluster}{where} FINAL")
        merged.append(d)
        if on_day is not None:
            on_day(d, time.perf_counter() - t0)
    return merged
