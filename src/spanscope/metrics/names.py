"""Metric names, buckets and the attribute keys metrics read: the contract Grafana dashboards rely on.

Names follow the OpenTelemetry GenAI semantic conventions in Prometheus form where they exist
(``gen_ai.client.token.usage`` -> ``gen_ai_client_token_usage``, attributes as ``gen_ai_request_model``…);
spanscope's own are ``spanscope_*``. Counter names are given without ``_total`` (the exposition adds it).
"""

from __future__ import annotations

from typing import Final

from spanscope.model import conventions as c

# --- per project -----------------------------------------------------------------------------------------
SPANS: Final = "spanscope_spans"
SPAN_ERRORS: Final = "spanscope_span_errors"
SPAN_DURATION: Final = "spanscope_span_duration_seconds"
TRACES: Final = "spanscope_traces"
TRACE_ERRORS: Final = "spanscope_trace_errors"
TRACE_DURATION: Final = "spanscope_trace_duration_seconds"
GENAI_OPERATION_DURATION: Final = "gen_ai_client_operation_duration_seconds"
GENAI_TOKEN_USAGE: Final = "gen_ai_client_token_usage"
GENAI_TTFT: Final = "gen_ai_server_time_to_first_token_seconds"
COST: Final = "spanscope_cost_usd"
FINDINGS: Final = "spanscope_findings"
FINDING_VALUE: Final = "spanscope_finding_value"
TAG_VALUE: Final = "spanscope_tag_value"
INGESTED: Final = "spanscope_ingested_items"
REJECTED: Final = "spanscope_ingest_rejected_items"
SDK_DROPPED: Final = "spanscope_sdk_dropped"
LABEL_OVERFLOW: Final = "spanscope_metrics_label_overflow"
MONITOR_FIRING: Final = "spanscope_monitor_firing"
MONITOR_VALUE: Final = "spanscope_monitor_value"

# --- server health (no project label) ----------------------------------------------------------------------
INGEST_REQUESTS: Final = "spanscope_ingest_requests"
INGEST_REQUEST_DURATION: Final = "spanscope_ingest_request_duration_seconds"
QUEUE_ROWS: Final = "spanscope_ingest_queue_rows"
APPLIED_LAG: Final = "spanscope_ingest_applied_lag_batches"
APPLIED_ROWS: Final = "spanscope_store_applied_rows"
APPLIED_BATCHES: Final = "spanscope_store_applied_batches"
APPLY_FAILURES: Final = "spanscope_store_apply_failures"
OVERLOADED: Final = "spanscope_ingest_overloaded"

# --- buckets -----------------------------------------------------------------------------------------------
DURATION_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# OTel GenAI semconv's advised boundaries.
GENAI_DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
TTFT_BUCKETS: Final = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# Scores mostly live in [0, 1]; Likert-style 1-5 and percentages still land in a bucket of their own.
SCORE_BUCKETS: Final = (0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 2, 3, 4, 5, 10, 100)
REQUEST_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# --- attribute keys read ------------------------------------------------------------------------------------
ATTR_MODEL: Final = c.GEN_AI_REQUEST_MODEL
ATTR_RESPONSE_MODEL: Final = c.GEN_AI_RESPONSE_MODEL
ATTR_OPERATION: Final = c.GEN_AI_OPERATION_NAME
ATTR_PROVIDER: Final = c.GEN_AI_PROVIDER_NAME
ATTR_SYSTEM: Final = "gen_ai.system"  # the provider's name in GenAI semconv before 1.37
ATTR_INPUT_TOKENS: Final = c.GEN_AI_USAGE_INPUT_TOKENS
ATTR_OUTPUT_TOKENS: Final = c.GEN_AI_USAGE_OUTPUT_TOKENS
ATTR_COST: Final = c.COST_USD
# Time to first token: an attribute in seconds, else an event whose time marks the first token.
TTFT_ATTRIBUTES: Final = ("gen_ai.server.time_to_first_token", "gen_ai.response.time_to_first_token")
TTFT_EVENTS: Final = frozenset({"gen_ai.first_token", "gen_ai.content.first_token", "first_token"})
