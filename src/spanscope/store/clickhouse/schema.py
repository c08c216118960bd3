"""The ClickHouse schema and its migrations (same tables and meaning as ``store/schema.py`` for DuckDB).

Physical tables (``*_data``) are ``ReplacingMergeTree(_version)``, ``_version`` the ingest time in ns: the
same row written twice (a retry, a replayed ingest log, several ``spanscope serve`` replicas) collapses to
the newest on merge. Until a merge has run, reads dedupe themselves: every table is read through a view of
the same name as the DuckDB table (``spans``, ``traces``, ``trace_info``, ``findings``, ``events``). Since
``0500_query_perf`` the views read with ``FINAL`` (the first layout's ``argMax(tuple(…), _version)`` views
aggregated every row a query read; measured in the migration's comment and docs/scale-out.md).

``spans_data`` (``0500``) is partitioned by day and ordered ``(project, minute of start, trace_id, span_id)``
with 1,024-row granules; a bloom filter on ``trace_id`` skips granules for lookups without a time bound.
``inputs``/``outputs`` carry n-gram bloom filters on their lower-cased text (substring ``LIKE``/``ILIKE``) and
ZSTD; names, kinds and statuses are ``LowCardinality``; the hot attributes of ``store.schema.HOT_COLUMNS``
(tokens, model, cost) are typed columns filled on insert.
"""

from __future__ import annotations

from typing import Final

from spanscope.store.schema import HOT_COLUMNS


class IfSupported(str):
    """A migration statement that only tunes (a setting newer servers have): a server that does not know the setting
    (``UNKNOWN_SETTING``) skips it, and the migration still counts as applied."""


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


def dedupe_view(table: str, tables: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = TABLES) -> str:
    """The view ``table`` over ``{table}_data``: the newest version of each logical key."""
    return f"CREATE OR REPLACE VIEW {table} AS {dedupe_select(table, tables)}"


def dedupe_select(
    table: str, tables: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = TABLES, *, version: bool = False
) -> str:
    """The newest version of each logical key of ``{table}_data`` (with that ``_version`` if ``version``)."""
    key, rest = tables[table]
    picks = ", ".join(
        f"nullIf(r.{i}, '') AS {col}" if (table, col) in EMPTY_IS_NULL else f"r.{i} AS {col}"
        for i, col in enumerate(rest, start=1)
    )
    # (not ``AS _version`` inside: ClickHouse would resolve the argMax's ``_version`` to that alias)
    newest = ", max(_version) AS newest" if version else ""
    return (
        f"SELECT {', '.join(key)}, {picks}{', newest AS _version' if version else ''} FROM ("
        f"SELECT {', '.join(key)}, argMax(tuple({', '.join(rest)}), _version) AS r{newest} "
        f"FROM {table}_data GROUP BY {', '.join(key)})"
    )


_DAY: Final = "toDate(fromUnixTimestamp64Nano(start_time_ns))"

# Tables of the later migrations (same shape as ``TABLES``: logical key, other columns in table order).
QUALITY_TABLES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "datasets": (("project", "name"), ("description", "created_at_ns", "created_by", "deleted")),
    "dataset_versions": (
        ("project", "dataset", "version"),
        ("content_hash", "record_count", "created_at_ns", "created_by", "message", "changes"),
    ),
    "dataset_revisions": (
        ("project", "dataset", "revision_hash"),
        ("record_id", "content_hash", "fields", "expected", "source_trace_id", "source_span_id"),
    ),
    "eval_runs": (
        ("project", "run_id"),
        (
            "name",
            "dataset",
            "dataset_version",
            "dataset_hash",
            "app",
            "scorers",
            "params",
            "status",
            "created_at_ns",
            "finished_at_ns",
            "record_count",
            "aggregates",
        ),
    ),
    "eval_results": (
        ("project", "run_id", "record_id"),
        (
            "position",
            "trace_id",
            "inputs",
            "outputs",
            "expected",
            "scores",
            "rationales",
            "errors",
            "error",
            "latency_ms",
            "source_trace_id",
        ),
    ),
    "sdk_reports": (("project", "report_id", "reason"), ("time_ns", "sdk", "version", "dropped")),
}

_VERSION_COLUMNS: Final = "content_hash, record_count, created_at_ns, created_by, message, changes"
_MEMBER_COLUMNS: Final = "position, record_id, revision_hash, added_at_ns, added_by, expected_at_ns, expected_by"

# Datasets and evaluation runs (DuckDB: 0100, 0101; see ``store/clickhouse/quality.py`` for why it holds
# without transactions). Every row of one operation carries that operation's ``_version``:
# - ``datasets``: a delete writes a tombstone (``deleted = 1``); the live row's ``_version`` is the dataset's
#   incarnation, and rows of an earlier dataset of the same name (older ``_version``) are not read;
# - ``dataset_versions``: a version's row is written last and makes it visible;
# - ``dataset_members``: append-only; a version's members are the rows written with its row's ``_version``,
#   so rows of an interrupted commit (a crash, a lost race between replicas) are never read.
QUALITY_MIGRATIONS: Final[dict[str, tuple[str, ...]]] = {
    "0100_datasets": (
        """
        CREATE TABLE IF NOT EXISTS datasets_data (
            project         LowCardinality(String),
            name            String,
            description     Nullable(String),
            created_at_ns   Int64,
            created_by      Nullable(String),
            deleted         UInt8 DEFAULT 0,
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, name)
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_versions_data (
            project         LowCardinality(String),
            dataset         String,
            version         Int32,
            content_hash    String,
            record_count    Int32,
            created_at_ns   Int64,
            created_by      Nullable(String),
            message         Nullable(String),
            changes         Nullable(String),
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, dataset, version)
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_revisions_data (
            project         LowCardinality(String),
            dataset         String,
            revision_hash   String,
            record_id       String,
            content_hash    String,
            fields          String CODEC(ZSTD(3)),
            expected        Nullable(String) CODEC(ZSTD(3)),
            source_trace_id Nullable(String),
            source_span_id  Nullable(String),
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, dataset, revision_hash)
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_members_data (
            project         LowCardinality(String),
            dataset         String,
            version         Int32,
            position        Int32,
            record_id       String,
            revision_hash   String,
            added_at_ns     Int64,
            added_by        Nullable(String),
            expected_at_ns  Nullable(Int64),
            expected_by     Nullable(String),
            _version        UInt64
        ) ENGINE = MergeTree
        ORDER BY (project, dataset, version, _version, position)
        """,
        "CREATE OR REPLACE VIEW datasets AS SELECT project, name, description, created_at_ns, created_by, _version "
        f"FROM ({dedupe_select('datasets', QUALITY_TABLES, version=True)}) WHERE deleted = 0",
        f"""
        CREATE OR REPLACE VIEW dataset_versions AS
        SELECT v.project AS project, v.dataset AS dataset, v.version AS version,
            {", ".join(f"v.{c} AS {c}" for c in _VERSION_COLUMNS.split(", "))}, v._version AS _version
        FROM ({dedupe_select("dataset_versions", QUALITY_TABLES, version=True)}) AS v
        INNER JOIN datasets AS d ON d.project = v.project AND d.name = v.dataset
        WHERE v._version >= d._version
        """,
        dedupe_view("dataset_revisions", QUALITY_TABLES),
        f"""
        CREATE OR REPLACE VIEW dataset_members AS
        SELECT m.project AS project, m.dataset AS dataset, m.version AS version,
            {", ".join(f"m.{c} AS {c}" for c in _MEMBER_COLUMNS.split(", "))}
        FROM dataset_members_data AS m
        INNER JOIN dataset_versions AS v ON v.project = m.project AND v.dataset = m.dataset
            AND v.version = m.version AND v._version = m._version
        """,
    ),
    "0101_eval_runs": (
        """
        CREATE TABLE IF NOT EXISTS eval_runs_data (
            project         LowCardinality(String),
            run_id          String,
            name            String,
            dataset         Nullable(String),
            dataset_version Nullable(Int32),
            dataset_hash    Nullable(String),
            app             Nullable(String),
            scorers         Nullable(String),
            params          Nullable(String),
            status          LowCardinality(String),
            created_at_ns   Int64,
            finished_at_ns  Nullable(Int64),
            record_count    Int32,
            aggregates      Nullable(String),
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, run_id)
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_results_data (
            project         LowCardinality(String),
            run_id          String,
            record_id       String,
            position        Int32,
            trace_id        Nullable(String),
            inputs          Nullable(String) CODEC(ZSTD(3)),
            outputs         Nullable(String) CODEC(ZSTD(3)),
            expected        Nullable(String) CODEC(ZSTD(3)),
            scores          Nullable(String),
            rationales      Nullable(String) CODEC(ZSTD(3)),
            errors          Nullable(String),
            error           Nullable(String),
            latency_ms      Nullable(Float64),
            source_trace_id Nullable(String),
            _version        UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, run_id, record_id)
        """,
        dedupe_view("eval_runs", QUALITY_TABLES),
        dedupe_view("eval_results", QUALITY_TABLES),
    ),
    # What SDKs report they dropped (DuckDB: 0300), one row per reason per report. ``report_id`` names the
    # batch the report came with (``write.py``), so a replayed or retried batch adds nothing.
    "0300_sdk_reports": (
        """
        CREATE TABLE IF NOT EXISTS sdk_reports_data (
            project     LowCardinality(String),
            report_id   String,
            reason      LowCardinality(String),
            time_ns     Int64,
            sdk         Nullable(String),
            version     Nullable(String),
            dropped     Int64,
            _version    UInt64
        ) ENGINE = ReplacingMergeTree(_version)
        ORDER BY (project, report_id, reason)
        """,
        dedupe_view("sdk_reports", QUALITY_TABLES),
    ),
}

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
    **QUALITY_MIGRATIONS,
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


# -- 0500_query_perf (issue 9): the read layout for 10M+ spans ---------------------------------------------------
# Measured with bench/query.py --store chdb:// (1M and 10M spans): the argMax views aggregated every row a query
# read, whatever columns it needed (latency by span name at 1M spans: 5.8 s, the seed search 15 s); ``FINAL``
# views read only the columns asked for and merge only the key ranges that several parts share (0.04-0.3 s).
# The core tables are rebuilt (copied, then renamed into place):
# - ``spans_data`` is sorted by ``(project, minute of start, trace_id, span_id)``: a newest-first window, a
#   trace's spans (the read path always knows the trace's time range) and the spans of a result page are
#   contiguous, and parts written one after another hold nearly disjoint key ranges, which ``FINAL`` reads
#   without merging. A span's versions share its start time (SDKs and OTLP exporters never change it); a
#   rewrite that moves a span to another minute keeps both rows.
# - 1,024-row granules (8,192 before) everywhere: a point read, or the 100 traces of a page, decompress up to 8x
#   less; the skip indexes keep 8,192 rows per entry (GRANULARITY 8), so they take the same space as before.
# - the n-gram indexes are built on the lower-cased whole-document text as the ``spans`` view's filters spell it
#   (``span_text_index_expr``), so ``span.inputs LIKE/ILIKE '%word%'`` skips granules
#   (``ClickHouseDialect.compare`` adds the matching pre-filter); the old ones, on the raw JSON, matched no
#   query the compiler emits.
# - ``findings_current`` looks for superseding findings among those that ever named one
#   (``findings_supersedes``, filled on insert), not in every finding's metadata.
SPANS_MINUTE: Final = "intDiv(start_time_ns, 60000000000)"
GRANULE_ROWS: Final = 1024


def span_text_index_expr(column: str) -> str:
    """The lower-cased text of a whole ``inputs``/``outputs`` document, written as ``ClickHouseDialect`` filters
    on the ``spans`` view read once the view's ``nullIf(column, '')`` is substituted: an index matches a filter
    by its expression, so this text and the dialect's ``json_text(column, ())`` must stay in step (a test runs
    EXPLAIN to check the index is used)."""
    value = f"nullIf({column}, '')"
    return f"lower(ifNull(if(startsWith({value}, '\"'), JSONExtractString({value}), {value}), ''))"


def final_view(table: str, extra: tuple[str, ...] = ()) -> str:
    """The view ``table`` over ``{table}_data`` read with ``FINAL`` (the newest version of each sorting key), with
    the ``extra`` columns (computed ones, which ``TABLES`` leaves out as nothing inserts them)."""
    key, rest = TABLES[table]
    picks = [f"nullIf({col}, '') AS {col}" if (table, col) in EMPTY_IS_NULL else col for col in (*rest, *extra)]
    return f"CREATE OR REPLACE VIEW {table} AS SELECT {', '.join([*key, *picks])} FROM {table}_data FINAL"


_SPANS_0500: Final = f"""
        CREATE TABLE IF NOT EXISTS spans_data_0500 (
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
            INDEX trace_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 8,
            INDEX inputs_text {span_text_index_expr("inputs")} TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 8,
            INDEX outputs_text {span_text_index_expr("outputs")} TYPE ngrambf_v1(3, 65536, 2, 0) GRANULARITY 8,
            INDEX attributes_token attributes TYPE tokenbf_v1(32768, 2, 0) GRANULARITY 8
        ) ENGINE = ReplacingMergeTree(_version)
        PARTITION BY {_DAY}
        ORDER BY (project, {SPANS_MINUTE}, trace_id, span_id)
        SETTINGS index_granularity = {GRANULE_ROWS}
        """


def _rebuild(table: str, create: str, *, into: str = "0500", final: bool = False) -> tuple[str, ...]:
    """Statements that copy ``{table}_data`` into ``{table}_data_{into}`` (made by ``create``) and rename the copy
    into place. Each can run again after a crash: a repeated copy adds versions that merges collapse, and the
    old table is dropped before the rename as well as after it. ``final`` copies only the newest version of
    each key (for a new sorting key that old versions could no longer share). Copies of the ``*_data`` tables
    carry no TTL, so retention (``store/retention.py``) is told to set it again."""
    data, new = f"{table}_data", f"{table}_data_{into}"
    old = f"{table}_data_0001" if into == "0500" else f"{table}_data_pre{into}"
    columns = ", ".join((*TABLES[table][0], *TABLES[table][1], "_version"))
    return (
        create,
        f"INSERT INTO {new} ({columns}) SELECT {columns} FROM {data}{' FINAL' if final else ''}",
        f"DROP TABLE IF EXISTS {old} SYNC",
        f"RENAME TABLE {data} TO {old}, {new} TO {data}",
        f"DROP TABLE IF EXISTS {old} SYNC",
        f"INSERT INTO spanscope_retention SELECT '{data}', '', toUnixTimestamp64Nano(now64(9))",
    )


def _query_perf() -> tuple[str, ...]:
    keys = {"traces": "project, trace_id", "trace_info": "project, trace_id"}
    keys |= {"findings": "project, trace_id, finding_id", "events": "project, trace_id, span_id, time_ns, name"}
    supersedes = "JSONExtractString(metadata, 'spanscope.supersedes')"
    superseding = "metadata IS NOT NULL AND JSONHas(metadata, 'spanscope.supersedes')"
    return (
        "CREATE TABLE IF NOT EXISTS spanscope_retention (table_name String, ttl String, _version UInt64) "
        "ENGINE = ReplacingMergeTree(_version) ORDER BY table_name",
        *_rebuild("spans", _SPANS_0500),
        *(
            statement
            for table, key in keys.items()
            for statement in _rebuild(
                table,
                f"CREATE TABLE IF NOT EXISTS {table}_data_0500 AS {table}_data ENGINE = ReplacingMergeTree(_version) "
                f"ORDER BY ({key}) SETTINGS index_granularity = {GRANULE_ROWS}",
            )
        ),
        *(final_view(table) for table in TABLES),
        # Findings that named a finding they supersede, in any version (a small table: most findings name none).
        "CREATE TABLE IF NOT EXISTS findings_supersedes (project LowCardinality(String), trace_id String, "
        "finding_id String) ENGINE = ReplacingMergeTree ORDER BY (project, trace_id, finding_id)",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS findings_supersedes_mv TO findings_supersedes AS "
        f"SELECT project, trace_id, finding_id FROM findings_data WHERE {superseding}",
        f"INSERT INTO findings_supersedes SELECT project, trace_id, finding_id FROM findings_data WHERE {superseding}",
        # Same meaning as 0001's (DuckDB: 0102): the current version of a finding that names another supersedes it.
        f"""
        CREATE OR REPLACE VIEW findings_current AS
        SELECT * FROM findings
        WHERE (project, trace_id, finding_id) NOT IN (
            SELECT project, trace_id, {supersedes} FROM findings
            WHERE (project, trace_id, finding_id) IN (SELECT project, trace_id, finding_id FROM findings_supersedes)
              AND {superseding}
        )
        """,
    )


MIGRATIONS["0500_query_perf"] = _query_perf()


# -- 0600_traces_by_time (issue 9): the per-trace summary sorted by time -----------------------------------------
# ``traces_data`` was sorted by ``(project, trace_id)``: random ids, so every part overlapped every other and each
# ``FINAL`` read of ``traces`` merged the whole table (160-190 ms per scan at 2M traces against 12 ms plain, twice
# per newest-first search). Sorted by ``(project, start_time_ns, trace_id)``, parts written one after another
# hold nearly disjoint time ranges, a newest-first window reads only its own granules, and ``FINAL`` merges
# only where parts overlap. A sorting key may not change between a row's versions, but a trace's start does
# (its root arriving after its children, or its first span after its tags): the writer then retires the row
# under the old start with a tombstone (``is_deleted = 1``, ``ReplacingMergeTree(_version, is_deleted)``), which
# ``FINAL`` reads as "no row". A trace without spans has no start (NULL: ``allow_nullable_key``).
# ``trace_keys`` maps a trace id to its current start and end (filled from every live ``traces_data`` row by a
# materialized view), for what looks a trace up by id: the writer (which needs the old start for the tombstone)
# and ``get_trace``; other lookups by id use the bloom filter on ``trace_id``.
TRACES_0600: Final = """
        CREATE TABLE IF NOT EXISTS traces_data_0600 (
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
            _version        UInt64,
            is_deleted      UInt8 DEFAULT 0,
            INDEX trace_bf trace_id TYPE bloom_filter(0.01) GRANULARITY 1
        ) ENGINE = ReplacingMergeTree(_version, is_deleted)
        ORDER BY (project, start_time_ns, trace_id)
        SETTINGS allow_nullable_key = 1, index_granularity = 1024
        """


def _traces_by_time() -> tuple[str, ...]:
    keys = "project, trace_id, start_time_ns, end_time_ns, _version"
    return (
        *_rebuild("traces", TRACES_0600, into="0600", final=True),
        final_view("traces"),
        "CREATE TABLE IF NOT EXISTS trace_keys_data (project LowCardinality(String), trace_id String, "
        "start_time_ns Nullable(Int64), end_time_ns Nullable(Int64), _version UInt64) "
        "ENGINE = ReplacingMergeTree(_version) ORDER BY (project, trace_id) SETTINGS index_granularity = 1024",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS trace_keys_mv TO trace_keys_data AS SELECT {keys} FROM traces_data "
        "WHERE is_deleted = 0",
        f"INSERT INTO trace_keys_data SELECT {keys} FROM traces_data FINAL",
        "CREATE OR REPLACE VIEW trace_keys AS SELECT project, trace_id, start_time_ns, end_time_ns FROM "
        "trace_keys_data FINAL",
    )


MIGRATIONS["0600_traces_by_time"] = _traces_by_time()


# -- 0700_merge_closed_days (issue 9): each closed day of spans one part ------------------------------------------
# A ``FINAL`` read of a day with several parts merges them at read time; of a day in one part, nothing. ClickHouse
# merges a day's parts all the way into one once all of them are older than ``min_age_to_force_merge_seconds``
# (only whole partitions, by the second setting): a closed day an hour after its last write (clickhouse/compact.py).
MERGE_CLOSED_AFTER_S: Final = 3600
MIGRATIONS["0700_merge_closed_days"] = (
    f"ALTER TABLE spans_data MODIFY SETTING min_age_to_force_merge_seconds = {MERGE_CLOSED_AFTER_S}, "
    "min_age_to_force_merge_on_partition_only = 1",
)


# -- 0800_traces_by_day (issue 9): the per-trace summary partitioned by day --------------------------------------
# ``traces_data`` had one partition, so ClickHouse never merged it down to one part and every ``FINAL`` read of
# ``traces`` merged all of its parts at read time (7 parts at 1M traces; ``compare`` spent ~0.24 s of its 2.3 s
# there, get_trace ~2 ms). Partitioned by the day of the trace's start, as ``spans_data`` is, each closed day gets
# merged into one part by ClickHouse (the 0700 settings) or ``spanscope compact``. Every version of a row (and the
# tombstone that retires it) has the row's start, so its day: ``FINAL`` within a day
# (``do_not_merge_across_partitions_select_final``) stays right. A trace without spans (no start) goes to day 0.
# The materialized view that fills ``trace_keys`` follows its source table by identity, not by name: it is dropped
# before the rename and made again after it (kept, it would watch the old table and miss every later write).
TRACES_0800: Final = (
    TRACES_0600.replace("traces_data_0600", "traces_data_0800")
    .replace(
        "ORDER BY (project, start_time_ns, trace_id)",
        "PARTITION BY toDate(fromUnixTimestamp64Nano(ifNull(start_time_ns, 0)))\n"
        "        ORDER BY (project, start_time_ns, trace_id)",
    )
    .replace(
        "index_granularity = 1024",
        f"index_granularity = 1024, min_age_to_force_merge_seconds = {MERGE_CLOSED_AFTER_S}, "
        "min_age_to_force_merge_on_partition_only = 1",
    )
)


def _traces_by_day() -> tuple[str, ...]:
    keys = "project, trace_id, start_time_ns, end_time_ns, _version"
    return (
        "DROP VIEW IF EXISTS trace_keys_mv SYNC",
        *_rebuild("traces", TRACES_0800, into="0800", final=True),
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS trace_keys_mv TO trace_keys_data AS SELECT {keys} FROM traces_data "
        "WHERE is_deleted = 0",
        final_view("traces"),
    )


MIGRATIONS["0800_traces_by_day"] = _traces_by_day()


# -- 0900_span_tokens (issue 9): a span's tokens in one column ----------------------------------------------------
# Analysis counts a span's tokens as its total, else its input plus output tokens (``analysis.engine``): three
# Nullable columns read for every span. ``attr_tokens`` holds that sum, computed by ClickHouse on insert
# (``MATERIALIZED``: the writer is unchanged) and for the parts already written by a mutation (until it has run, a
# read computes it from the three); ``compare`` at 10M spans 1.26 -> 1.06 s for its main statement. The ``spans``
# view shows it (a later migration that makes the view again keeps ``SPANS_VIEW_EXTRA``).
SPAN_TOKENS_SQL: Final = "coalesce(attr_total_tokens, attr_input_tokens + attr_output_tokens)"
SPANS_VIEW_EXTRA: Final = ("attr_tokens",)
MIGRATIONS["0900_span_tokens"] = (
    f"ALTER TABLE spans_data ADD COLUMN IF NOT EXISTS attr_tokens Nullable(Float64) MATERIALIZED {SPAN_TOKENS_SQL}",
    "ALTER TABLE spans_data MATERIALIZE COLUMN attr_tokens",
    final_view("spans", SPANS_VIEW_EXTRA),
)


# -- 1000_scan_columns_lz4 (issue 9): the columns scans read stay LZ4 in merged parts -----------------------------
# A column without a codec of its own takes the server's default for the part, and ClickHouse 26 writes parts merged
# past a size with ZSTD(3) (every closed day of ``spans_data`` after ``spanscope compact``). ZSTD decompresses at a
# quarter of LZ4's speed, and analysis reads these columns for every span of its range: at 10M spans, in-process,
# latency by span name 218 -> 142 ms, tokens and cost by model 301 -> 224, a span name's p95 107 -> 54; for
# +11 B/span on disk (203 -> 214 compacted). Ids and text keep the default (ZSTD when merged): they are read by
# point lookups and a page's rows, where their size counts more than their decompression. Metadata only: parts
# already written keep their codec until a merge rewrites them (a closed day already one part: ``OPTIMIZE TABLE
# spans_data PARTITION ID '…' FINAL``).
_TIMES: Final = ("start_time_ns", "end_time_ns", "duration_ms")
# the hot columns as they were (a later hot column gets its codec in the migration that adds it)
_HOT_AT_1000: Final = ("attr_model", "attr_total_tokens", "attr_input_tokens", "attr_output_tokens", "attr_cost_usd")
SCAN_COLUMNS_LZ4: Final = {
    "spans_data": ("project", "name", "kind", "status", *_TIMES, *_HOT_AT_1000, "attr_tokens"),
    "traces_data": ("project", "name", "status", *_TIMES, "span_count"),
}
MIGRATIONS["1000_scan_columns_lz4"] = tuple(
    f"ALTER TABLE {table} " + ", ".join(f"MODIFY COLUMN {column} CODEC(LZ4)" for column in columns)
    for table, columns in SCAN_COLUMNS_LZ4.items()
)


# -- 1100_prewarm_marks (issue 9): a restarted store reads traces at full speed from its first request -----------------
# A point read loads the marks of every column it reads, part by part, on first use: after a restart (or a chDB store
# opened anew) the first ~8 ``get_trace`` calls at 10M spans took 25-36 ms against 19-21 once warm. With
# ``prewarm_mark_cache`` ClickHouse loads the marks of these tables when it opens them, and keeps those of new parts
# (inserts, merges, fetches) in the cache: the first 8 calls 20.6-21.1 ms through the API (median; 27.7 before).
# Marks are ~16 B per granule and column: ~0.4 GB for 1B spans, within the default 5 GB mark cache (the prewarm fills
# at most ``mark_cache_prewarm_ratio`` of it).
# The setting is new in ClickHouse 24.11: an older server skips the statements (``IfSupported``). A later rebuild of
# one of these tables (or of a table in ``SCAN_COLUMNS_LZ4``) must carry the setting (and codecs) over.
PREWARMED_TABLES: Final = ("spans_data", "traces_data", "trace_keys_data", "findings_data", "events_data")
MIGRATIONS["1100_prewarm_marks"] = tuple(
    IfSupported(f"ALTER TABLE {table} MODIFY SETTING prewarm_mark_cache = 1") for table in PREWARMED_TABLES
)
