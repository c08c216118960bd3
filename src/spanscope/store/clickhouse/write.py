"""Writes to the ClickHouse store: one INSERT per table per group of requests (see ``store.durable``).

ClickHouse has no multi-statement transactions; what keeps a group consistent instead:

- every row carries ``_version`` (the group's ingest time, ns) and every table is a ``ReplacingMergeTree``,
  so writing a group again (a replayed ingest log after a crash, a retry, two replicas) adds no rows that
  reads can see: the views keep one version per key;
- the per-trace summary (``traces``) is written explicitly after the spans, recomputed from every stored
  span of each touched trace merged with the group's spans, so pieces arriving in any order stay right;
- ``trace_info`` merges key by key: the newest stored row is read, updated and written as a new version;
- an SDK's drop report (``sdk_stats``) is keyed by the id the ingest log stamped on it, else a hash of the batch
  it came with (``store/reports.py``), so a replayed or retried batch does not count its drops twice.

Each INSERT is one part; the ingest log in front batches requests (20k rows by default), which is what
ClickHouse wants (few large inserts). A remote server acknowledges an insert once it has it
(``wait_for_async_insert=1``).
"""

from __future__ import annotations

import os
import time
from typing import Any

import msgspec

from spanscope.ingest.native import IngestBatch
from spanscope.store.clickhouse.executor import Executor
from spanscope.store.clickhouse.schema import QUALITY_TABLES, TABLES, hot_values
from spanscope.store.reports import report_rows

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, msgspec.Raw):
        return None if not len(value) or bytes(value) == b"null" else bytes(value).decode()
    return _encode(value).decode()


def _columns(table: str) -> tuple[str, ...]:
    key, rest = TABLES[table] if table in TABLES else QUALITY_TABLES[table]
    return (*key, *rest, "_version")


def _chunks(items: list[Any], size: int = 2000) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class WriteMixin:
    """The write half of :class:`ClickHouseStore`."""

    _ex: Executor
    read_only: bool

    def write(self, project: str, batch: IngestBatch) -> None:
        """Write one batch now (tools and tests; the server goes through ``write_many``)."""
        if self.read_only:
            raise RuntimeError("store is open read-only")
        if batch.accepted_total:
            self.write_many([(project, batch)])

    def write_many(self, jobs: list[tuple[str, IngestBatch]]) -> None:
        version = time.time_ns()
        spans: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        touched: set[tuple[str, str]] = set()
        infos: dict[tuple[str, str], list[Any]] = {}
        findings: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        events: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        reports: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for project, batch in jobs:
            for s in batch.spans:
                spans[(project, s.trace_id, s.span_id)] = (
                    project, s.trace_id, s.span_id, s.parent_span_id, s.name, s.kind, s.start_time_ns,
                    s.end_time_ns, (s.end_time_ns - s.start_time_ns) / 1e6, s.status, s.status_message,
                    _encode(s.attributes).decode(), _json_or_none(s.inputs) or "", _json_or_none(s.outputs) or "",
                    _encode(s.events).decode() if s.events else None, *hot_values(s.attributes), version,
                )  # fmt: skip
                touched.add((project, s.trace_id))
            for info in batch.traces:
                infos.setdefault((project, info.trace_id), []).append(info)
                touched.add((project, info.trace_id))
            for f in batch.findings:
                fid = f.finding_id or os.urandom(16).hex()
                findings[(project, f.trace_id, fid)] = (
                    project, f.trace_id, fid, f.span_id, f.name, _encode(f.value).decode(), f.source,
                    f.rationale, f.time_ns, _json_or_none(f.metadata or None), version,
                )  # fmt: skip
            for e in batch.events:
                key = (project, e.trace_id, e.span_id, e.time_ns, e.name)
                events[key] = (*key, _encode(e.attributes).decode(), version)
            for r in report_rows(project, batch, version):  # (project, report_id, reason, time_ns, sdk, version, n)
                reports[r[:3]] = (*r, version)
        ex = self._ex
        if spans:
            ex.insert("spans_data", _columns("spans"), list(spans.values()))
        info_rows = self._merge_trace_info(infos, version) if infos else {}
        if findings:
            ex.insert("findings_data", _columns("findings"), list(findings.values()))
        if events:
            ex.insert("events_data", _columns("events"), list(events.values()))
        if reports:
            ex.insert("sdk_reports_data", _columns("sdk_reports"), list(reports.values()))
        if touched:
            self._write_summaries(sorted(touched), info_rows, version, spans)

    def _stored(
        self, table: str, select: str, keys: list[tuple[str, str]], since_ns: int | None = None
    ) -> list[tuple[Any, ...]]:
        """The newest rows of ``{table}_data`` for the given ``(project, trace_id)`` keys (``since_ns``: only rows
        starting then or later, for ``spans``), as its view reads them (the columns asked for are the same), with
        the conditions (on sorting-key columns, which a key's versions share) as ``PREWHERE``."""
        out: list[tuple[Any, ...]] = []
        by_project: dict[str, list[str]] = {}
        for project, trace_id in keys:
            by_project.setdefault(project, []).append(trace_id)
        bound = "" if since_ns is None else " AND start_time_ns >= ?"
        for project, ids in by_project.items():
            for chunk in _chunks(ids):
                params: list[Any] = [project, chunk] if since_ns is None else [project, chunk, since_ns]
                out += self._ex.rows(
                    f"SELECT {select} FROM {table}_data FINAL PREWHERE project = ? AND has(?, trace_id){bound}", params
                )
        return out

    def _write_summaries(
        self,
        keys: list[tuple[str, str]],
        info_rows: dict[tuple[str, str], tuple[Any, ...]],
        version: int,
        group: dict[tuple[str, str, str], tuple[Any, ...]],
    ) -> None:
        """Write the ``traces`` row of every touched trace from all its stored spans (the group's are in).

        A trace with no ``traces`` row yet (the common case: an SDK sends a trace's spans within moments) has no
        spans but the group's, so it is summarised from them alone; only traces seen before re-read their stored
        spans, from the earliest start they can have (the stored trace's or the group's), so the read skips by
        the sorting key's start minute instead of looking through every span of the project.
        """
        columns = "project, trace_id, span_id, parent_span_id, name, start_time_ns, end_time_ns, status"
        by_trace: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
        for row in group.values():  # the same columns as the stored read below
            by_trace.setdefault((row[0], row[1]), []).append((*row[:5], row[6], row[7], row[9]))
        # The current start of every touched trace stored before (None: stored without spans).
        known = {(r[0], r[1]): r[2] for r in self._stored("trace_keys", "project, trace_id, start_time_ns", keys)}
        if known:
            bound = min(v for v in known.values() if v is not None) if any(v is not None for v in known.values()) else 0
            for key in known:
                for row in by_trace.get(key, ()):
                    bound = min(bound, row[5])
            for key in known:
                by_trace.pop(key, None)  # replaced by every stored span of the trace, the group's included
            for row in self._stored("spans", columns, list(known), since_ns=bound):
                by_trace.setdefault((row[0], row[1]), []).append(row)
        missing = [k for k in keys if k not in info_rows]
        if missing:
            for row in self._stored("trace_info", "project, trace_id, tags, metadata, session_id, user_id", missing):
                info_rows[(row[0], row[1])] = row[2:]
        out = []
        for key in keys:
            info = info_rows.get(key, (None, None, None, None))
            rows = by_trace.get(key)
            if not rows:
                row: tuple[Any, ...] = (*key, None, None, None, None, None, "UNSET", 0, *info, version, 0)
            else:
                root = min(rows, key=lambda r: (r[3] is not None, r[5], r[2]))
                start = min(r[5] for r in rows)
                end = max(r[6] for r in rows)
                row = (*key, root[2], root[4], start, end, (end - start) / 1e6, root[7], len(rows), *info, version, 0)
            out.append(row)
            if key in known and known[key] != row[4]:
                # ``traces_data`` is sorted by start (schema 0600): retire the row under the old start.
                out.append((*key, None, None, known[key], None, None, "UNSET", 0, None, None, None, None, version, 1))
        self._ex.insert("traces_data", (*_columns("traces"), "is_deleted"), out)

    def _merge_trace_info(
        self, infos: dict[tuple[str, str], list[Any]], version: int
    ) -> dict[tuple[str, str], tuple[Any, ...]]:
        existing = {
            (r[0], r[1]): r[2:]
            for r in self._stored("trace_info", "project, trace_id, tags, metadata, session_id, user_id", list(infos))
        }
        rows = []
        for key, items in infos.items():
            old = existing.get(key)
            tags: dict[str, Any] = (_decode(old[0]) if old and old[0] else None) or {}
            metadata: dict[str, Any] = (_decode(old[1]) if old and old[1] else None) or {}
            session_id = old[2] if old else None
            user_id = old[3] if old else None
            for info in items:
                tags.update(info.tags)
                metadata.update(info.metadata)
                session_id = info.session_id or session_id
                user_id = info.user_id or user_id
            rows.append((*key, _encode(tags).decode(), _encode(metadata).decode(), session_id, user_id, version))
        self._ex.insert("trace_info_data", _columns("trace_info"), rows)
        return {(r[0], r[1]): r[2:6] for r in rows}
