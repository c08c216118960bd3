from __future__ import annotations

from collections.abc import Iterator

import pytest

from spanscope.sdk import config, guard, shutdown
from spanscope.sdk.runtime import RUNTIME, set_clock, set_id_sources
from spanscope.testing import CaptureExporter, capture


@pytest.fixture(autouse=True)
def _clean_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends with an unconfigured SDK, the real clock and random ids."""
    for name in (
        "ENDPOINT",
        "API_KEY",
        "PROJECT",
        "DISABLED",
        "BATCH_SIZE",
        "FLUSH_INTERVAL",
        "MAX_QUEUE_SIZE",
        "EXIT_TIMEOUT",
        "REQUEST_TIMEOUT",
        "RAISE_INTERNAL_ERRORS",
    ):
        monkeypatch.delenv(f"SPANSCOPE_{name}", raising=False)
    yield
    shutdown(timeout=5)
    RUNTIME.processor = None
    config.install(None, None)
    config._State.last = None
    set_clock(None)
    set_id_sources()
    guard._pending.clear()


@pytest.fixture
def cap() -> Iterator[CaptureExporter]:
    """The SDK sending to memory, with deterministic ids and a clock advancing 1 ms per read."""
    with capture() as exporter:
        yield exporter
