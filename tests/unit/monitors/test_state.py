"""Definitions, state and history in SQLite."""

from __future__ import annotations

from pathlib import Path

from spanscope.monitors import spec_from_dict
from spanscope.monitors.state import MonitorDB


def spec(name: str, project: str = "p", rule: str = "count() > 1 over 1h"):  # noqa: ANN201
    return spec_from_dict({"name": name, "project": project, "rule": rule})


def test_definitions_file_sync_and_sources(tmp_path: Path) -> None:
    db = MonitorDB(tmp_path / "m.sqlite")
    db.put(spec("api-one"), "api")
    db.sync_file([spec("a"), spec("b", "q")])
    assert [(s.project, s.name, src) for s, src in db.specs()] == [
        ("p", "a", "file"), ("p", "api-one", "api"), ("q", "b", "file"),
    ]  # fmt: skip
    db.sync_file([spec("a", rule="count() > 5 over 1h")])  # b removed from the file, a changed
    assert [(s.name, s.rule) for s, _ in db.specs()] == [
        ("a", "count() > 5 over 1h"),
        ("api-one", "count() > 1 over 1h"),
    ]
    assert [s.name for s, _ in db.specs("q")] == []
    assert db.delete("p", "api-one") and not db.delete("p", "api-one")


def test_state_and_history_newest_first(tmp_path: Path) -> None:
    db = MonitorDB(tmp_path / "m.sqlite")
    assert db.state("p", "a") is None
    db.set_state("p", "a", state="firing", value=1.5, evaluated_at_ns=10, since_ns=10, no_data=0)
    db.set_state("p", "a", value=2.5, evaluated_at_ns=20)
    st = db.state("p", "a")
    assert st is not None and (st["state"], st["value"], st["since_ns"], st["evaluated_at_ns"]) == (
        "firing",
        2.5,
        10,
        20,
    )
    first = db.add_event("p", "a", "firing", 10, {"value": 1.5, "offending_trace_ids": ["x"]})
    db.add_event("p", "a", "resolved", 30, {"value": 0.1})
    db.update_event(first, {"value": 1.5, "offending_trace_ids": ["x"], "notifications": [{"notifier": "log"}]})
    events = db.history("p", "a")
    assert [e["state"] for e in events] == ["resolved", "firing"]
    assert events[1]["notifications"] == [{"notifier": "log"}] and events[1]["monitor"] == "a"
    assert db.history("p", "a", limit=1)[0]["state"] == "resolved"
    # A second handle on the same file (the CLI while the server runs) sees the same.
    assert MonitorDB(tmp_path / "m.sqlite").history(None)[0]["at_ns"] == 30
