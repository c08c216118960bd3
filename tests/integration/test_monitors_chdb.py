"""Monitors and Prometheus metrics on a server on ClickHouse in-process (``--store chdb://``).

The test bodies of ``test_monitors.py`` and ``test_metrics.py`` run unchanged: the servers they start are
:class:`~tests.integration.servers_chdb.ChdbServerThread` here (one chDB database per data dir).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from spanscope.monitors import MonitorsConfig
from spanscope.monitors.state import FILENAME
from spanscope.server import ServerThread
from tests.integration import test_metrics as met
from tests.integration import test_monitors as mon
from tests.integration.servers_chdb import ChdbServerThread, duckdb_sql_on_clickhouse, on_chdb

pytest.importorskip("chdb")


@pytest.fixture(autouse=True)
def _chdb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The metrics tests check /metrics against the store with a few DuckDB spellings: the same SQL on ClickHouse.
    read = met.store_rows

    def store_rows(srv: ServerThread, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return read(srv, *duckdb_sql_on_clickhouse(sql, params))

    monkeypatch.setattr(met, "store_rows", store_rows)
    yield from on_chdb(monkeypatch, mon, met)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    with ChdbServerThread(tmp_path / "data") as srv:
        yield srv


demo = met.demo  # starts its server after _chdb swapped ServerThread (autouse fixtures come first)
webhook = mon.webhook

test_quality_monitor_fires_on_degraded_demo_notifies_records_and_resolves = (
    mon.test_quality_monitor_fires_on_degraded_demo_notifies_records_and_resolves
)
test_api_declares_tests_and_deletes_monitors = mon.test_api_declares_tests_and_deletes_monitors
test_webhook_retries_then_records_failures = mon.test_webhook_retries_then_records_failures
test_scheduler_runs_due_monitors_by_their_own_period = mon.test_scheduler_runs_due_monitors_by_their_own_period
test_monitors_are_per_project_with_api_keys = mon.test_monitors_are_per_project_with_api_keys

test_demo_numbers_match_the_store = met.test_demo_numbers_match_the_store
test_known_native_body_sdk_drops_rejections_and_request_codes = (
    met.test_known_native_body_sdk_drops_rejections_and_request_codes
)
test_openmetrics_exemplars_point_at_real_traces = met.test_openmetrics_exemplars_point_at_real_traces
test_cardinality_limit_through_the_server = met.test_cardinality_limit_through_the_server
test_labels_seeded_from_the_store_on_restart = met.test_labels_seeded_from_the_store_on_restart
test_every_metric_the_dashboard_queries_is_exported = met.test_every_metric_the_dashboard_queries_is_exported
test_background_scheduler_starts_and_stops_with_the_server = (
    mon.test_background_scheduler_starts_and_stops_with_the_server
)
test_monitors_file_from_the_setting = mon.test_monitors_file_from_the_setting
test_otlp_conventions_feed_the_same_metrics = met.test_otlp_conventions_feed_the_same_metrics
test_api_keys_see_only_their_project = met.test_api_keys_see_only_their_project


def test_monitor_state_lives_in_the_servers_data_dir(tmp_path: Path) -> None:
    # The ClickHouse store has no local file: the monitors' SQLite goes next to the ingest log, as on DuckDB
    # (where `spanscope monitors history --data-dir` finds it offline).
    with (
        ChdbServerThread(tmp_path / "d", monitors=MonitorsConfig(interval=0)) as srv,
        httpx.Client(base_url=srv.url) as c,
    ):
        assert c.post("/api/v1/monitors", json={"name": "m", "rule": "count() > 0 over 1h"}).status_code == 201
    assert (tmp_path / "d" / FILENAME).is_file()
