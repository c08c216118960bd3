"""The embedded store's schema (DuckDB) and its migrations.

Tables
------
``spans``       one row per span (last write wins on ``(project, trace_id, span_id)``).
``trace_info``  trace-level facts sent separately from spans (tags, metadata, session, user), merged.
``traces``      a per-trace summary derived from ``spans`` + ``trace_info`` and rewritten for every trace a
                write touches, so trace-level filters and listing never scan spans.
``findings``    scores/feedback on a trace or a span; ``value`` is a typed JSON scalar.
``events``      events sent on their own (not inside their span), merged into their span when read.

JSON columns (``attributes``, ``inputs``, ``outputs``, ``events``, ``tags``, ``metadata``, ``value``) hold
JSON text with its types intact (numbers stay numbers), so the query compiler can compare typed values.
"""

from __future__ import annotations

from typing import Final

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
}
