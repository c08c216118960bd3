"""Retention (``--retention-days``): old rows go away on both engines, recent ones stay, per project."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store import open_store
from spanscope.store.retention import (
    CLICKHOUSE_TIME,
    NS_PER_DAY,
    RetentionError,
    RetentionPolicy,
    RetentionService,
    parse_policy,
    ttl_clause,
)
from tests.helpers import sid, tid
from tests.unit.store.engines import drop_database, engine_url

NOW = time.time_ns()
POLICY = "30,audit=365,keep=0"
# (project, trace number, age in days, kept under POLICY)
TRACES = [
    ("p", 1, 100, False),
    ("p", 2, 1, True),
    ("audit", 3, 100, True),
    ("audit", 4, 400, False),
    ("keep", 5, 1000, True),
]


@pytest.mark.parametrize(
    ("spec", "default", "projects"),
    [
        (None, None, {}),
        ("30", 30, {}),
        ("30,audit=365, scratch=7", 30, {"audit": 365, "scratch": 7}),
        (["30", "audit=365"], 30, {"audit": 365}),
        (["scratch=7"], None, {"scratch": 7}),
        ("30,60", 60, {}),  # later items win
        ("team=a=5", None, {"team=a": 5}),  # the last '=' separates the days
        ("0", 0, {}),
    ],
)
def test_parse_policy(spec: Any, default: int | None, projects: dict[str, int]) -> None:
    policy = parse_policy(spec)
    assert (policy.default, policy.projects) == (default, projects)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("thirty", "retention item 'thirty': expected a whole number of days >= 0"),
        ("-1", "retention item '-1': expected a whole number of days >= 0"),
        ("audit=x", "retention item 'audit=x': expected a whole number of days"),
        ("=5", "retention item '=5': expected PROJECT=DAYS with a project name"),
    ],
)
def test_parse_policy_errors(spec: str, message: str) -> None:
    with pytest.raises(RetentionError) as exc:
        parse_policy(spec)
    assert str(exc.value).startswith(message)


def test_rules_and_ttl_clause() -> None:
    policy = parse_policy(POLICY)
    assert policy.days_for("p") == 30 and policy.days_for("audit") == 365 and policy.days_for("keep") is None
    assert policy.spec() == "30,audit=365,keep=0"
    assert not RetentionPolicy() and not parse_policy("0,audit=0") and parse_policy("audit=1")
    at = "toDateTime(intDiv(time_ns, 1000000000))"
    assert ttl_clause("time_ns", policy) == (
        f"{at} + INTERVAL 365 DAY DELETE WHERE project = 'audit', "
        f"{at} + INTERVAL 30 DAY DELETE WHERE project NOT IN ('audit', 'keep')"
    )
    assert ttl_clause("time_ns", parse_policy("7")) == f"{at} + INTERVAL 7 DAY DELETE"
    assert ttl_clause("time_ns", RetentionPolicy()) == ""
    # DDL takes no parameters: a project name is quoted so that nothing in it ends the literal.
    assert "project = 'it\\'s\\\\'" in ttl_clause("time_ns", parse_policy("it's\\=3"))


# ---------------------------------------------------------------------------- both engines
@pytest.fixture(params=["duckdb", "chdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    url = engine_url(request.param)
    s = open_store(str(tmp_path / request.param), url)
    s.kind = request.param  # type: ignore[attr-defined]
    yield s
    s.close()
    drop_database(url)


def _fill(store: Any) -> None:
    for project, n, age, _ in TRACES:
        start = NOW - age * NS_PER_DAY
        root = {"trace_id": tid(n), "span_id": sid(n * 10), "name": "turn", "start_time_ns": start}
        child = {**root, "span_id": sid(n * 10 + 1), "parent_span_id": sid(n * 10), "name": "llm"}
        store.write(
            project,
            IngestBatch(
                spans=[msgspec.convert({**s, "end_time_ns": s["start_time_ns"] + 10**6}, Span) for s in (root, child)],
                traces=[TraceInfo(trace_id=tid(n), tags={"age": age})],
                findings=[Finding(trace_id=tid(n), name="ok", value=True, time_ns=start, finding_id=f"f{n}")],
            ),
        )


def _expire(store: Any, policy: RetentionPolicy) -> RetentionService:
    service = RetentionService(store, policy, interval=0)
    if store.kind == "duckdb":
        service.enforce()  # what the server's retention thread runs, through the store's one writer
        return service
    store.barrier()  # the writes are in (ClickHouse would drop expired rows on insert already)
    service.start()  # TTL rules; then make ClickHouse apply them now instead of in a later merge
    if not policy:
        return service
    ex = store.engine._ex
    for table in CLICKHOUSE_TIME:
        if ex.rows(f"EXISTS TABLE {table}_data")[0][0]:
            ex.command(f"ALTER TABLE {table}_data MATERIALIZE TTL SETTINGS mutations_sync = 2")
            ex.command(f"OPTIMIZE TABLE {table}_data FINAL")
    return service


def _rows(store: Any, table: str, project: str, n: int) -> int:
    return store.query_rows(f"SELECT count(*) FROM {table} WHERE project = ? AND trace_id = ?", [project, tid(n)])[0][0]


def test_old_data_goes_recent_stays(store: Any) -> None:
    _fill(store)
    _expire(store, parse_policy(POLICY))
    for project, n, age, kept in TRACES:
        trace = store.get_trace(project, tid(n))
        assert (trace is not None) == kept, (project, age)
        assert _rows(store, "spans", project, n) == (2 if kept else 0), (project, age)
        assert _rows(store, "findings", project, n) == (1 if kept else 0), (project, age)
        if kept:
            assert trace is not None and trace.tags == {"age": age} and len(trace.spans) == 2
    for project in ("p", "audit", "keep"):
        found = {t.trace_id for t in store.search_traces(project).traces}
        assert found == {tid(n) for p, n, _, kept in TRACES if p == project and kept}


def test_empty_policy_deletes_nothing(store: Any) -> None:
    _fill(store)
    _expire(store, parse_policy(None))
    for project, n, _, _ in TRACES:
        assert store.get_trace(project, tid(n)) is not None


def test_clickhouse_ttl_changes_only_when_the_policy_does(tmp_path: Path) -> None:
    url = engine_url("chdb")
    store = open_store(str(tmp_path), url)
    try:
        ex = store.engine._ex

        def apply(spec: str | None) -> list[str]:
            service = RetentionService(store, parse_policy(spec))
            service.start()
            return sorted(service.changed)

        def ttl() -> str:
            return ex.rows(
                "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'spans_data'"
            )[0][0]

        assert apply(None) == []  # nothing was set, nothing to remove
        # Every table with its rows' time, whichever exist (sdk_reports_data comes with a later migration).
        tables = sorted(f"{t}_data" for t in CLICKHOUSE_TIME if ex.rows(f"EXISTS TABLE {t}_data")[0][0])
        assert {"events_data", "findings_data", "spans_data", "trace_info_data", "traces_data"} <= set(tables)
        assert apply("30") == tables
        assert "toIntervalDay(30)" in ttl()
        assert apply("30") == []  # unchanged: no ALTER (it would rewrite every part)
        # A migration that rebuilds a table (new UUID, no TTL) gets the rules again.
        ex.command("CREATE TABLE spans_data_rebuilt AS spans_data")
        ex.command("ALTER TABLE spans_data_rebuilt REMOVE TTL")
        ex.command("EXCHANGE TABLES spans_data AND spans_data_rebuilt")
        ex.command("DROP TABLE spans_data_rebuilt SYNC")
        assert "TTL" not in ttl()
        assert apply("30") == ["spans_data"] and "toIntervalDay(30)" in ttl()
        assert apply("30,audit=365") == tables
        assert "WHERE project = 'audit'" in ttl()
        assert apply(None) == tables  # retention turned off: the rules go
        assert "TTL" not in ttl()
    finally:
        store.close()
        drop_database(url)
