"""Closed days of ``spans_data`` merged into one part each, so reading them with ``FINAL`` merges nothing.

``spans_data`` is partitioned by day. Until the parts of a day are merged into one, every ``FINAL`` read of that
day (the ``spans`` view, ``get_trace``'s point reads) merges the parts' overlapping key ranges at read time: at 10M
spans over 7 days (6-10 parts a day) latency percentiles over every span took 385 ms, and 205 ms once each closed
day was one part; ``get_trace`` 29 -> 23 ms (in-process, chDB; docs/scale-out.md). ClickHouse merges parts on its
own, but not all the way down to one per day.

Two ways get a day there:

- **In the background**, by ClickHouse itself: migration ``0700_merge_closed_days`` sets
  ``min_age_to_force_merge_seconds`` (:data:`MERGE_CLOSED_AFTER_S`) with ``min_age_to_force_merge_on_partition_only``
  on ``spans_data``: once every part of a day is that old (the day has closed, or ingest paused that long), the
  merge scheduler merges the whole day into one part. It runs in ClickHouse's merge pool (no query waits on it) and
  on every replica of a ``Replicated`` table. Change the age with ``ALTER TABLE spans_data MODIFY SETTING
  min_age_to_force_merge_seconds = N``.
- **Now**, with ``spanscope compact`` (:func:`merge_closed_days`): ``OPTIMIZE TABLE spans_data PARTITION ID … FINAL``
  for each day that ended at least ``grace_s`` ago and still has several parts, oldest first: after a backfill or
  ``spanscope migrate-data``, or before measuring (~23 s per 1.4M-span day on 2 vCPUs). On chDB the command needs
  the store to itself (one process per data path: stop the server first); on a server it is an ordinary
  ``OPTIMIZE`` beside the running replicas. A ``Distributed`` ``spans_data`` (a cluster) has no parts of its own:
  :func:`days` finds none there (docs/scale-out.md, "Cluster deployment").
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from spanscope.store.clickhouse.schema import MERGE_CLOSED_AFTER_S

TABLE: Final = "spans_data"


@dataclass(frozen=True, slots=True)
class DayParts:
    """One day of ``spans_data``: its partition id (``20251225``), day and active parts and rows."""

    partition_id: str
    day: dt.date
    parts: int
    rows: int


def days(ex: Any) -> list[DayParts]:
    """Every day of ``spans_data`` with its active parts, oldest first (none when the table is not a MergeTree,
    e.g. a ``Distributed`` table in front of a cluster's local tables)."""
    engine = ex.rows("SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = ?", [TABLE])
    if not engine or not str(engine[0][0]).endswith("MergeTree"):
        return []
    rows = ex.rows(
        "SELECT partition_id, any(partition), count(), sum(rows) FROM system.parts "
        "WHERE database = currentDatabase() AND table = ? AND active GROUP BY partition_id ORDER BY partition_id",
        [TABLE],
    )
    out = []
    for partition_id, partition, parts, n in rows:
        try:
            day = dt.date.fromisoformat(str(partition).strip("'"))
        except ValueError:  # not a day: a table partitioned some other way is not ours to merge
            continue
        out.append(DayParts(str(partition_id), day, int(parts), int(n)))
    return out


def closed_days(ex: Any, now_ns: int | None = None, grace_s: float = MERGE_CLOSED_AFTER_S) -> list[DayParts]:
    """The days that ended at least ``grace_s`` ago (UTC) and still have more than one part, oldest first."""
    now = dt.datetime.fromtimestamp((time.time_ns() if now_ns is None else now_ns) / 1e9, tz=dt.UTC)
    out = []
    for d in days(ex):
        end = dt.datetime.combine(d.day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        if d.parts > 1 and end + dt.timedelta(seconds=grace_s) <= now:
            out.append(d)
    return out


def merge_closed_days(
    engine: Any,
    now_ns: int | None = None,
    grace_s: float = MERGE_CLOSED_AFTER_S,
    on_day: Callable[[DayParts, float], None] | None = None,
) -> list[DayParts]:
    """Merge each closed day of ``spans_data`` that has several parts into one part (``OPTIMIZE … FINAL``), oldest
    first; returns the days merged. ``on_day(day, seconds)`` is called after each."""
    ex = engine._ex
    merged = []
    for d in closed_days(ex, now_ns, grace_s):
        t0 = time.perf_counter()
        ex.command(f"OPTIMIZE TABLE `{TABLE}` PARTITION ID '{d.partition_id}' FINAL")
        merged.append(d)
        if on_day is not None:
            on_day(d, time.perf_counter() - t0)
    return merged
