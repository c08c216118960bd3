"""Analysis, span search and exports (``test_query_analysis.py``, ``test_query_search.py``) again with the
server on ClickHouse in-process (``--store chdb://``): same test bodies, same expected results."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from spanscope.client import Client
from spanscope.server import ServerThread
from tests.integration import test_query_analysis as qa
from tests.integration import test_query_search as qs
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")


@pytest.fixture(scope="module")
def data() -> Any:
    return qa.make_dataset(80, seed=3)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Iterator[ServerThread]:
    url = engine_url("chdb")
    with ServerThread(tmp_path_factory.mktemp("analysis") / "data", store_url=url) as server:
        Client(server.url, project="p").ingest({"spans": data[0], "traces": data[1]})
        yield server
    drop_database(url)


@pytest.fixture(scope="module")
def search_data() -> Any:
    return qs.make_dataset(qs.N, seed=11)


@pytest.fixture(scope="module")
def search_srv(tmp_path_factory: pytest.TempPathFactory, search_data: Any) -> Iterator[ServerThread]:
    spans, infos = search_data
    url = engine_url("chdb")
    with ServerThread(tmp_path_factory.mktemp("search") / "data", store_url=url) as server:
        client = Client(server.url, project="p")
        for k in range(0, len(infos), 40):
            ids = {i["trace_id"] for i in infos[k : k + 40]}
            body = {"spans": [s for s in spans if s["trace_id"] in ids], "traces": infos[k : k + 40]}
            assert client.ingest(body)["rejected"] == []
        yield server
    drop_database(url)


client = qa.client

test_latency_frame = qa.test_latency_frame
test_usage_compare_path_correlate = qa.test_usage_compare_path_correlate
test_analysis_errors_are_400_with_a_column = qa.test_analysis_errors_are_400_with_a_column
test_cli_stats_and_export = qa.test_cli_stats_and_export


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_exports_from_python_and_http(search_srv: ServerThread, tmp_path: Any, search_data: Any, fmt: str) -> None:
    qs.test_exports_from_python_and_http(search_srv, Client(search_srv.url, project="p"), tmp_path, search_data, fmt)


def test_arrow_stream_equals_json_pages(search_srv: ServerThread) -> None:
    qs.test_arrow_stream_equals_json_pages(search_srv, Client(search_srv.url, project="p"))


def test_large_frames_come_as_arrow(search_srv: ServerThread) -> None:
    qs.test_large_frames_come_as_arrow(Client(search_srv.url, project="p"))


def test_count(search_srv: ServerThread, search_data: Any) -> None:
    qs.test_count(Client(search_srv.url, project="p"), search_data)
