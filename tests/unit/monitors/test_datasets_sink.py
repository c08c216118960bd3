"""The dataset sink: creates the dataset once, adds the offending traces, falls back to recording ids."""

from __future__ import annotations

from typing import Any

from spanscope.monitors.datasets import DEFAULT_MAPPING, record_only_sink, store_dataset_sink


class Exists(Exception):
    status_code = 409


class FakeStore:
    def __init__(self) -> None:
        self.datasets: set[tuple[str, str]] = set()
        self.calls: list[tuple[Any, ...]] = []

    def create_dataset(self, project: str, name: str, description: str | None, created_by: str | None) -> dict:
        if (project, name) in self.datasets:
            raise Exists(name)
        self.datasets.add((project, name))
        return {}

    def add_dataset_records_from_traces(self, project: str, name: str, flt: str, mapping: dict, **kw: Any) -> dict:
        self.calls.append((project, name, flt, mapping, kw))
        return {"added": flt.count("'") // 2, "duplicates": 0, "version": len(self.calls)}


def test_adds_offending_traces_creating_the_dataset_once() -> None:
    store = FakeStore()
    event = {"monitor": "q", "rule": "avg(tag.q) < 1 over 1h"}
    ids = ["a" * 32, "b" * 32]
    first = store_dataset_sink(store, "p", "regressions", ids, event)
    second = store_dataset_sink(store, "p", "regressions", ids[:1], {**event, "dataset_mapping": {"q": "tag.q"}})
    assert (first["status"], first["added"], first["version"]) == ("added", 2, 1)
    assert (second["added"], second["version"]) == (1, 2)
    (_, _, flt, mapping, kw), (_, _, _, mapping2, _) = store.calls
    assert flt == f"trace.id IN ('{'a' * 32}', '{'b' * 32}')" and mapping == DEFAULT_MAPPING
    assert kw == {"dedupe": True, "max_traces": 2, "by": "monitor:q"} and mapping2 == {"q": "tag.q"}
    assert store_dataset_sink(store, "p", "regressions", [], event)["status"] == "empty"


def test_stores_without_datasets_keep_the_ids_in_the_event() -> None:
    assert store_dataset_sink(object(), "p", "d", ["a" * 32], {})["status"] == "recorded"
    assert record_only_sink(None, "p", "d", ["x", "y"], {}) == {
        "name": "d",
        "status": "recorded",
        "added": 0,
        "trace_ids": 2,
    }
