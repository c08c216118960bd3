"""The SDK drop-report test again with the server on ClickHouse in-process (``--store chdb://``): same test
body (including the restart on the same store), same expected results."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from spanscope.server import ServerThread
from tests.integration import test_sdk_drops as drops
from tests.unit.store.engines import drop_database, engine_url

pytest.importorskip("chdb")


@pytest.fixture(autouse=True)
def on_chdb(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    url = engine_url("chdb")
    monkeypatch.setattr(drops, "ServerThread", functools.partial(ServerThread, store_url=url))
    yield
    drop_database(url)


test_drops_are_summed_per_project_and_kept = drops.test_drops_are_summed_per_project_and_kept
