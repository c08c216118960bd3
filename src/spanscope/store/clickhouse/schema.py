"""The ClickHouse schema and its migrations (same tables and meaning as ``store/schema.py`` for DuckDB).

Physical tables (``*_data``) are ``ReplacingMergeTree(_version)``, ``_version`` the ingest time in ns: the
same row written twice (a retry, a replayed ingest log, several ``spanscope serve`` replicas) collapses to
the newest on merge. Until a merge has run, reads dedupe themselves: every table is read through a view of
the same name as the DuckDB table (``spans``, ``traces``, ``trace_info``, ``findings``, ``events``) that
keeps the newest version per logical key with ``argMax(tuple(…), _version)`` grouped by that key. No
``FINAL``: a predicate on the key columns (``project``, ``trace_id``) is pushed below the GROUP BY, so a
search reads one project's rows, and a tuple keeps NULL columns (``argMax`` alone skips NULL arguments).

``spans_data`` is partitioned by day and ordered ``(project, day, trace_id, span_id)``: per-project
time-range scans read one project's days, and a trace is one contiguous range inside a day; a bloom filter
on ``trace_id`` skips granules for lookups without a time bound. ``inputs``/``outputs`` carry n-gram bloom
filters (substring ``LIKE``) and ZSTD; names, kinds and statuses are ``LowCardinality``; the hot attributes
of ``store.schema.HOT_COLUMNS`` (tokens, model, cost) are typed columns filled on insert.
"""

from __future__ import annotations

from typing import Final

from spanscope.store.schema import HOT_COLUMNS

_CH_TYPES: Final = {"VARCHAR": "Nullable(String)", "DOUBLE": "Nullable(Float64)"}
HOT_DDL: Final = ",\n".join(f"    {col} {_CH_TYPES[sql_type]}" for col, (_, sql_type) in HOT_COLUMNS.items())

# table -> (logical key, other columns), in the column order of the table.
TABLES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "spans": (
        ("project", "trace_id", "span_id"),
        (
            "parent_span_id",
            "name",
            "kind",
            "start_time_ns",
            "end_time_ns",
            "duration_ms",
            "status",
            "status_message",
            "attributes",
            "inputs",
            "outputs",
            "events",
            *HOT_COLUMNS,
        ),
    ),
    "traces": (
        ("project", "trace_id"),
        (
            "root_span_id",
            "name",
            "start_time_ns",
            "end_time_ns",
            "duration_ms",
            "status",
            "span_count",
            "tags",
            "metadata",
            "session_id",
            "user_id",
        ),
    ),
    "trace_info": (("project", "trace_id"), ("tags", "metadata", "session_id", "user_id")),
    "findings": (
        ("project", "trace_id", "finding_id"),
        ("span_id", "name", "value", "source", "rationale", "time_ns", "metadata"),
    ),
    "events": (("project", "trace_id", "span_id", "time_ns", "name"), ("attributes",)),
}

# Stored as '' for "none" (n-gram indexes take String only, not Nullable); the views give NULL back.
EMPTY_IS_NULL: Final = {("spans", "inputs"), ("spans", "outputs")}


def dedupe_view(table: str) -> str:
    """The view ``table`` over ``{table}_data``: the newest version of each logical key."""
    key, rest = TABLES[table]
    picks = ", ".join(
        f"nullIf(r.{i}, '') AS {col}" if (table, col) in EMPTY_IS_NULL else f"r.{i} AS {col}"
        for i, col in enumerate(rest, start=1)
    )
    return (
        f"CREATE OR REPLACE VIEW {table} AS SELECT {', '.join(key)}, {picks} FROM ("
        f"SELECT {', '.join(key)}, argMax(tuple({', '.join(rest)}), _version) AS r "
        f"FROM {table}_data GROUP BY {', '.join(key)})"
    )


_DAY: Final = "toDate(fromUnixTimestamp64Nano(start_time_ns))"

MIGRATIONS: Final[dict[str, tuple[str, ...]]] = {
    "0001_core": (
        f"""
        CREATE TABLE IF NOT EXISTS spans_data (
            project         LowCardinality(String),
            trace_id        String,
            span_id         String,
            parent_span_id  Nullable(String),
            name            LowCardinality(String),
            kind            LowCardinality(String),
            start_time_ns   Int64,
            end_time_ns     Int64,
            duration_ms     Float64,
            status          LowCardinality(String),
            status_message  Nullable(String),
            attributes      String CODEC(ZSTD(1)),
            inputs          String CODEC(ZSTD(3)),
            outputs         String CODEC(ZSTD(3)),
            events          Nullable(String) CODEC(ZSTD(1)),
        {HOT_DDL},
            _version        UInt64,
            INDEX trace_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
            INDEX inputs_ngram inputs TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1,
            INDEX outputs_ngram outputs TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 1,
            INDEX attributes_token attributes TYPE tokenbf_v1(32768, 2, 0) GRANULARITY 1
        ) ENGINE = ReplacingMergeTree(_version)
        PARTITION BY {_DAY}
        ORDER BY (project, {_DAY}, trace_id, span_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS traces_data (
            project         LowCardinality(String),
            trace_id        String,
            root_span_id    Nullable(String),
            name            LowCardinality(Nullable(String)),
            start_time_ns   Nullable(Int64),
            end_time_ns     Nullable(Int64),
            duration_ms     Nullable(Float64),
            status          LowCardinality(String),
            span_count      Int32,
            tags            Nullable(String),
            metadata        Nullable(String),
            session_id      Nullable(String),
            user_id         Nullable(String),
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, trace_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS trace_info_data (
            project     LowCardinality(String),
            trace_id    String,
            tags        Nullable(String),
            metadata    Nullable(String),
            session_id  Nullable(String),
            user_id     Nullable(String),
            _version    UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, trace_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS findings_data (
            project     LowCardinality(String),
            trace_id    String,
            finding_id  String,
            span_id     Nullable(String),
            name        LowCardinality(String),
            value       String,
            source      LowCardinality(String),
            rationale   Nullable(String),
            time_ns     Int64,
            metadata    Nullable(String),
            _version    UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, trace_id, finding_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS events_data (
            project     LowCardinality(String),
            trace_id    String,
            span_id     String,
            time_ns     Int64,
            name        LowCardinality(String),
            attributes  Nullable(String),
            _version    UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, trace_id, span_id, time_ns, name)
        """,
        *(dedupe_view(t) for t in TABLES),
        # A finding superseded by a later one (its metadata names it) is not current (DuckDB: 0102).
        """
        CREATE OR REPLACE VIEW findings_current AS
        SELECT * FROM findings
        WHERE (project, trace_id, finding_id) NOT IN (
            SELECT project, trace_id, JSONExtractString(metadata, 'spanscope.supersedes') FROM findings
            WHERE metadata IS NOT NULL AND JSONHas(metadata, 'spanscope.supersedes')
        )
        """,
    ),
}


def hot_values(attributes: dict[str, object]) -> tuple[object, ...]:
    """The typed hot columns of a span, as ``Dialect.json_text`` / ``json_number`` would read them."""
    out: list[object] = []
    for key, sql_type in HOT_COLUMNS.values():
        value = attributes.get(key)
        if sql_type == "VARCHAR":
            out.append(None if value is None else value if isinstance(value, str) else _json_text(value))
        else:
            out.append(_number(value))
    return tuple(out)


def _json_text(value: object) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None  # JSON true/false are not numbers (TRY_CAST('true' AS DOUBLE) is NULL)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
