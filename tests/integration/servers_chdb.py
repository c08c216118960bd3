"""Re-running server tests on ClickHouse in-process (chDB): a :class:`ServerThread` whose store is chDB.

Test modules that start their own servers (``ServerThread(tmp_path / "d", …)``) run unchanged on chDB when
their ``ServerThread`` is swapped for :class:`ChdbServerThread` (:func:`on_chdb`, from a fixture). Each data dir
gets its own chDB database, so a server restarted on the same dir finds its data again; the databases are
dropped when the test ends.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from spanscope.query.dialect_clickhouse import ClickHouseDialect
from spanscope.server import ServerThread
from tests.unit.store.engines import drop_database, engine_url


class ChdbServerThread(ServerThread):
    """A :class:`ServerThread` on a fresh chDB database per data dir (the same one for a restart)."""

    urls: dict[Path, str] = {}

    def __init__(self, data_dir: str | Path, *args: Any, store_url: str | None = None, **kwargs: Any) -> None:
        key = Path(data_dir).resolve()
        url = store_url or self.urls.get(key)
        if url is None:
            url = self.urls[key] = str(engine_url("chdb"))
        super().__init__(data_dir, *args, store_url=url, **kwargs)

    @classmethod
    def drop_all(cls) -> None:
        for url in cls.urls.values():
            drop_database(url)
        cls.urls.clear()


def on_chdb(monkeypatch: pytest.MonkeyPatch, *modules: ModuleType) -> Iterator[None]:
    """For a fixture: the servers that ``modules`` start run on chDB until the test ends, then their
    databases are dropped (``yield from on_chdb(monkeypatch, test_monitors)``)."""
    pytest.importorskip("chdb")
    for module in modules:
        monkeypatch.setattr(module, "ServerThread", ChdbServerThread)
    yield
    ChdbServerThread.drop_all()


_JSON_TEXT = re.compile(r"json_extract_string\((\w+), '/([^']*)'\)|\?")


def duckdb_sql_on_clickhouse(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The few DuckDB-only spellings that tests use to check the store (``json_extract_string(col, '/key')``)
    in ClickHouse's, with the keys bound in order among the query's own parameters."""
    dialect = ClickHouseDialect()
    own = iter(params)
    bound: list[Any] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "?":
            bound.append(next(own))
            return "?"
        key = m.group(2).replace("~1", "/").replace("~0", "~")
        frag = dialect.json_text(m.group(1), (key,))
        bound.extend(frag.params)
        return frag.text

    return _JSON_TEXT.sub(sub, sql), bound


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """The ``server`` fixture of ``tests/conftest.py`` on chDB: import it into a test module that re-runs
    DuckDB test bodies (``from tests.integration.servers_chdb import server``)."""
    pytest.importorskip("chdb")
    url = engine_url("chdb")
    with ServerThread(tmp_path / "data", store_url=url) as srv:
        yield srv
    drop_database(url)
