"""The query tests' known dataset (``dataset.py``) loaded into ClickHouse (chDB, one fresh database)."""

from __future__ import annotations

import json
from typing import Any

from spanscope.store.clickhouse import ClickHouseStore
from spanscope.store.clickhouse.schema import hot_values
from tests.unit.query.dataset import OTHER_PROJECT_TRACE, PROJECT, TRACES, ns
from tests.unit.store.engines import engine_url

_VERSION = 1


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _rows(project: str, trace: dict[str, Any]) -> dict[str, list[tuple[Any, ...]]]:
    start = ns(trace["start"])
    root = trace["spans"][0]
    out: dict[str, list[tuple[Any, ...]]] = {"traces": [], "spans": [], "findings": []}
    out["traces"].append(
        (project, trace["trace_id"], root["span_id"], trace["name"], start, start + int(trace["duration_ms"] * 1e6),
         trace["duration_ms"], trace["status"], len(trace["spans"]), _dump(trace["tags"]), _dump(trace["metadata"]),
         trace["session_id"], trace["user_id"], _VERSION)
    )  # fmt: skip
    for s in trace["spans"]:
        span_start = start + s["offset_ms"] * 1_000_000
        out["spans"].append(
            (project, trace["trace_id"], s["span_id"], s["parent_span_id"], s["name"], s["kind"], span_start,
             span_start + int(s["duration_ms"] * 1e6), s["duration_ms"], s["status"], None, _dump(s["attributes"]),
             _dump(s["inputs"]) or "", _dump(s["outputs"]) or "", "[]", *hot_values(s["attributes"]), _VERSION)
        )  # fmt: skip
    for i, f in enumerate(trace["findings"]):
        out["findings"].append(
            (project, trace["trace_id"], f"{trace['trace_id']}-{i}", f["span_id"], f["name"], json.dumps(f["value"]),
             "code", None, f["time_ns"], None, _VERSION)
        )  # fmt: skip
    return out


def load_clickhouse() -> ClickHouseStore:
    """A ClickHouse store (chDB) holding the dataset, written straight into its tables as DuckDB's is."""
    from spanscope.store.clickhouse.write import _columns

    url = str(engine_url("chdb"))
    store = ClickHouseStore.from_url(url)
    store.url = url  # type: ignore[attr-defined]  # for drop_database at teardown
    for project, trace in [*((PROJECT, t) for t in TRACES), ("q", OTHER_PROJECT_TRACE)]:
        for table, rows in _rows(project, trace).items():
            if rows:
                store._ex.insert(f"{table}_data", _columns(table), rows)
    return store
