"""The embedded store's schema (DuckDB) and its migrations.

Tables
------
``spans``       one row per span (last write wins on ``(project, trace_id, span_id)``).
``trace_info``  trace-level facts sent separately from spans (tags, metadata, session, user), merged.
``traces``      a per-trace summary derived from ``spans`` + ``trace_info`` and rewritten for every trace a
                write touches, so trace-level filters and listing never scan spans.
``findings``    scores/feedback on a trace or a span; ``value`` is a typed JSON scalar.
``events``      events sent on their own (not inside their span), merged into their span when read.

Since ``0005_query_layout`` (see ``duckdb/derive.py``): ``spans``, ``traces`` and ``trace_info`` have no
primary-key index (last write wins through ``derive.insert_spans`` / ``derive.delete_keys``); ``spans``
carries typed copies of hot attributes (``HOT_COLUMNS``); ``traces`` keeps no copy of the root span's
inputs/outputs (a search reads them from the root span).

JSON columns (``attributes``, ``inputs``, ``outputs``, ``events``, ``tags``, ``metadata``, ``value``) hold
JSON text with its types intact (numbers stay numbers), so the query compiler can compare typed values.
"""

from __future__ import annotations

from typing import Final

# column -> (attribute key, SQL type). Text columns hold the JSON text, numeric ones the number or a numeric
# string's value (TRY_CAST of the text), which is what ``Dialect.json_text`` / ``json_number`` compute.
HOT_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    "attr_model": ("gen_ai.request.model", "VARCHAR"),
    "attr_total_tokens": ("usage.total_tokens", "DOUBLE"),
    "attr_input_tokens": ("gen_ai.usage.input_tokens", "DOUBLE"),
    "attr_output_tokens": ("gen_ai.usage.output_tokens", "DOUBLE"),
    "attr_cost_usd": ("spanscope.cost_usd", "DOUBLE"),
}


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def hot_column_sql(column: str, source: str = "attributes") -> str:
    """The SQL that computes hot column ``column`` from the JSON text column ``source``."""
    key, sql_type = HOT_COLUMNS[column]
    text = f"json_extract_string({source}, '{_pointer(key)}')"
    return text if sql_type == "VARCHAR" else f"TRY_CAST({text} AS {sql_type})"


HOT_SELECT: Final = ", ".join(f"{hot_column_sql(col)} AS {col}" for col in HOT_COLUMNS)
HOT_DDL: Final = ",\n".join(f"    {col} {sql_type}" for col, (_, sql_type) in HOT_COLUMNS.items())

# ``derive.insert_spans`` appends in this order: a trace's spans together, row groups in time order.
SPAN_ORDER: Final = (
    "min(start_time_ns) OVER (PARTITION BY project, trace_id), project, trace_id, start_time_ns, span_id"
)

_SPAN_COLUMNS: Final = (
    "project, trace_id, span_id, parent_span_id, name, kind, start_time_ns, end_time_ns, duration_ms, status, "
    "status_message, attributes, inputs, outputs, events"
)
_TRACE_COLUMNS: Final = (
    "project, trace_id, root_span_id, name, start_time_ns, end_time_ns, duration_ms, status, span_count, tags, "
    "metadata, session_id, user_id"
)

MIGRATIONS: Final[dict[str, tuple[str, ...]]] = {
    # id -> statements. Applied in this order, each once, recorded in ``schema_migrations``. Ids are
    # names, not counters, so features can add their own migrations without renumbering others.
    "0001_core": (
        """
        CREATE TABLE IF NOT EXISTS spans (
            project         VARCHAR NOT NULL,
            trace_id        VARCHAR NOT NULL,
            span_id         VARCHAR NOT NULL,
            parent_span_id  VARCHAR,
            name            VARCHAR NOT NULL,
            kind            VARCHAR NOT NULL,
            start_time_ns   BIGINT  NOT NULL,
            end_time_ns     BIGINT  NOT NULL,
            duration_ms     DOUBLE  NOT NULL,
            status          VARCHAR NOT NULL,
            status_message  VARCHAR,
            attributes      JSON,
            inputs          JSON,
            outputs         JSON,
            events          JSON,
            PRIMARY KEY (project, trace_id, span_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS trace_info (
            project     VARCHAR NOT NULL,
            trace_id    VARCHAR NOT NULL,
            tags        JSON,
            metadata    JSON,
            session_id  VARCHAR,
            user_id     VARCHAR,
            PRIMARY KEY (project, trace_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS traces (
            project         VARCHAR NOT NULL,
            trace_id        VARCHAR NOT NULL,
            root_span_id    VARCHAR,
            name            VARCHAR,
            start_time_ns   BIGINT,
            end_time_ns     BIGINT,
            duration_ms     DOUBLE,
            status          VARCHAR NOT NULL,
            inputs          JSON,
            outputs         JSON,
            span_count      INTEGER NOT NULL,
            tags            JSON,
            metadata        JSON,
            session_id      VARCHAR,
            user_id         VARCHAR,
            PRIMARY KEY (project, trace_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS findings (
            project     VARCHAR NOT NULL,
            finding_id  VARCHAR NOT NULL,
            trace_id    VARCHAR NOT NULL,
            span_id     VARCHAR,
            name        VARCHAR NOT NULL,
            value       JSON    NOT NULL,
            source      VARCHAR NOT NULL,
            rationale   VARCHAR,
            time_ns     BIGINT  NOT NULL,
            metadata    JSON,
            PRIMARY KEY (project, finding_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS events (
            project     VARCHAR NOT NULL,
            trace_id    VARCHAR NOT NULL,
            span_id     VARCHAR NOT NULL,
            name        VARCHAR NOT NULL,
            time_ns     BIGINT  NOT NULL,
            attributes  JSON
        )
        """,
        "CREATE INDEX IF NOT EXISTS findings_trace ON findings (project, trace_id)",
    ),
    # Query layout (issue 5): measured at 1M spans, see derive.py and BENCHMARKS.md.
    # - spans: no primary-key index (it cost 96 B/span on disk; last write wins through derive.insert_spans),
    #   ZSTD for inputs/outputs (a trace's spans are stored together, so text they repeat is stored ~once;
    #   attributes stay FSST, which reads single rows cheaply),
    #   typed hot attribute columns, rows rewritten in trace / time order.
    # - traces: no copy of the root span's inputs/outputs (read from the root span); an index on trace_id
    #   alone, which point lookups use (DuckDB uses no composite index for them).
    # - traces, trace_info: no composite primary keys (they served only INSERT OR REPLACE, and every checkpoint
    #   rewrote them); rows are replaced by delete + insert (derive.delete_keys).
    # - findings: an index on trace_id alone instead of the composite one no lookup used.
    "0005_query_layout": (
        f"""
        CREATE TABLE spans_v2 (
            project         VARCHAR NOT NULL,
            trace_id        VARCHAR NOT NULL,
            span_id         VARCHAR NOT NULL,
            parent_span_id  VARCHAR,
            name            VARCHAR NOT NULL,
            kind            VARCHAR NOT NULL,
            start_time_ns   BIGINT  NOT NULL,
            end_time_ns     BIGINT  NOT NULL,
            duration_ms     DOUBLE  NOT NULL,
            status          VARCHAR NOT NULL,
            status_message  VARCHAR,
            attributes      JSON,
            inputs          JSON USING COMPRESSION zstd,
            outputs         JSON USING COMPRESSION zstd,
            events          JSON,
        {HOT_DDL}
        )
        """,
        f"INSERT INTO spans_v2 SELECT {_SPAN_COLUMNS}, {HOT_SELECT} FROM spans ORDER BY {SPAN_ORDER}",
        "DROP TABLE spans",
        "ALTER TABLE spans_v2 RENAME TO spans",
        """
        CREATE TABLE traces_v2 (
            project         VARCHAR NOT NULL,
            trace_id        VARCHAR NOT NULL,
            root_span_id    VARCHAR,
            name            VARCHAR,
            start_time_ns   BIGINT,
            end_time_ns     BIGINT,
            duration_ms     DOUBLE,
            status          VARCHAR NOT NULL,
            span_count      INTEGER NOT NULL,
            tags            JSON,
            metadata        JSON,
            session_id      VARCHAR,
            user_id         VARCHAR
        )
        """,
        f"INSERT INTO traces_v2 SELECT {_TRACE_COLUMNS} FROM traces ORDER BY start_time_ns, trace_id",
        "DROP TABLE traces",
        "ALTER TABLE traces_v2 RENAME TO traces",
        "CREATE INDEX IF NOT EXISTS traces_trace_id ON traces (trace_id)",
        """
        CREATE TABLE trace_info_v2 (
            project     VARCHAR NOT NULL,
            trace_id    VARCHAR NOT NULL,
            tags        JSON,
            metadata    JSON,
            session_id  VARCHAR,
            user_id     VARCHAR
        )
        """,
        "INSERT INTO trace_info_v2 SELECT project, trace_id, tags, metadata, session_id, user_id FROM trace_info",
        "DROP TABLE trace_info",
        "ALTER TABLE trace_info_v2 RENAME TO trace_info",
        # DuckDB uses no composite index for lookups: replace (project, trace_id) by trace_id alone.
        "DROP INDEX IF EXISTS findings_trace",
        "CREATE INDEX IF NOT EXISTS findings_trace_id ON findings (trace_id)",
    ),
    # Datasets (issue 6, see duckdb/datasets.py): immutable versions of content-addressed record revisions.
    "0100_datasets": (
        """
        CREATE TABLE IF NOT EXISTS datasets (
            project         VARCHAR NOT NULL,
            name            VARCHAR NOT NULL,
            description     VARCHAR,
            created_at_ns   BIGINT  NOT NULL,
            created_by      VARCHAR,
            PRIMARY KEY (project, name)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_versions (
            project         VARCHAR NOT NULL,
            dataset         VARCHAR NOT NULL,
            version         INTEGER NOT NULL,
            content_hash    VARCHAR NOT NULL,
            record_count    INTEGER NOT NULL,
            created_at_ns   BIGINT  NOT NULL,
            created_by      VARCHAR,
            message         VARCHAR,
            changes         JSON,
            PRIMARY KEY (project, dataset, version)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_revisions (
            project         VARCHAR NOT NULL,
            dataset         VARCHAR NOT NULL,
            revision_hash   VARCHAR NOT NULL,
            record_id       VARCHAR NOT NULL,
            content_hash    VARCHAR NOT NULL,
            fields          JSON    NOT NULL,
            expected        JSON,
            source_trace_id VARCHAR,
            source_span_id  VARCHAR,
            PRIMARY KEY (project, dataset, revision_hash)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS dataset_members (
            project         VARCHAR NOT NULL,
            dataset         VARCHAR NOT NULL,
            version         INTEGER NOT NULL,
            position        INTEGER NOT NULL,
            record_id       VARCHAR NOT NULL,
            revision_hash   VARCHAR NOT NULL,
            added_at_ns     BIGINT  NOT NULL,
            added_by        VARCHAR,
            expected_at_ns  BIGINT,
            expected_by     VARCHAR
        )
        """,
    ),
    # Evaluation runs (issue 6, see duckdb/evals.py); their scores are also findings on the runs' traces.
    "0101_eval_runs": (
        """
        CREATE TABLE IF NOT EXISTS eval_runs (
            project         VARCHAR NOT NULL,
            run_id          VARCHAR NOT NULL,
            name            VARCHAR NOT NULL,
            dataset         VARCHAR,
            dataset_version INTEGER,
            dataset_hash    VARCHAR,
            app             VARCHAR,
            scorers         JSON,
            params          JSON,
            status          VARCHAR NOT NULL,
            created_at_ns   BIGINT  NOT NULL,
            finished_at_ns  BIGINT,
            record_count    INTEGER NOT NULL,
            aggregates      JSON,
            PRIMARY KEY (project, run_id)
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS eval_results (
            project         VARCHAR NOT NULL,
            run_id          VARCHAR NOT NULL,
            record_id       VARCHAR NOT NULL,
            position        INTEGER NOT NULL,
            trace_id        VARCHAR,
            inputs          JSON,
            outputs         JSON,
            expected        JSON,
            scores          JSON,
            rationales      JSON,
            errors          JSON,
            error           VARCHAR,
            latency_ms      DOUBLE,
            source_trace_id VARCHAR,
            PRIMARY KEY (project, run_id, record_id)
        )
        """,
    ),
    # Finding history (issue 6, see duckdb/findings.py): an update is a new finding whose metadata names the
    # one it supersedes; this view hides superseded findings, and ``finding.<name>`` filters read it.
    "0102_findings_history": (
        """
        CREATE OR REPLACE VIEW findings_current AS
        SELECT f.* FROM findings f
        WHERE NOT EXISTS (
            SELECT 1 FROM findings g
            WHERE g.project = f.project AND g.trace_id = f.trace_id AND g.metadata IS NOT NULL
              AND json_extract_string(g.metadata, '/spanscope.supersedes') = f.finding_id
        )
        """,
    ),
    # What SDKs report they dropped (queue_full, export_failed, shutdown, sampled_out), one row per reason per
    # report, so drops are visible per project and over time (``GET /api/v1/sdk/drops``).
    "0300_sdk_reports": (
        """
        CREATE TABLE IF NOT EXISTS sdk_reports (
            project  VARCHAR NOT NULL,
            time_ns  BIGINT  NOT NULL,
            sdk      VARCHAR,
            version  VARCHAR,
            reason   VARCHAR NOT NULL,
            dropped  BIGINT  NOT NULL
        )
        """,
    ),
    # A report's key (``store/reports.py``): the id the ingest log stamps, so a report replayed after a crash is
    # ignored rather than counted twice. Rows from before get a hash of the row (and its rowid: rows alike stay two).
    "0700_sdk_report_ids": (
        """
        CREATE TABLE sdk_reports_0700 (
            project   VARCHAR NOT NULL,
            time_ns   BIGINT  NOT NULL,
            sdk       VARCHAR,
            version   VARCHAR,
            reason    VARCHAR NOT NULL,
            dropped   BIGINT  NOT NULL,
            report_id VARCHAR NOT NULL
        )
        """,
        "INSERT INTO sdk_reports_0700 SELECT project, time_ns, sdk, version, reason, dropped, "
        "md5(concat_ws('|', project, time_ns, sdk, version, reason, dropped, rowid)) FROM sdk_reports",
        "DROP TABLE sdk_reports",
        "ALTER TABLE sdk_reports_0700 RENAME TO sdk_reports",
        "CREATE UNIQUE INDEX sdk_reports_key ON sdk_reports (project, report_id, reason)",
    ),
}

# Hot columns by attribute key, for the filter compiler (``span.attributes.<key>`` -> column).
HOT_ATTRIBUTE_COLUMNS: Final[dict[str, tuple[str, str]]] = {
    key: (column, sql_type) for column, (key, sql_type) in HOT_COLUMNS.items()
}
