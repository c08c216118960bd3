from __future__ import annotations

from pathlib import Path

from spanscope.settings import SETTINGS, render_markdown, resolve

DOC = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_doc_is_generated_from_the_table() -> None:
    assert DOC.read_text() == render_markdown(), "regenerate it: make docs"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    for s in SETTINGS:
        assert f"`{s.env}`" in text, f"{s.env} missing from docs/settings.md"
        assert s.env == "SPANSCOPE_" + s.name.upper()


def test_precedence_argument_env_default(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("SPANSCOPE_PROJECT", raising=False)
    assert resolve("project") == "default"
    monkeypatch.setenv("SPANSCOPE_PROJECT", "from-env")
    assert resolve("project") == "from-env"
    assert resolve("project", "explicit") == "explicit"
    monkeypatch.setenv("SPANSCOPE_PORT", "not-a-number")
    assert resolve("port") == 8417
    monkeypatch.setenv("SPANSCOPE_DISABLED", "true")
    assert resolve("disabled") is True
