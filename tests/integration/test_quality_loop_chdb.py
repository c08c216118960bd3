"""The quality-loop tests again with the server on ClickHouse in-process (``--store chdb://``): feedback
history, datasets from traces with versions and ground truth, evaluation runs, comparisons and the runnable
example. Same test bodies, same expected results."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

import spanscope.server
from spanscope.server import ServerThread
from spanscope.store.clickhouse import ClickHouseStore
from tests.integration import test_quality_loop as example
from tests.integration import test_quality_loop_api as api
from tests.integration.servers_chdb import server  # noqa: F401 - the fixture the re-run tests take
from tests.integration.test_quality_loop_api import sdk  # noqa: F401 - the fixture the api tests take
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")


@pytest.fixture
def example_on_chdb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The example starts its own server (``from spanscope.server import ServerThread`` when it is loaded).
    url = engine_url("chdb")
    monkeypatch.setattr(spanscope.server, "ServerThread", functools.partial(ServerThread, store_url=url))
    yield
    assert url is not None
    store = ClickHouseStore.from_url(url, read_only=True)
    try:  # the example's dataset and runs are in chDB
        assert [d["name"] for d in store.list_datasets("quality-loop")] != []
        assert len(store.list_runs("quality-loop")) == 2
    finally:
        store.close()
    drop_database(url)


test_feedback_is_typed_searchable_and_superseded_with_history = (
    api.test_feedback_is_typed_searchable_and_superseded_with_history
)
test_dataset_from_traces_with_versions_ground_truth_and_exports = (
    api.test_dataset_from_traces_with_versions_ground_truth_and_exports
)
test_evaluate_traces_scores_and_stores_a_run = api.test_evaluate_traces_scores_and_stores_a_run
test_async_apps_run_concurrently_and_inputs_can_be_renamed = (
    api.test_async_apps_run_concurrently_and_inputs_can_be_renamed
)
test_evaluate_uses_the_latest_ground_truth_and_keeps_it_without_scorers = (
    api.test_evaluate_uses_the_latest_ground_truth_and_keeps_it_without_scorers
)
test_evaluate_without_a_configured_sdk_configures_it_for_the_run = (
    api.test_evaluate_without_a_configured_sdk_configures_it_for_the_run
)
test_score_traces_writes_findings_and_rescoring_supersedes = (
    api.test_score_traces_writes_findings_and_rescoring_supersedes
)
test_compare_findings_between_versions_and_windows = api.test_compare_findings_between_versions_and_windows
test_http_errors_say_what_is_wrong = api.test_http_errors_say_what_is_wrong


@pytest.mark.usefixtures("example_on_chdb")
def test_the_quality_loop_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example.test_the_quality_loop_example(tmp_path, capsys)
