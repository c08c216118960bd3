"""The web UI's JSON API tests (``test_ui_api.py``) again with the server on ClickHouse in-process (chDB).

Same test bodies, same expected results: the UI's own queries (``store/duckdb/ui_queries.py``) run on the
ClickHouse engine through its dialect.
"""

from __future__ import annotations

import pytest

from tests.integration import test_ui_api as ui
from tests.integration.servers_chdb import server  # noqa: F401 - the fixture the re-run tests take

pytest.importorskip("chdb")


http = ui.http

test_outline_is_columnar_and_complete = ui.test_outline_is_columnar_and_complete
test_outline_orphan_is_a_root_and_errors = ui.test_outline_orphan_is_a_root_and_errors
test_span_detail_has_body_events_and_findings = ui.test_span_detail_has_body_events_and_findings
test_trace_list_rollups_sort_total_and_range = ui.test_trace_list_rollups_sort_total_and_range
test_trace_list_filter_errors_carry_a_column = ui.test_trace_list_filter_errors_carry_a_column
test_ui_list_and_search_api_agree = ui.test_ui_list_and_search_api_agree
test_completion_fields = ui.test_completion_fields
test_dashboard_aggregates = ui.test_dashboard_aggregates
test_feedback_through_ingest_shows_in_list_and_search = ui.test_feedback_through_ingest_shows_in_list_and_search
test_projects = ui.test_projects
test_pages_serve_the_app = ui.test_pages_serve_the_app
