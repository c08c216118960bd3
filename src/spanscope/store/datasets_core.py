"""Engine-neutral dataset logic every engine applies the same way (standard library only).

- **Hashes.** A record's ``content_hash`` covers its fields (not ``expected``, not its source): two records
  with the same fields are duplicates. A *revision* (one state of one record) is hashed over its id,
  fields, ``expected`` and source trace/span; a *version* is hashed over its ordered ``record_id
  revision_hash`` lines, so equal content gives an equal hash whatever the engine, and any change to any
  record changes it. Who set ``expected`` and when is provenance, kept beside the content, not hashed.
- **Field paths** for ``add_from_traces`` mappings and stratification: every extract-field path
  (``span.inputs.messages[-1].content``, ```` `retriever.search`.outputs.documents ````, ``tag.user``,
  ``finding.correct``) plus ``trace.id|name|status|duration_ms|timestamp``, ``session.id``, ``user.id`` and
  ``metadata.<key>``. A span path also reports which span supplied the value (the record's source span).
- **Sampling**: random with a seed, or stratified by a field (categorical values, or numeric values cut
  into buckets) with equal or proportional allocation.
- **Changes**: the next version's records from the latest one's (``apply_changes``): records added (a
  known ``record_id`` updates that record; dedupe by content hash), ground truth set by a key (who and when
  kept), records removed.

Errors (``status_code`` is the HTTP status the server answers with)::

    ValueError
     └── DatasetError            400: a bad record, mapping, sample or key
          ├── DatasetNotFound    404: no dataset (or no such version) of that name
          └── DatasetExists      409: creating a dataset whose name is taken
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

from spanscope.query import FilterError, parse_extract_field, resolve_extract_field
from spanscope.query.extract import ExtractField, Source
from spanscope.query.paths import parse_single_key

# Keys of a flat record row that are not fields.
RESERVED: Final = ("record_id", "expected", "source_trace_id", "source_span_id")
NAME_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
RECORD_ID_MAX: Final = 128
ALLOCATIONS: Final = ("equal", "proportional")
MISSING_STRATUM: Final = "(missing)"


class DatasetError(ValueError):
    status_code = 400


class DatasetNotFound(DatasetError):
    status_code = 404


class DatasetExists(DatasetError):
    status_code = 409


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise DatasetError(
            f"invalid dataset name {name!r}: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


# ---------------------------------------------------------------------------------------------- hashes
def canonical_json(value: Any) -> str:
    """One JSON text per value: sorted keys, no spaces, no NaN (records are JSON)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"record values must be JSON (finite numbers, strings, lists, objects): {exc}") from None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def content_hash(fields: dict[str, Any]) -> str:
    """What dedupe compares: the record's fields only."""
    return _sha256(canonical_json(fields))


def revision_hash(
    record_id: str, fields: dict[str, Any], expected: Any, source_trace_id: str | None, source_span_id: str | None
) -> str:
    return _sha256(
        canonical_json(
            {
                "record_id": record_id,
                "fields": fields,
                "expected": expected,
                "source_trace_id": source_trace_id,
                "source_span_id": source_span_id,
            }
        )
    )


def version_hash(members: Iterable[tuple[str, str]]) -> str:
    """The hash of a version from its ordered ``(record_id, revision_hash)`` pairs."""
    return _sha256("".join(f"{rid} {rev}\n" for rid, rev in members))


def new_record_id() -> str:
    return os.urandom(8).hex()


@dataclass(slots=True)
class RecordIn:
    """A record as given to ``commit``: fields plus the reserved keys."""

    fields: dict[str, Any]
    expected: Any = None
    record_id: str | None = None
    source_trace_id: str | None = None
    source_span_id: str | None = None
    has_expected: bool = False  # False: keep an existing record's expected when its id is re-added


def record_from_row(row: dict[str, Any], index: int = 0) -> RecordIn:
    """A flat row (``{"input": …, "expected": …, "source_trace_id": …}``) as a record.

    ``fields`` may also be given nested (``{"fields": {...}, "expected": …}``), as the API returns records.
    """
    if not isinstance(row, dict):
        raise DatasetError(f"record {index}: expected an object, got {type(row).__name__}")
    if isinstance(row.get("fields"), dict) and not (set(row) - {"fields", *RESERVED, "content_hash"}):
        fields = dict(row["fields"])
    else:
        fields = {k: v for k, v in row.items() if k not in RESERVED}
    for key in fields:
        if not isinstance(key, str) or not key:
            raise DatasetError(f"record {index}: field names must be non-empty strings")
    rid = row.get("record_id")
    if rid is not None:
        rid = str(rid)
        if not rid or len(rid) > RECORD_ID_MAX:
            raise DatasetError(f"record {index}: record_id must be 1-{RECORD_ID_MAX} characters")
    sources = []
    for key in ("source_trace_id", "source_span_id"):
        value = row.get(key)
        if value is not None and not isinstance(value, str):
            raise DatasetError(f"record {index}: {key} must be a string")
        sources.append(value or None)
    canonical_json(fields)
    canonical_json(row.get("expected"))
    return RecordIn(
        fields=fields,
        expected=row.get("expected"),
        record_id=rid,
        source_trace_id=sources[0],
        source_span_id=sources[1],
        has_expected="expected" in row,
    )


# ---------------------------------------------------------------------------------------------- paths
_TRACE_PATHS: Final = {
    "trace.id": "trace_id",
    "trace.name": "name",
    "trace.status": "status",
    "trace.duration_ms": "duration_ms",
    "trace.timestamp": "start_time_ns",
    "session.id": "session_id",
    "user.id": "user_id",
}


@dataclass(frozen=True, slots=True)
class FieldPath:
    """A parsed mapping / stratification path."""

    text: str
    trace_key: str | None = None  # a trace-level column (trace.*, session.id, user.id)
    metadata_key: str | None = None
    extract: ExtractField | None = None

    @property
    def needs_spans(self) -> bool:
        return self.extract is not None and self.extract.needs_spans


def parse_field_path(text: str) -> FieldPath:
    """Parse a path; raises :class:`~spanscope.query.FilterError` (with its column) when malformed."""
    if not isinstance(text, str) or not text.strip():
        raise DatasetError(f"expected a field path such as 'span.inputs.messages[-1].content', got {text!r}")
    stripped = text.strip()
    lowered = stripped.lower()
    if lowered in _TRACE_PATHS:
        return FieldPath(stripped, trace_key=_TRACE_PATHS[lowered])
    if lowered.startswith("metadata."):
        try:
            return FieldPath(stripped, metadata_key=parse_single_key(stripped[len("metadata.") :]))
        except FilterError as err:
            raise err.shifted(len("metadata.")) from None
    return FieldPath(stripped, extract=parse_extract_field(stripped))


def _span_candidates(field: ExtractField, spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The order resolve_extract_field tries spans in: the named span, else the root then the others.
    ordered = sorted(spans, key=lambda s: s.get("start_time_ns") or 0)
    if field.source is Source.NAMED_SPAN:
        return [s for s in ordered if s.get("name") == field.span_name][:1]
    roots = [s for s in ordered if s.get("parent_span_id") is None][:1]
    return roots + [s for s in ordered if not roots or s is not roots[0]]


def resolve_path(path: FieldPath, ctx: dict[str, Any]) -> tuple[Any, str | None]:
    """The value ``path`` selects in a trace context, and the id of the span it came from (if a span).

    ``ctx`` holds the trace's columns (``trace_id``, ``name``…, ``tags``, ``metadata``), its ``findings``
    and its ``spans`` as dicts (what ``resolve_extract_field`` reads).
    """
    if path.trace_key is not None:
        return ctx.get(path.trace_key), None
    if path.metadata_key is not None:
        return (ctx.get("metadata") or {}).get(path.metadata_key), None
    field = path.extract
    assert field is not None
    if not field.needs_spans:
        return resolve_extract_field(field, ctx), None
    for span in _span_candidates(field, list(ctx.get("spans") or [])):
        value = resolve_extract_field(field, {"spans": [span]})
        if value is not None:
            return value, span.get("span_id")
    return None, None


def parse_mapping(mapping: dict[str, str]) -> dict[str, FieldPath]:
    if not isinstance(mapping, dict) or not mapping:
        raise DatasetError("mapping must map at least one record field to a path, e.g. {'input': 'span.inputs'}")
    out = {}
    for name, text in mapping.items():
        if not isinstance(name, str) or not name or name in ("record_id", "source_trace_id", "source_span_id"):
            raise DatasetError(f"invalid record field name {name!r} in mapping")
        try:
            out[name] = parse_field_path(text)
        except FilterError as err:
            raise type(err)(f"mapping {name!r}: {err.message}", err.column, err.hint) from None
    return out


def record_from_trace(mapping: dict[str, FieldPath], ctx: dict[str, Any]) -> RecordIn:
    """One record from one trace; its source span is the span that supplied ``input`` (else the first
    field taken from a span, else the root span)."""
    values: dict[str, Any] = {}
    span_of: dict[str, str | None] = {}
    for name, path in mapping.items():
        values[name], span_of[name] = resolve_path(path, ctx)
    source_span = span_of.get("input") or next((s for s in span_of.values() if s), None)
    if source_span is None:
        source_span = next((s.get("span_id") for s in ctx.get("spans") or [] if s.get("parent_span_id") is None), None)
    if source_span is None:
        source_span = ctx.get("root_span_id")
    expected = values.pop("expected", None)
    return RecordIn(
        fields=values,
        expected=expected,
        source_trace_id=ctx.get("trace_id"),
        source_span_id=source_span,
        has_expected="expected" in mapping,
    )


# ---------------------------------------------------------------------------------------------- sampling
@dataclass(frozen=True, slots=True)
class SampleSpec:
    """How to pick records from matching traces. ``n``/``fraction`` None: all of them."""

    n: int | None = None
    fraction: float | None = None
    seed: int | None = None
    stratify_by: str | None = None
    buckets: int | list[float] | None = None
    allocation: str = "equal"

    def target(self, available: int) -> int | None:
        if self.n is not None:
            return self.n
        if self.fraction is not None:
            return max(1, round(self.fraction * available)) if available else 0
        return None

    def validate(self) -> SampleSpec:
        if self.n is not None and (isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 0):
            raise DatasetError(f"sample n must be a non-negative integer, got {self.n!r}")
        if self.fraction is not None and not (0 < self.fraction <= 1):
            raise DatasetError(f"sample fraction must be in (0, 1], got {self.fraction!r}")
        if self.allocation not in ALLOCATIONS:
            raise DatasetError(f"allocation must be one of {', '.join(ALLOCATIONS)}, got {self.allocation!r}")
        b = self.buckets
        if isinstance(b, bool) or (isinstance(b, int) and not 1 <= b <= 100):
            raise DatasetError("buckets must be a count from 1 to 100 or a list of bucket edges")
        if isinstance(b, list):
            if not b or not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in b):
                raise DatasetError("bucket edges must be finite numbers")
            if sorted(b) != b:
                raise DatasetError("bucket edges must be in increasing order")
        if b is not None and self.stratify_by is None:
            raise DatasetError("buckets need stratify_by (the numeric field to cut into buckets)")
        return self


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _fmt(x: float) -> str:
    return f"{x:g}"


def stratum_keys(values: dict[str, Any], buckets: int | list[float] | None) -> dict[str, str]:
    """The stratum label of each candidate: the value itself (as text), or its bucket ``[lo, hi)``."""
    if buckets is None:
        return {
            k: MISSING_STRATUM if v is None else (v if isinstance(v, str) else canonical_json(v))
            for k, v in values.items()
        }
    numbers = sorted(float(v) for v in values.values() if _is_number(v))
    if isinstance(buckets, int):
        if not numbers:
            edges: list[float] = []
        else:
            # quantile edges; duplicates collapse so a constant field is one bucket
            edges = sorted({numbers[min(len(numbers) - 1, (len(numbers) * i) // buckets)] for i in range(1, buckets)})
    else:
        edges = [float(x) for x in buckets]
    out = {}
    for k, v in values.items():
        if not _is_number(v):
            out[k] = MISSING_STRATUM if v is None else f"(not a number) {v}"
            continue
        i = 0
        while i < len(edges) and v >= edges[i]:
            i += 1
        lo = _fmt(edges[i - 1]) if i > 0 else "-inf"
        hi = _fmt(edges[i]) if i < len(edges) else "inf"
        out[k] = f"[{lo}, {hi})"
    return out


def sample_plan(
    candidates: Sequence[str], strata: dict[str, str] | None, spec: SampleSpec
) -> tuple[list[list[str]], list[str] | None]:
    """The candidates to try, grouped by stratum (each group in its try order), and the strata labels.

    Without a target (no ``n``/``fraction``) every candidate is taken, in the given order. Otherwise
    candidates are ordered by id and shuffled with ``seed`` (so the order of the search does not matter).
    """
    target = spec.target(len(candidates))
    if target is None and strata is None:
        return [list(candidates)], None
    rng = random.Random(spec.seed)
    ordered = sorted(candidates)
    rng.shuffle(ordered)
    if strata is None:
        return [ordered], None
    groups: dict[str, list[str]] = {}
    for tid in ordered:
        groups.setdefault(strata[tid], []).append(tid)
    labels = sorted(groups)
    return [groups[k] for k in labels], labels


def select(groups: list[list[str]], target: int | None, allocation: str, accept: Callable[[str], bool]) -> list[int]:
    """Walk ``groups`` calling ``accept(candidate)`` until ``target`` are accepted; returns how many were
    accepted per group.

    ``equal`` takes one per stratum in turn (a stratum that runs out leaves its share to the others), so
    small strata are kept; ``proportional`` gives each stratum a share of ``target`` by its size (largest
    remainder), then fills any shortfall in turn.
    """
    counts = [0] * len(groups)
    pos = [0] * len(groups)
    total = 0

    def take_one(g: int) -> bool:
        nonlocal total
        while pos[g] < len(groups[g]):
            cand = groups[g][pos[g]]
            pos[g] += 1
            if accept(cand):
                counts[g] += 1
                total += 1
                return True
        return False

    if target is None:
        for g in range(len(groups)):
            while take_one(g):
                pass
        return counts
    if allocation == "proportional" and groups:
        size = sum(len(g) for g in groups)
        exact = [target * len(g) / size if size else 0 for g in groups]
        quota = [int(x) for x in exact]
        for g in sorted(range(len(groups)), key=lambda i: (quota[i] - exact[i], i))[: target - sum(quota)]:
            quota[g] += 1
        for g in range(len(groups)):
            while counts[g] < quota[g] and total < target and take_one(g):
                pass
    active = [g for g in range(len(groups)) if pos[g] < len(groups[g])]
    while total < target and active:
        for g in list(active):
            if total >= target:
                break
            if not take_one(g):
                active.remove(g)
    return counts


# ---------------------------------------------------------------------------------------------- changes
def _match_key(value: Any) -> str:
    # Ground truth matched by a field: text compares stripped, anything else by its JSON (so 42 == "42").
    return value.strip() if isinstance(value, str) else canonical_json(value)


def apply_changes(
    members: list[dict[str, Any]],
    add: list[RecordIn] | tuple[RecordIn, ...],
    expected: list[tuple[str, Any, Any]] | tuple[tuple[str, Any, Any], ...],
    remove: list[str] | tuple[str, ...],
    dedupe: bool,
    by: str | None,
    now: int,
) -> dict[str, Any]:
    """The next version's members from the latest one's, and what changed (see ``commit_dataset_version``
    of an engine). Members whose content changed come back with ``revision_hash`` None, to be rehashed."""
    by_id: dict[str, dict[str, Any]] = {m["record_id"]: dict(m) for m in members}
    order = [m["record_id"] for m in members]
    seen = {m["content_hash"] for m in members}
    out: dict[str, Any] = {"added": 0, "duplicates": 0, "updated": 0, "removed": 0, "expected_set": 0, "unmatched": []}

    def touch(m: dict[str, Any]) -> None:
        m["revision_hash"] = None

    for rec in add:
        h = content_hash(rec.fields)
        if rec.record_id is not None and rec.record_id in by_id:
            m = by_id[rec.record_id]
            new_expected = rec.expected if rec.has_expected else m["expected"]
            before = (m["fields"], m["expected"], m["source_trace_id"], m["source_span_id"])
            m.update(fields=rec.fields, content_hash=h)
            m["source_trace_id"] = rec.source_trace_id or m["source_trace_id"]
            m["source_span_id"] = rec.source_span_id or m["source_span_id"]
            if new_expected != m["expected"]:
                m.update(expected=new_expected, expected_by=by, expected_at_ns=now)
            if before != (m["fields"], m["expected"], m["source_trace_id"], m["source_span_id"]):
                touch(m)
                out["updated"] += 1
            seen.add(h)
            continue
        if dedupe and h in seen:
            out["duplicates"] += 1
            continue
        rid = rec.record_id or new_record_id()
        while rid in by_id:
            rid = new_record_id()
        by_id[rid] = {
            "record_id": rid,
            "revision_hash": None,
            "content_hash": h,
            "fields": rec.fields,
            "expected": rec.expected,
            "source_trace_id": rec.source_trace_id,
            "source_span_id": rec.source_span_id,
            "added_at_ns": now,
            "added_by": by,
            "expected_at_ns": now if rec.expected is not None else None,
            "expected_by": by if rec.expected is not None else None,
        }
        order.append(rid)
        seen.add(h)
        out["added"] += 1
    if expected:
        index: dict[tuple[str, str], list[str]] = {}
        keys = {k for k, _, _ in expected}
        for rid in order:
            m = by_id[rid]
            for key in keys:
                if key in ("record_id", "source_trace_id", "source_span_id"):
                    value = m[key]
                elif key in m["fields"]:
                    value = m["fields"][key]
                else:
                    continue
                if value is not None:
                    index.setdefault((key, _match_key(value)), []).append(rid)
        for key, key_value, value in expected:
            rids = index.get((key, _match_key(key_value)), []) if key_value is not None else []
            if not rids:
                out["unmatched"].append({"key": key, "value": key_value})
                continue
            for rid in rids:
                m = by_id[rid]
                if m["expected"] != value:
                    out["expected_set"] += 1
                    m.update(expected=value, expected_by=by, expected_at_ns=now)
                    touch(m)
    if remove:
        doomed = {str(r) for r in remove} & set(by_id)
        out["removed"] = len(doomed)
        order = [rid for rid in order if rid not in doomed]
    out["members"] = [by_id[rid] for rid in order]
    return out


# ---------------------------------------------------------------------------------------------- diffs
def diff_members(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, Any]:
    """What changed from version ``a`` to ``b`` (lists of records with ``record_id``, ``revision_hash``,
    ``fields``, ``expected``)."""
    by_a = {r["record_id"]: r for r in a}
    by_b = {r["record_id"]: r for r in b}
    added = [r for rid, r in by_b.items() if rid not in by_a]
    removed = [r for rid, r in by_a.items() if rid not in by_b]
    changed = []
    for rid, rb in by_b.items():
        ra = by_a.get(rid)
        if ra is None or ra["revision_hash"] == rb["revision_hash"]:
            continue
        keys = sorted(set(ra["fields"]) | set(rb["fields"]))
        fields = [k for k in keys if ra["fields"].get(k, None) != rb["fields"].get(k, None)]
        what = {"record_id": rid, "fields": fields, "expected": ra.get("expected") != rb.get("expected")}
        what["before"] = {"fields": ra["fields"], "expected": ra.get("expected")}
        what["after"] = {"fields": rb["fields"], "expected": rb.get("expected")}
        changed.append(what)
    return {
        "added": added,
        "removed": removed,
        "changed": changed,
        "unchanged": sum(
            1 for rid, r in by_b.items() if rid in by_a and by_a[rid]["revision_hash"] == r["revision_hash"]
        ),
    }


# ---------------------------------------------------------------------------------------------- engines
# The quality tables' columns in table order, with their types ("string", "int32", "int64", "float64"): what
# every engine inserts, row tuples in this order (DuckDB: ``store/schema.py``; ClickHouse: the ``*_data``
# tables of ``store/clickhouse/schema.py``, which add ``_version``).
QUALITY_COLUMNS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "datasets": (
        ("project", "string"),
        ("name", "string"),
        ("description", "string"),
        ("created_at_ns", "int64"),
        ("created_by", "string"),
    ),
    "dataset_versions": (
        ("project", "string"),
        ("dataset", "string"),
        ("version", "int32"),
        ("content_hash", "string"),
        ("record_count", "int32"),
        ("created_at_ns", "int64"),
        ("created_by", "string"),
        ("message", "string"),
        ("changes", "string"),
    ),
    "dataset_revisions": (
        ("project", "string"),
        ("dataset", "string"),
        ("revision_hash", "string"),
        ("record_id", "string"),
        ("content_hash", "string"),
        ("fields", "string"),
        ("expected", "string"),
        ("source_trace_id", "string"),
        ("source_span_id", "string"),
    ),
    "dataset_members": (
        ("project", "string"),
        ("dataset", "string"),
        ("version", "int32"),
        ("position", "int32"),
        ("record_id", "string"),
        ("revision_hash", "string"),
        ("added_at_ns", "int64"),
        ("added_by", "string"),
        ("expected_at_ns", "int64"),
        ("expected_by", "string"),
    ),
    "eval_runs": (
        ("project", "string"),
        ("run_id", "string"),
        ("name", "string"),
        ("dataset", "string"),
        ("dataset_version", "int32"),
        ("dataset_hash", "string"),
        ("app", "string"),
        ("scorers", "string"),
        ("params", "string"),
        ("status", "string"),
        ("created_at_ns", "int64"),
        ("finished_at_ns", "int64"),
        ("record_count", "int32"),
        ("aggregates", "string"),
    ),
    "eval_results": (
        ("project", "string"),
        ("run_id", "string"),
        ("record_id", "string"),
        ("position", "int32"),
        ("trace_id", "string"),
        ("inputs", "string"),
        ("outputs", "string"),
        ("expected", "string"),
        ("scores", "string"),
        ("rationales", "string"),
        ("errors", "string"),
        ("error", "string"),
        ("latency_ms", "float64"),
        ("source_trace_id", "string"),
    ),
}


def quality_column_names(table: str) -> tuple[str, ...]:
    return tuple(name for name, _ in QUALITY_COLUMNS[table])


class QualityEngine:
    """What the engine-neutral quality methods (datasets, evaluation runs, finding history) need of an engine.

    Reads are plain SQL with ``?`` parameters on ``_cursor()``, over tables (DuckDB) or views of the same
    names and columns (ClickHouse). Writes go through these four primitives, each engine's own: DuckDB runs
    an operation in one transaction; ClickHouse has none and makes every operation's rows invisible until
    its last row is written (see ``store/clickhouse/quality.py``), so the shared code writes the row that
    makes an operation visible last.
    """

    # From the engine's ReadMixin: a read cursor, "``column`` is one of a bound list parameter", the SQL dialect.
    _cursor: Callable[[], Any]
    IN_LIST: str
    dialect: Any

    def _write_op(self) -> AbstractContextManager[Any]:
        """One write operation: a cursor whose rows become visible together (or, without transactions,
        in the order written)."""
        raise NotImplementedError

    def _put_rows(self, con: Any, table: str, rows: list[tuple[Any, ...]], on_conflict: str | None = None) -> None:
        """Insert row tuples (``QUALITY_COLUMNS[table]`` order). ``on_conflict``: None (no key can repeat),
        ``"ignore"`` (keep the stored row: equal content) or ``"replace"`` (the new row wins)."""
        raise NotImplementedError

    def _set_row(self, con: Any, table: str, key: dict[str, Any], values: dict[str, Any]) -> None:
        """Change ``values`` of the row of ``table`` with ``key`` (no such row: nothing)."""
        raise NotImplementedError

    def _drop_dataset_rows(self, con: Any, project: str, name: str) -> None:
        """Remove a dataset with every version, record and revision."""
        raise NotImplementedError
