"""The end-to-end and HTTP API tests again with the server on ClickHouse in-process (``--store chdb://``).

Same test bodies, same expected results: SDK -> HTTP -> ingest log -> chDB -> search_traces / get_trace.
"""

from __future__ import annotations

import pytest

from tests.integration import test_end_to_end as e2e
from tests.integration import test_http_api as api
from tests.integration.servers_chdb import server  # noqa: F401 - the fixture the re-run tests take

pytest.importorskip("chdb")


sdk = e2e.sdk
http = api.http

test_instrument_flush_search_and_get = e2e.test_instrument_flush_search_and_get
test_empty_result_has_columns = e2e.test_empty_result_has_columns
test_demo_data_seed_query_and_correlation = e2e.test_demo_data_seed_query_and_correlation
test_mixed_batch_keeps_valid_items = api.test_mixed_batch_keeps_valid_items
test_gzip_body_and_projects = api.test_gzip_body_and_projects
test_search_errors_are_400_with_column = api.test_search_errors_are_400_with_column
