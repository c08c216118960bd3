from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spanscope.server import ServerThread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    """A real spanscope server on a loopback port with its own DuckDB file."""
    with ServerThread(tmp_path / "data") as srv:
        yield srv
