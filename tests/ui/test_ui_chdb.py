"""The web UI in a real browser against a server on ClickHouse in-process (``--store chdb://``).

The main browser walk of ``test_ui.py`` (traces list, filter, open a trace, its tree and spans, feedback, then
search by it) again, unchanged, over the simulated chatbot stored in chDB.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from spanscope.server import ServerThread
from tests.ui import test_ui
from tests.ui.conftest import DEMO_PROJECT
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")


@pytest.fixture(scope="module")
def chdb_ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server on chDB holding the simulated chatbot (project ``demo``), as ``ui_server`` holds it on DuckDB."""
    import spanscope
    from spanscope.cli.demo_app import simulate

    url = engine_url("chdb")
    with ServerThread(tmp_path_factory.mktemp("ui-chdb"), store_url=url) as srv:
        spanscope.configure(endpoint=srv.url, project=DEMO_PROJECT)
        try:
            simulate(60, seed=7, start_ns=time.time_ns() - (7 * 86400 + 3600) * 10**9)
            assert spanscope.flush(timeout=30)
        finally:
            spanscope.shutdown()
        yield srv
    drop_database(url)


def test_filter_open_trace_tree_chat_feedback_then_search_on_chdb(
    chdb_ui_server: ServerThread, page: Any, tmp_path: Path
) -> None:
    # Screenshots to a folder of its own: the DuckDB run's (and docs/screenshots) stay as they are.
    test_ui.test_filter_open_trace_tree_chat_feedback_then_search(chdb_ui_server, page, tmp_path)
