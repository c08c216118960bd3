"""``spanscope cluster-ddl``: the schema as sharded, replicated tables behind ``Distributed`` ones.

The full form (``ON CLUSTER``, ``Replicated…`` engines) needs a cluster with a distributed DDL queue and Keeper,
which nothing here runs: it is checked by ClickHouse's parser and for its shape. The layout itself is rehearsed
on a real engine: a ClickHouse HTTP endpoint backed by chDB, configured (``remote_servers``, ``macros``) as a node
of a one-node cluster, gets the per-node statements with plain engines (``--per-node --no-replication``), and a
store over ``clickhouse://`` then writes through the ``Distributed`` tables and must answer as a single-node store
given the same data; retention and ``spanscope compact`` must reach the local tables.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

import msgspec
import pytest

from spanscope.analysis import engine as analysis
from spanscope.cli.main import main
from spanscope.ingest import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store.clickhouse import ClickHouseStore
from spanscope.store.clickhouse.cluster import SHARDED, cluster_ddl, local_name, storage_of
from spanscope.store.clickhouse.compact import closed_days, days, merge_closed_days
from spanscope.store.clickhouse.schema import MIGRATIONS
from spanscope.store.retention import RetentionPolicy, apply_clickhouse_ttl
from tests.helpers import make_span, sid, tid
from tests.unit.store.engines import CLUSTER, cluster_node_url, fresh_chdb_store

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")

DAY_MS = 86_400_000
FILTERS = (
    None,
    "tag.slow = true",
    "span.name = 'db.query' AND span.status = 'ERROR'",
    "span.inputs ILIKE '%refund order 1%'",
    "trace.duration_ms > 3000 AND tag.late = true",
    "ANY span(span.kind = 'llm' AND span.attributes.usage.total_tokens > 150)",
    "finding.helpful = false",
    "span.duration_ms >= p95",
    "COUNT span(span.kind = 'llm') = 1",
    "COUNT span(span.status = 'ERROR') = 0",
    "ALL span(span.duration_ms < 3500)",
    "ANY span(descendant(span.name = 'db.query'))",
    "ANY span(ancestor(span.name = 'chatbot.turn') AND span.status = 'ERROR')",
    "NOT ANY span(span.name = 'llm.generate' AND span.duration_ms > 340) AND tag.quality >= 0.3",
)


@pytest.fixture(scope="module")
def node() -> str:
    return cluster_node_url()


def _batch(day_offsets: tuple[int, ...] = (0, 1, 2)) -> IngestBatch:
    """Chatbot-like traces over past days: spans, tags, findings; some slow and failing."""
    now_ms = time.time_ns() // 1_000_000 - 1_700_000_000_000
    spans, infos, findings = [], [], []
    for i in range(60):
        day = day_offsets[i % len(day_offsets)]
        start = now_ms - (day + 1) * DAY_MS - 3_600_000 + i * 1000
        t = tid(1000 + i)
        slow = i % 7 == 0
        spans += [
            make_span(t, sid(1), "chatbot.turn", start_ms=start, dur_ms=900 + (3000 if slow else 0), status="OK"),
            make_span(t, sid(2), "llm.generate", parent=sid(1), start_ms=start + 10, dur_ms=300 + i, kind="llm",
                      attributes={"usage.total_tokens": 100 + i, "gen_ai.request.model": ["a", "b"][i % 2]},
                      inputs={"messages": [{"role": "user", "content": f"refund order {i}"}]}),
            make_span(t, sid(3), "db.query", parent=sid(1), start_ms=start + 400, dur_ms=20 + (i % 5),
                      status="ERROR" if i % 9 == 0 else "OK"),
        ]  # fmt: skip
        infos.append(
            TraceInfo(trace_id=t, tags={"quality": round((i % 10) / 10, 1), "slow": slow}, user_id=f"u{i % 4}")
        )
        findings.append(Finding(trace_id=t, name="helpful", value=i % 3 != 0, time_ns=i + 1, finding_id=f"f{i}"))
    return IngestBatch(spans=[msgspec.convert(s, Span) for s in spans], traces=infos, findings=findings)


def test_the_cluster_ddl_parses_and_shards_every_trace_table() -> None:
    with fresh_chdb_store() as schema:
        statements = cluster_ddl(schema._ex, "prod", "obs")
        for statement in statements:  # ClickHouse's own parser takes each (no cluster needed to parse)
            schema.query_rows(f"EXPLAIN AST {statement}")
        text = "\n".join(statements)
        kinds = {
            r[0]: r[1]
            for r in schema.query_rows("SELECT name, engine FROM system.tables WHERE database = currentDatabase()")
        }
    assert all(" ON CLUSTER `prod`" in s for s in statements[:-1]) and statements[-1].startswith("INSERT INTO `obs`")
    for table, key in SHARDED.items():
        local = local_name(table)
        assert re.search(
            rf"CREATE TABLE IF NOT EXISTS `obs`.`{local}` ON CLUSTER `prod` \(.*\) ENGINE = Replicated\w*MergeTree"
            rf"\('/clickhouse/tables/{{shard}}/obs/{local}', '{{replica}}'",
            text,
        ), local
        front = f"`obs`.`{table}` ON CLUSTER `prod` AS `obs`.`{local}`"
        assert f"{front} ENGINE = Distributed(`prod`, `obs`, `{local}`, {key})" in text
    # every other table is whole on every node; every view and materialized view is made; every migration recorded
    for name, engine in kinds.items():
        if engine.endswith("MergeTree") and name not in SHARDED:
            assert f"`obs`.`{name}` ON CLUSTER `prod` (" in text and f"'/clickhouse/tables/all/obs/{name}'" in text
        if engine in ("View", "MaterializedView"):
            assert f"VIEW IF NOT EXISTS `obs`.`{name}` ON CLUSTER" in text, name
    assert "TO `obs`.`trace_keys_local`" in text and "FROM `obs`.`traces_local` WHERE is_deleted = 0" in text
    assert all(f"('{mid}')" in statements[-1] for mid in MIGRATIONS)
    views = [s for s in statements if " VIEW " in s and "MATERIALIZED" not in s]
    order = [re.search(r"`obs`.`(\w+)`", v).group(1) for v in views]  # type: ignore[union-attr]
    assert order.index("findings") < order.index("findings_current")  # a view after the views it reads


def test_a_store_laid_out_for_a_cluster_answers_like_one_node(node: str, capsys: pytest.CaptureFixture[str]) -> None:
    database = f"c_{uuid.uuid4().hex[:10]}"
    assert main(["cluster-ddl", "--cluster", CLUSTER, "--database", database, "--per-node", "--no-replication",
                 "--apply", f"{node}/{database}"]) == 0  # fmt: skip
    assert "statements applied" in capsys.readouterr().out
    clustered = ClickHouseStore.from_url(f"{node}/{database}?distributed_foreground_insert=1")
    try:
        ex = clustered._ex
        assert clustered.migrations_applied() == sorted(MIGRATIONS)  # nothing for serve to run
        engines = dict(ex.rows("SELECT name, engine FROM system.tables WHERE database = currentDatabase()"))
        assert {engines[t] for t in SHARDED} == {"Distributed"} and engines["spans_local"] == "ReplacingMergeTree"
        batch = _batch()
        with fresh_chdb_store() as single:
            for store in (clustered, single):
                store.write("p", batch)
                store.write("p", IngestBatch(traces=[TraceInfo(trace_id=tid(1000), tags={"late": True})]))
            # the rows are in the local tables, through the Distributed ones; the materialized view filled its keys
            assert ex.rows("SELECT count() FROM spans_local") == [(180,)]
            assert ex.rows("SELECT count() FROM trace_keys_local FINAL") == [(60,)]
            for text in FILTERS:
                got = [r.trace_id for r in clustered.search_traces("p", text, max_results=100).traces]
                want = [r.trace_id for r in single.search_traces("p", text, max_results=100).traces]
                assert got == want and got, text
            for text in ("ANY span(span.kind = 'llm') AND span.name = 'db.query'", "span.status = 'ERROR'"):
                got = clustered.search_spans("p", text, max_results=200)["spans"]  # type: ignore[attr-defined]
                assert got == single.search_spans("p", text, max_results=200)["spans"] and got  # type: ignore[attr-defined]
            for i in (0, 7, 33):
                assert clustered.get_trace("p", tid(1000 + i)) == single.get_trace("p", tid(1000 + i))
            for by in (["span.name"], ["span.attributes.gen_ai.request.model"]):
                assert analysis.latency(clustered, "p", by=by) == analysis.latency(single, "p", by=by)
            assert analysis.latency(clustered, "p", "tag.slow = true") == analysis.latency(
                single, "p", "tag.slow = true"
            )
            cohorts = ("tag.quality < 0.5", "tag.quality >= 0.5")
            assert analysis.compare(clustered, "p", *cohorts) == analysis.compare(single, "p", *cohorts)

        # retention reaches the local tables; compact merges their closed days
        assert apply_clickhouse_ttl(clustered, RetentionPolicy(default=30))
        assert storage_of(ex, "spans_data").table == "spans_local"
        (create,) = ex.rows(
            "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 'spans_local'"
        )[0]
        assert "TTL toDateTime(intDiv(start_time_ns, 1000000000)) + toIntervalDay(30)" in create
        # the rules are recorded once for the cluster: a record made on another node (its local table has another
        # UUID) does not make this node set them again
        assert apply_clickhouse_ttl(clustered, RetentionPolicy(default=30)) == []
        record = ex.rows("SELECT argMax(ttl, _version) FROM spanscope_retention WHERE table_name = 'spans_local'")[0][0]
        other_node = "00000000-0000-0000-0000-000000000001 " + record.partition(" ")[2]
        ex.insert(
            "spanscope_retention", ("table_name", "ttl", "_version"), [("spans_local", other_node, time.time_ns())]
        )
        assert apply_clickhouse_ttl(clustered, RetentionPolicy(default=30)) == []
        assert apply_clickhouse_ttl(clustered, RetentionPolicy(default=40)) != []  # a new policy still goes out
        clustered.write("p", _batch(day_offsets=(1,)))  # a second part in a closed day
        closed = [d for d in closed_days(ex) if d.table == "spans_local"]
        assert closed and all(d.on_cluster == "" for d in closed)  # one node: no ON CLUSTER
        merge_closed_days(clustered)
        assert {d.parts for d in days(ex) if d.table in ("spans_local", "traces_local")} == {1}
        assert dt.date.today() not in {d.day for d in days(ex)}

        # a migration written for one node is not run on the cluster: the store refuses to open, and says why
        ex.command("DELETE FROM schema_migrations WHERE id = '0800_traces_by_day'")
        with pytest.raises(
            RuntimeError, match=r"laid out on a cluster and has migrations pending \(0800_traces_by_day\)"
        ):
            ClickHouseStore.from_url(f"{node}/{database}")
        capsys.readouterr()
        assert main(["migrate", "--store", f"{node}/{database}", "--dry-run"]) == 0
        assert "pending  0800_traces_by_day" in capsys.readouterr().out
        assert main(["migrate", "--store", f"{node}/{database}"]) == 2
        assert "laid out on a cluster" in capsys.readouterr().err
        assert engines == dict(ex.rows("SELECT name, engine FROM system.tables WHERE database = currentDatabase()"))
    finally:
        clustered.close()
