"""The end-to-end and HTTP API tests again with the server on ClickHouse in-process (``--store chdb://``).

Same test bodies, same expected results: SDK -> HTTP -> ingest log -> chDB -> search_traces / get_trace.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import spanscope
from spanscope.server import ServerThread
from tests.integration import test_end_to_end as e2e
from tests.integration import test_http_api as api
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    url = engine_url("chdb")
    with ServerThread(tmp_path / "data", store_url=url) as srv:
        yield srv
    drop_database(url)


@pytest.fixture
def sdk(server: ServerThread) -> Iterator[ServerThread]:
    spanscope.configure(endpoint=server.url, project="e2e")
    yield server
    spanscope.shutdown()


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


test_instrument_flush_search_and_get = e2e.test_instrument_flush_search_and_get
test_empty_result_has_columns = e2e.test_empty_result_has_columns
test_demo_data_seed_query_and_correlation = e2e.test_demo_data_seed_query_and_correlation
test_mixed_batch_keeps_valid_items = api.test_mixed_batch_keeps_valid_items
test_gzip_body_and_projects = api.test_gzip_body_and_projects
test_search_errors_are_400_with_column = api.test_search_errors_are_400_with_column
