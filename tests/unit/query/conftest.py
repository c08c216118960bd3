"""Fixtures for the query tests: an in-memory DuckDB with the real schema and a known dataset."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from tests.unit.query.dataset import load


@pytest.fixture(scope="session")
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    load(con)
    yield con
    con.close()
