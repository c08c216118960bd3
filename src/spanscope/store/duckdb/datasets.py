"""Datasets: immutable, hashed versions of records that link to their source traces (every engine).

Tables (DuckDB migration ``0100_datasets``; ClickHouse: views of the same names, ``clickhouse/schema.py``)::

    datasets           one row per dataset (name, description, who created it and when)
    dataset_versions   one row per version: number, content hash, record count, who/when, what changed
    dataset_revisions  content-addressed record states (fields, expected, source trace/span), shared
                       by every version that holds them
    dataset_members    which revision of which record each version holds, in order, with who added the
                       record and who set its ``expected`` (and when)

Nothing in a version is ever updated: a change (records added, ``expected`` set, records removed) writes
a new version from the latest one. Version 0 is the empty dataset ``create`` makes. The code here is
engine-neutral SQL on the engine's cursor; writes go through the engine's primitives
(:class:`~spanscope.store.datasets_core.QualityEngine`): one transaction on DuckDB, on ClickHouse rows that
stay invisible until the row written last in each operation (a version's row, a dataset's row) exists.
The hashing, path resolution and sampling rules live in ``spanscope.store.datasets_core``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Final

import msgspec

from spanscope.store.datasets_core import (
    DatasetError,
    DatasetExists,
    DatasetNotFound,
    QualityEngine,
    RecordIn,
    SampleSpec,
    apply_changes,
    check_name,
    content_hash,
    parse_field_path,
    parse_mapping,
    record_from_trace,
    resolve_path,
    revision_hash,
    sample_plan,
    select,
    stratum_keys,
    version_hash,
)

_encode = msgspec.json.encode
_decode = msgspec.json.decode

MAX_TRACES: Final = 100_000
_PAGE: Final = 10_000
_CHUNK: Final = 500

# Dataset changes are read-modify-write of the latest version: one at a time per process (a DuckDB file has
# one writer process; on ClickHouse, replicas changing one dataset at the same moment: the last one wins).
_LOCK = threading.Lock()


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


class DatasetMixin(QualityEngine):
    """The dataset half of the quality methods of a store."""

    # ------------------------------------------------------------------ datasets
    def create_dataset(
        self, project: str, name: str, description: str | None = None, created_by: str | None = None
    ) -> dict[str, Any]:
        check_name(name)
        now = time.time_ns()
        with _LOCK, self._write_op() as con:
            if con.execute("SELECT 1 FROM datasets WHERE project = ? AND name = ?", [project, name]).fetchone():
                raise DatasetExists(f"dataset {name!r} already exists in project {project!r}")
            # Version 0 first: without transactions it stays invisible until the dataset's row exists.
            self._put_rows(
                con, "dataset_versions", [(project, name, 0, version_hash([]), 0, now, created_by, "created", None)]
            )
            self._put_rows(con, "datasets", [(project, name, description, now, created_by)])
        info = self.get_dataset(project, name)
        assert info is not None
        return info

    def list_datasets(self, project: str) -> list[dict[str, Any]]:
        con = self._cursor()
        try:
            rows = con.execute(
                "SELECT d.name, d.description, d.created_at_ns, d.created_by, v.version, v.content_hash, "
                "v.record_count, v.created_at_ns FROM datasets d "
                "JOIN (SELECT project, dataset, max(version) AS latest FROM dataset_versions WHERE project = ? "
                "GROUP BY project, dataset) l ON l.project = d.project AND l.dataset = d.name "
                "JOIN dataset_versions v ON v.project = l.project AND v.dataset = l.dataset AND v.version = l.latest "
                "WHERE d.project = ? ORDER BY d.name",
                [project, project],
            ).fetchall()
        finally:
            con.close()
        return [_dataset_dict(r) for r in rows]

    def get_dataset(self, project: str, name: str, version: int | None = None) -> dict[str, Any] | None:
        """The dataset with the given (default: latest) version's number, hash and size; None if absent."""
        con = self._cursor()
        try:
            row = con.execute(
                "SELECT d.name, d.description, d.created_at_ns, d.created_by, v.version, v.content_hash, "
                "v.record_count, v.created_at_ns FROM datasets d JOIN dataset_versions v "
                "ON v.project = d.project AND v.dataset = d.name WHERE d.project = ? AND d.name = ? "
                + ("AND v.version = ?" if version is not None else "ORDER BY v.version DESC LIMIT 1"),
                [project, name, version] if version is not None else [project, name],
            ).fetchone()
            if row is None:
                return None
            latest = con.execute(
                "SELECT max(version) FROM dataset_versions WHERE project = ? AND dataset = ?", [project, name]
            ).fetchone()
        finally:
            con.close()
        out = _dataset_dict(row)
        out["latest_version"] = latest[0] if latest else row[4]
        return out

    def delete_dataset(self, project: str, name: str) -> bool:
        with _LOCK, self._write_op() as con:
            found = con.execute("SELECT 1 FROM datasets WHERE project = ? AND name = ?", [project, name]).fetchone()
            if found is not None:
                self._drop_dataset_rows(con, project, name)
        return found is not None

    def dataset_versions(self, project: str, name: str) -> list[dict[str, Any]]:
        con = self._cursor()
        try:
            self._require(con, project, name)
            rows = con.execute(
                "SELECT version, content_hash, record_count, created_at_ns, created_by, message, changes "
                "FROM dataset_versions WHERE project = ? AND dataset = ? ORDER BY version",
                [project, name],
            ).fetchall()
        finally:
            con.close()
        return [
            {
                "version": r[0],
                "content_hash": r[1],
                "record_count": r[2],
                "created_at_ns": r[3],
                "created_by": r[4],
                "message": r[5],
                "changes": _loads(r[6]),
            }
            for r in rows
        ]

    def dataset_records(
        self, project: str, name: str, version: int | None = None, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The records of a version (default: the latest), in order."""
        con = self._cursor()
        try:
            v = self._version(con, project, name, version)
            return self._members(con, project, name, v, offset, limit)
        finally:
            con.close()

    def dataset_diff(self, project: str, name: str, a: int, b: int) -> dict[str, Any]:
        from spanscope.store.datasets_core import diff_members

        con = self._cursor()
        try:
            va, vb = self._version(con, project, name, a), self._version(con, project, name, b)
            out = diff_members(self._members(con, project, name, va), self._members(con, project, name, vb))
        finally:
            con.close()
        return {"dataset": name, "from_version": va, "to_version": vb, **out}

    # ------------------------------------------------------------------ changes
    def commit_dataset_version(
        self,
        project: str,
        name: str,
        *,
        add: list[RecordIn] | tuple[RecordIn, ...] = (),
        expected: list[tuple[str, Any, Any]] | tuple[tuple[str, Any, Any], ...] = (),
        remove: list[str] | tuple[str, ...] = (),
        dedupe: bool = True,
        by: str | None = None,
        message: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write a new version from the latest: ``add`` records (a known ``record_id`` updates that record),
        set ``expected`` by ``(key, key_value, expected)`` (key ``record_id``, ``source_trace_id`` or a
        field name), ``remove`` record ids. Nothing changed: no new version (``changed`` False)."""
        now = time.time_ns()
        with _LOCK, self._write_op() as con:
            latest = self._version(con, project, name, None)
            old_hash = con.execute(
                "SELECT content_hash FROM dataset_versions WHERE project = ? AND dataset = ? AND version = ?",
                [project, name, latest],
            ).fetchone()[0]
            members = self._members(con, project, name, latest)
            result = apply_changes(members, add, expected, remove, dedupe, by, now)
            new_members: list[dict[str, Any]] = result.pop("members")
            for m in new_members:
                if m.get("revision_hash") is None:
                    m["revision_hash"] = revision_hash(
                        m["record_id"], m["fields"], m["expected"], m["source_trace_id"], m["source_span_id"]
                    )
            new_hash = version_hash((m["record_id"], m["revision_hash"]) for m in new_members)
            if new_hash == old_hash:
                return {**result, "changed": False, "version": latest, "content_hash": old_hash,
                        "record_count": len(new_members)}  # fmt: skip
            version = latest + 1
            known = {m["revision_hash"] for m in members}
            self._put_rows(
                con,
                "dataset_revisions",
                [
                    (project, name, m["revision_hash"], m["record_id"], m["content_hash"], _dumps(m["fields"]),
                     _dumps(m["expected"]), m["source_trace_id"], m["source_span_id"])
                    for m in new_members
                    if m["revision_hash"] not in known
                ],
                "ignore",
            )  # fmt: skip
            self._put_rows(
                con,
                "dataset_members",
                [
                    (project, name, version, i, m["record_id"], m["revision_hash"], m["added_at_ns"], m["added_by"],
                     m["expected_at_ns"], m["expected_by"])
                    for i, m in enumerate(new_members)
                ],
            )  # fmt: skip
            summary = {k: v for k, v in result.items() if k != "unmatched"}
            # The version's row last: without transactions, it is what makes the version (and its members) visible.
            self._put_rows(
                con,
                "dataset_versions",
                [(project, name, version, new_hash, len(new_members), now, by, message,
                  _dumps({**(changes or {}), **summary}))],
            )  # fmt: skip
        return {
            **result,
            "changed": True,
            "version": version,
            "content_hash": new_hash,
            "record_count": len(new_members),
        }

    def add_dataset_records_from_traces(
        self,
        project: str,
        name: str,
        filter_string: str | None,
        mapping: dict[str, str],
        *,
        sample: SampleSpec | None = None,
        dedupe: bool = True,
        max_traces: int = 10_000,
        required: list[str] | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Records from the traces matching ``filter_string``, one per trace, fields taken by ``mapping``."""
        paths = parse_mapping(mapping)
        spec = (sample or SampleSpec()).validate()
        strat = parse_field_path(spec.stratify_by) if spec.stratify_by else None
        for f in required or ():
            if f not in paths:
                raise DatasetError(f"required field {f!r} is not in the mapping")
        max_traces = max(0, min(int(max_traces), MAX_TRACES))
        con = self._cursor()
        try:
            latest = self._version(con, project, name, None)
            existing = {m["content_hash"] for m in self._members(con, project, name, latest)} if dedupe else set()
        finally:
            con.close()
        ids = self._matching_trace_ids(project, filter_string, max_traces)
        need_spans = any(p.needs_spans for p in paths.values())
        cache: dict[str, dict[str, Any]] = {}
        strata = None
        if strat is not None:
            for i in range(0, len(ids), _CHUNK):
                cache.update(self.dataset_trace_contexts(project, ids[i : i + _CHUNK], spans=strat.needs_spans))
            strata = stratum_keys({t: resolve_path(strat, cache[t])[0] for t in ids}, spec.buckets)
            if need_spans and not strat.needs_spans:
                cache = {}
        groups, labels = sample_plan(ids, strata, spec)
        where = {tid: (g, i) for g, group in enumerate(groups) for i, tid in enumerate(group)}
        counts = {"skipped_empty": 0, "skipped_missing": 0, "duplicates": 0}
        picked: list[RecordIn] = []
        seen = set(existing)

        def context(tid: str) -> dict[str, Any]:
            if tid not in cache:
                g, i = where[tid]
                chunk = [t for t in groups[g][i : i + _CHUNK] if t not in cache]
                cache.update(self.dataset_trace_contexts(project, chunk, spans=need_spans))
            return cache[tid]

        def accept(tid: str) -> bool:
            rec = record_from_trace(paths, context(tid))
            if all(v is None for v in rec.fields.values()) and rec.expected is None:
                counts["skipped_empty"] += 1
                return False
            if any(
                rec.fields.get(f) is None and not (f == "expected" and rec.expected is not None) for f in required or ()
            ):
                counts["skipped_missing"] += 1
                return False
            h = content_hash(rec.fields)
            if dedupe and h in seen:
                counts["duplicates"] += 1
                return False
            seen.add(h)
            picked.append(rec)
            return True

        per_group = select(groups, spec.target(len(ids)), spec.allocation, accept)
        changes = {
            "op": "add_from_traces",
            "filter": filter_string,
            "mapping": mapping,
            "sample": {
                "n": spec.n,
                "fraction": spec.fraction,
                "seed": spec.seed,
                "stratify_by": spec.stratify_by,
                "buckets": spec.buckets,
                "allocation": spec.allocation,
            },
            "matched_traces": len(ids),
        }
        result = self.commit_dataset_version(
            project, name, add=picked, dedupe=dedupe, by=by, message="add_from_traces", changes=changes
        )
        result["duplicates"] = result.get("duplicates", 0) + counts["duplicates"]
        result.update(
            matched_traces=len(ids),
            skipped_empty=counts["skipped_empty"],
            skipped_missing=counts["skipped_missing"],
            seed=spec.seed,
        )
        if labels is not None:
            result["strata"] = {label: n for label, n in zip(labels, per_group, strict=True)}
        return result

    # ------------------------------------------------------------------ traces for datasets
    def _matching_trace_ids(self, project: str, filter_string: str | None, max_traces: int) -> list[str]:
        ids: list[str] = []
        token = None
        while len(ids) < max_traces:
            page = self.search_traces(  # type: ignore[attr-defined]
                project, filter_string, min(_PAGE, max_traces - len(ids)), None, token, None
            )
            ids.extend(r.trace_id for r in page.traces)
            token = page.next_page_token
            if not token:
                break
        return ids

    def dataset_trace_contexts(
        self, project: str, trace_ids: list[str], *, spans: bool = True
    ) -> dict[str, dict[str, Any]]:
        """Trace columns, current findings and (optionally) spans of ``trace_ids``, as dicts by trace id."""
        if not trace_ids:
            return {}
        in_ids = self.IN_LIST.format(column="trace_id")
        con = self._cursor()
        try:
            out: dict[str, dict[str, Any]] = {}
            for r in con.execute(
                "SELECT trace_id, root_span_id, name, status, start_time_ns, duration_ms, tags, metadata, "
                f"session_id, user_id FROM traces WHERE project = ? AND {in_ids}",
                [project, trace_ids],
            ).fetchall():
                out[r[0]] = {
                    "trace_id": r[0],
                    "root_span_id": r[1],
                    "name": r[2],
                    "status": r[3],
                    "start_time_ns": r[4],
                    "duration_ms": r[5],
                    "tags": _loads(r[6]) or {},
                    "metadata": _loads(r[7]) or {},
                    "session_id": r[8],
                    "user_id": r[9],
                    "findings": [],
                    "spans": [],
                }
            for tid in trace_ids:
                out.setdefault(tid, {"trace_id": tid, "tags": {}, "metadata": {}, "findings": [], "spans": []})
            for r in con.execute(
                "SELECT trace_id, finding_id, span_id, name, value, source, time_ns FROM findings_current "
                f"WHERE project = ? AND {in_ids}",
                [project, trace_ids],
            ).fetchall():
                out[r[0]]["findings"].append(
                    {"finding_id": r[1], "span_id": r[2], "name": r[3], "value": _loads(r[4]), "source": r[5],
                     "time_ns": r[6]}
                )  # fmt: skip
            if spans:
                for r in con.execute(
                    "SELECT trace_id, span_id, parent_span_id, name, kind, start_time_ns, end_time_ns, attributes, "
                    f"inputs, outputs FROM spans WHERE project = ? AND {in_ids} "
                    "ORDER BY start_time_ns, span_id",
                    [project, trace_ids],
                ).fetchall():
                    out[r[0]]["spans"].append(
                        {"span_id": r[1], "parent_span_id": r[2], "name": r[3], "kind": r[4], "start_time_ns": r[5],
                         "end_time_ns": r[6], "attributes": _loads(r[7]) or {}, "inputs": _loads(r[8]),
                         "outputs": _loads(r[9])}
                    )  # fmt: skip
        finally:
            con.close()
        return out

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _require(con: Any, project: str, name: str) -> None:
        if not con.execute("SELECT 1 FROM datasets WHERE project = ? AND name = ?", [project, name]).fetchone():
            raise DatasetNotFound(f"no dataset {name!r} in project {project!r}")

    def _version(self, con: Any, project: str, name: str, version: int | None) -> int:
        # count(*), not a NULL max, tells "no dataset": ClickHouse's max over no rows is 0.
        row = con.execute(
            "SELECT count(*), max(version), max(CASE WHEN version = ? THEN 1 ELSE 0 END) FROM dataset_versions "
            "WHERE project = ? AND dataset = ?",
            [version if version is not None else -1, project, name],
        ).fetchone()
        if row is None or not row[0]:
            raise DatasetNotFound(f"no dataset {name!r} in project {project!r}")
        if version is None:
            return int(row[1])
        if not row[2]:
            raise DatasetNotFound(f"dataset {name!r} has no version {version} (latest is {row[1]})")
        return int(version)

    @staticmethod
    def _members(
        con: Any, project: str, name: str, version: int, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]:
        sql = (
            "SELECT m.record_id, m.revision_hash, m.added_at_ns, m.added_by, m.expected_at_ns, m.expected_by, "
            "r.content_hash, r.fields, r.expected, r.source_trace_id, r.source_span_id "
            "FROM dataset_members m JOIN dataset_revisions r ON r.project = m.project AND r.dataset = m.dataset "
            "AND r.revision_hash = m.revision_hash WHERE m.project = ? AND m.dataset = ? AND m.version = ? "
            "ORDER BY m.position"
        )
        params: list[Any] = [project, name, version]
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [limit if limit is not None else 2**62, max(0, offset)]
        return [
            {
                "record_id": r[0],
                "revision_hash": r[1],
                "added_at_ns": r[2],
                "added_by": r[3],
                "expected_at_ns": r[4],
                "expected_by": r[5],
                "content_hash": r[6],
                "fields": _loads(r[7]) or {},
                "expected": _loads(r[8]),
                "source_trace_id": r[9],
                "source_span_id": r[10],
            }
            for r in con.execute(sql, params).fetchall()
        ]


def _dataset_dict(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "name": r[0],
        "description": r[1],
        "created_at_ns": r[2],
        "created_by": r[3],
        "version": r[4],
        "content_hash": r[5],
        "record_count": r[6],
        "version_created_at_ns": r[7],
    }
