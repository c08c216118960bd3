"""instrument()/uninstrument() bookkeeping: unknown names, missing libraries, library layouts we don't know."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from spanscope.sdk import instrument as registry
from spanscope.sdk.instrument import instrument, instrumented, uninstrument
from spanscope.sdk.instrument.patching import Switch


class Target:
    def create(self) -> str:
        return "original"


def targets(switch: Switch) -> list[tuple[type, str, Any]]:
    """A fake integration: patches Target.create, then finds a layout it doesn't know."""

    def make(original: Any) -> Any:
        return lambda self: "wrapped"

    return [(Target, "create", make), (Target, "no_such_method", make)]


def test_unknown_name() -> None:
    with pytest.raises(ValueError, match="can't instrument 'cohere'; expected one of 'openai', 'anthropic'"):
        instrument("cohere")
    with pytest.raises(ValueError):
        uninstrument("cohere")
    assert uninstrument("openai") is False  # known but not instrumented


def test_missing_library(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(registry.INTEGRATIONS, "openai", (__name__, "spanscope_no_such_package"))
    with caplog.at_level(logging.WARNING, logger="spanscope"):
        assert instrument("openai") is False
    assert "can't instrument 'openai'" in caplog.text
    assert instrumented() == []


def test_unknown_layout_leaves_the_library_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.INTEGRATIONS, "openai", (__name__, "logging"))
    with pytest.raises(AttributeError):  # under the test suite internal errors are raised
        instrument("openai")
    assert Target().create() == "original"

    monkeypatch.setenv("SPANSCOPE_RAISE_INTERNAL_ERRORS", "0")  # production: a warning and False
    assert instrument("openai") is False
    assert Target().create() == "original"
    assert "create" in Target.__dict__ and instrumented() == []
