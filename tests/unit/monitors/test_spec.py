"""Monitor declarations and monitors files (YAML and TOML)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.monitors import MonitorSpecError, load_file, spec_from_dict

YAML = """\
defaults:
  project: demo
  webhook: http://127.0.0.1:9/hook
monitors:
  - name: quality-drop
    rule: avg(tag.quality_score) where trace.name = 'chatbot.turn' over 1d drops > 10% vs previous 7d
    every: 15m
    min_samples: 20
    dataset: quality-regressions
  - name: slow-llm
    project: other
    rule: p95(span.duration_ms) where span.name = 'llm.generate' > 2000 over 1h
"""

TOML = """\
[defaults]
project = "demo"

[[monitors]]
name = "tool-errors"
rule = "count() where span.status = 'ERROR' AND span.kind = 'tool' > 20 over 10m"
every = 60
"""


def test_yaml_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(YAML)
    a, b = load_file(path)
    assert (a.name, a.project, a.webhook, a.dataset, a.min_samples) == (
        "quality-drop", "demo", "http://127.0.0.1:9/hook", "quality-regressions", 20,
    )  # fmt: skip
    assert a.every_s(60) == 900
    assert (b.project, b.every_s(60)) == ("other", 60)


def test_toml(tmp_path: Path) -> None:
    path = tmp_path / "monitors.toml"
    path.write_text(TOML)
    (spec,) = load_file(path)
    assert (spec.name, spec.project, spec.every_s(1)) == ("tool-errors", "demo", 60)
    assert spec.parsed().aggregate.func == "count"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("monitors:\n  - name: x\n    rule: avg(tag.q) > 1 over 1q\n", "monitors[0] (x): rule: expected a condition"),
        ("monitors:\n  - name: x\n", "monitors[0] (x): Object missing required field `rule`"),
        ("monitors:\n  - name: x\n    rule: count() > 1 over 1h\n    colour: red\n", "unknown field `colour`"),
        ("monitors:\n  - name: bad name\n    rule: count() > 1 over 1h\n", "monitors[0] (bad name)"),
        ("monitors:\n  - name: test\n    rule: count() > 1 over 1h\n", "'test' is reserved"),
        ("monitors:\n  - name: x\n    rule: count() > 1 over 1h\n    webhook: ftp://x\n", "webhook: expected an http"),
        ("monitors:\n  - name: x\n    rule: count() > 1 over 1h\n    every: soon\n", "every: invalid duration"),
        (
            "monitors:\n  - {name: x, rule: count() > 1 over 1h}\n  - {name: x, rule: count() > 2 over 1h}\n",
            "declared twice",
        ),
        ("monitors: 3\n", "expected a 'monitors' list"),
        ("monitors: [\n", "invalid YAML"),
    ],
)
def test_file_errors_name_the_entry_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(text)
    with pytest.raises(MonitorSpecError) as info:
        load_file(path)
    assert message in str(info.value)
    assert str(info.value).startswith("monitors.yaml")


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    with pytest.raises(MonitorSpecError, match="not found"):
        load_file(tmp_path / "nope.yaml")
    (tmp_path / "m.ini").write_text("")
    with pytest.raises(MonitorSpecError, match=r"\.yaml, \.yml, \.toml"):
        load_file(tmp_path / "m.ini")


def test_rule_error_keeps_its_column() -> None:
    with pytest.raises(MonitorSpecError) as info:
        spec_from_dict({"name": "x", "rule": "count() where span.nme = 1 > 1 over 1h"})
    assert info.value.column == 15
