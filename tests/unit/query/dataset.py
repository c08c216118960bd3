"""A small, known dataset (8 traces in project "p", one stray trace in project "q") and its loader."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import duckdb

from spanscope.store.schema import HOT_SELECT, MIGRATIONS

PROJECT = "p"


def ns(iso: str) -> int:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000_000


def span(
    span_id: str,
    name: str,
    kind: str,
    duration_ms: float,
    *,
    parent: str | None = None,
    status: str = "OK",
    offset_ms: int = 0,
    attributes: dict[str, Any] | None = None,
    inputs: Any = None,
    outputs: Any = None,
) -> dict[str, Any]:
    return {
        "span_id": span_id,
        "parent_span_id": parent,
        "name": name,
        "kind": kind,
        "duration_ms": duration_ms,
        "status": status,
        "offset_ms": offset_ms,
        "attributes": attributes or {},
        "inputs": inputs,
        "outputs": outputs,
    }


def finding(name: str, value: Any, *, span_id: str | None = None, time_ns: int = 1) -> dict[str, Any]:
    return {"name": name, "value": value, "span_id": span_id, "time_ns": time_ns}


CHAT_INPUTS = {
    "messages": [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "I want a refund"},
    ]
}
CHAT_INPUTS_2 = {
    "messages": [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi"},
        {"role": "user", "content": "REFUND please"},
    ]
}

# Eight traces in project "p". Comments say what each one is there to test.
TRACES: list[dict[str, Any]] = [
    {  # tags of every JSON type, backtick keys, a key with a quote; two LLM-ish spans
        "trace_id": "t1",
        "name": "chat",
        "status": "OK",
        "start": "2023-06-30T23:00:00",
        "duration_ms": 1200,
        "tags": {
            "quality_score": 0.9,
            "env": "prod",
            "flag": True,
            "quality score": "high",
            'a"b': 1,
            "x": 5,
        },
        "metadata": {"user_tier": "gold", "retries": 2},
        "session_id": "s1",
        "user_id": "u1",
        "spans": [
            span(
                "1a",
                "chat",
                "chain",
                1200,
                attributes={"usage.total_tokens": 150, "gen_ai.request.model": "gpt-4o"},
                inputs=CHAT_INPUTS,
                outputs={"choices": [{"message": {"content": "Sure, refund issued"}}]},
            ),
            span(
                "1b",
                "llm.call",
                "llm",
                800,
                parent="1a",
                offset_ms=100,
                attributes={"usage.total_tokens": 120, "gen_ai.request.model": "gpt-4o-mini"},
            ),
        ],
        "findings": [
            finding("correctness", 0.8),
            finding("relevance", 1, span_id="1b"),
            finding("correct", True),
        ],
    },
    {  # an error trace with a numeric-string tag and a non-numeric tag x
        "trace_id": "t2",
        "name": "chat",
        "status": "ERROR",
        "start": "2023-07-01T06:00:00",
        "duration_ms": 300,
        "tags": {"quality_score": "0.4", "env": "dev", "x": "abc"},
        "metadata": {},
        "session_id": "s1",
        "user_id": "u2",
        "spans": [
            span("2a", "chat", "chain", 300, status="ERROR"),
            span(
                "2b",
                "db.query",
                "db",
                250,
                parent="2a",
                status="ERROR",
                offset_ms=10,
                attributes={"db.statement": "select 1"},
            ),
        ],
        "findings": [finding("correctness", 0.2), finding("correct", False)],
    },
    {  # the span-rule trap: a fast db.query span and a different slow span
        "trace_id": "t3",
        "name": "retrieve",
        "status": "OK",
        "start": "2023-07-01T12:00:00",
        "duration_ms": 2000,
        "tags": {"x": 10, "env": "prod"},
        "metadata": None,
        "session_id": "s3",
        "user_id": "u3",
        "spans": [
            span("3a", "retrieve", "agent", 2000),
            span("3b", "db.query", "db", 100, parent="3a", offset_ms=10),
            span("3c", "slow.thing", "tool", 900, parent="3a", offset_ms=200),
        ],
        "findings": [],
    },
    {  # one slow db.query span; findings only on spans
        "trace_id": "t4",
        "name": "retrieve",
        "status": "OK",
        "start": "2023-07-02",
        "duration_ms": 700,
        "tags": {"env": "staging"},
        "metadata": None,
        "session_id": None,
        "user_id": "u1",
        "spans": [
            span("4a", "retrieve", "agent", 700),
            span("4b", "db.query", "db", 600, parent="4a", offset_ms=50),
        ],
        "findings": [
            finding("correctness", 0.95, span_id="4b", time_ns=5),
            finding("correctness", 0.1, span_id="4a", time_ns=9),
        ],
    },
    {  # no name, no tags, UNSET; inputs that are a bare JSON string
        "trace_id": "t5",
        "name": None,
        "status": "UNSET",
        "start": "2023-07-03",
        "duration_ms": 50,
        "tags": None,
        "metadata": {"customer": "acme"},
        "session_id": None,
        "user_id": None,
        "spans": [span("5a", "orphan", "other", 50, status="UNSET", inputs="just a string")],
        "findings": [],
    },
    {  # numeric-string attribute, false flag, JSON null tag; three-message chat
        "trace_id": "t6",
        "name": "chat",
        "status": "OK",
        "start": "2023-07-04",
        "duration_ms": 100,
        "tags": {"quality_score": 0.5, "flag": False, "n": None},
        "metadata": {"retries": 0},
        "session_id": "s2",
        "user_id": "u1",
        "spans": [
            span(
                "6a",
                "chat",
                "llm",
                100,
                attributes={"usage.total_tokens": "200", "user": {"tier": "x"}},
                inputs=CHAT_INPUTS_2,
                outputs={"choices": [{"message": {"content": "no"}}]},
            ),
        ],
        "findings": [],
    },
    {  # keys with a backslash and a quote; a zone-offset start time; an erroring guardrail span
        "trace_id": "t7",
        "name": "embed",
        "status": "OK",
        "start": "2023-07-05T10:00:00+02:00",
        "duration_ms": 10,
        "tags": {"weird\\key": "bs", 'q"uote': "yes"},
        "metadata": None,
        "session_id": None,
        "user_id": None,
        "spans": [
            span("7a", "embed", "embedding", 10, attributes={"gen_ai.request.model": "text-embedding-3"}),
            span("7b", "guard", "guardrail", 2, parent="7a", status="ERROR", offset_ms=1),
        ],
        "findings": [],
    },
    {  # a float tag, a string finding, a long erroring http child
        "trace_id": "t8",
        "name": "tool-run",
        "status": "OK",
        "start": "2023-07-06",
        "duration_ms": 5000,
        "tags": {"x": 1.5},
        "metadata": None,
        "session_id": None,
        "user_id": None,
        "spans": [
            span("8a", "tool-run", "tool", 5000, attributes={"usage.total_tokens": 1000}),
            span("8b", "http.get", "http", 4000, parent="8a", status="ERROR", offset_ms=100),
        ],
        "findings": [finding("correctness", "good")],
    },
]

# The same trace id in another project: its rows must never leak into project "p".
OTHER_PROJECT_TRACE: dict[str, Any] = {
    "trace_id": "t5",
    "name": "chat",
    "status": "ERROR",
    "start": "2023-07-03",
    "duration_ms": 9999,
    "tags": {"env": "prod"},
    "metadata": None,
    "session_id": None,
    "user_id": None,
    "spans": [span("9a", "db.query", "db", 9999, status="ERROR")],
    "findings": [finding("correctness", 1.0)],
}

ALL_IDS = frozenset(t["trace_id"] for t in TRACES)


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _insert(con: duckdb.DuckDBPyConnection, project: str, trace: dict[str, Any]) -> None:
    start = ns(trace["start"])
    root = trace["spans"][0]
    con.execute(
        "INSERT INTO traces BY NAME SELECT ? AS project, ? AS trace_id, ? AS root_span_id, ? AS name, "
        "? AS start_time_ns, ? AS end_time_ns, ? AS duration_ms, ? AS status, ? AS span_count, ? AS tags, "
        "? AS metadata, ? AS session_id, ? AS user_id",
        [
            project,
            trace["trace_id"],
            root["span_id"],
            trace["name"],
            start,
            start + int(trace["duration_ms"] * 1e6),
            trace["duration_ms"],
            trace["status"],
            len(trace["spans"]),
            _dump(trace["tags"]),
            _dump(trace["metadata"]),
            trace["session_id"],
            trace["user_id"],
        ],
    )
    for s in trace["spans"]:
        span_start = start + s["offset_ms"] * 1_000_000
        con.execute(
            f"INSERT INTO spans BY NAME SELECT *, {HOT_SELECT} FROM (SELECT ? AS project, ? AS trace_id, "
            "? AS span_id, ? AS parent_span_id, ? AS name, ? AS kind, ? AS start_time_ns, ? AS end_time_ns, "
            "? AS duration_ms, ? AS status, ? AS status_message, ?::JSON AS attributes, ?::JSON AS inputs, "
            "?::JSON AS outputs, ?::JSON AS events)",
            [
                project,
                trace["trace_id"],
                s["span_id"],
                s["parent_span_id"],
                s["name"],
                s["kind"],
                span_start,
                span_start + int(s["duration_ms"] * 1e6),
                s["duration_ms"],
                s["status"],
                None,
                _dump(s["attributes"]),
                _dump(s["inputs"]),
                _dump(s["outputs"]),
                "[]",
            ],
        )
    for i, f in enumerate(trace["findings"]):
        con.execute(
            "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                project,
                f"{trace['trace_id']}-{i}",
                trace["trace_id"],
                f["span_id"],
                f["name"],
                json.dumps(f["value"]),
                "code",
                None,
                f["time_ns"],
                None,
            ],
        )


def load(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schema (migration 1) and insert the dataset."""
    for statement in (s for stmts in MIGRATIONS.values() for s in stmts):
        con.execute(statement)
    for trace in TRACES:
        _insert(con, PROJECT, trace)
    _insert(con, "q", OTHER_PROJECT_TRACE)
