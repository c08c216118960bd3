"""``GET /metrics`` on a real server: parsed with prometheus-client's own parsers, checked against the store."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

import spanscope
from spanscope.cli.demo_app import simulate
from spanscope.metrics import MetricsConfig
from spanscope.server import ServerThread
from spanscope.server.keys import KeyStore
from tests.helpers import make_span, sid, tid

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboards" / "grafana" / "spanscope.json"
OTLP_FIXTURE = ROOT / "tests" / "fixtures" / "otlp" / "openinference_openai.json"
T0 = 1_700_000_000_000_000_000

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client, **params: str) -> Samples:
    r = client.get("/metrics", params=params)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    out: Samples = {}
    for fam in text_string_to_metric_families(r.text):
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def total(samples: Samples, name: str, **labels: str) -> float:
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


def by_label(samples: Samples, name: str, label: str, **labels: str) -> dict[str, float]:
    want = set(labels.items())
    out: dict[str, float] = {}
    for (n, ls), v in samples.items():
        if n == name and want <= ls:
            key = dict(ls)[label]
            out[key] = out.get(key, 0.0) + v
    return out


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[ServerThread]:
    """A server with 80 simulated chatbot turns in project ``demo`` (through the SDK)."""
    with ServerThread(tmp_path / "data") as srv:
        spanscope.configure(endpoint=srv.url, project="demo")
        try:
            simulate(80, seed=11, start_ns=T0)
            assert spanscope.flush(timeout=30)
        finally:
            spanscope.shutdown()
        srv.store.barrier()
        yield srv


def store_rows(srv: ServerThread, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    srv.store.barrier()
    con = srv.store._cursor()
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def test_demo_numbers_match_the_store(demo: ServerThread) -> None:
    with httpx.Client(base_url=demo.url) as c:
        m = scrape(c)
    spans_by_name = dict(store_rows(demo, "SELECT name, count(*) FROM spans WHERE project = ? GROUP BY 1", ["demo"]))
    assert by_label(m, "spanscope_spans_total", "span_name", project="demo") == pytest.approx(spans_by_name)
    errors = dict(
        store_rows(demo, "SELECT name, count(*) FROM spans WHERE project = ? AND status = 'ERROR' GROUP BY 1", ["demo"])
    )
    assert errors and by_label(m, "spanscope_span_errors_total", "span_name", project="demo") == pytest.approx(errors)
    # Histogram sums and counts per span name: the store's durations, in seconds.
    seconds = {
        name: (n, s / 1000)
        for name, n, s in store_rows(
            demo, "SELECT name, count(*), sum(duration_ms) FROM spans WHERE project = ? GROUP BY 1", ["demo"]
        )
    }
    counts = by_label(m, "spanscope_span_duration_seconds_count", "span_name", project="demo")
    sums = by_label(m, "spanscope_span_duration_seconds_sum", "span_name", project="demo")
    for name, (n, s) in seconds.items():
        assert counts[name] == n
        assert sums[name] == pytest.approx(s, rel=1e-9)
        assert total(m, "spanscope_span_duration_seconds_bucket", span_name=name, le="+Inf") == n
    # Tokens per model and type: the llm spans' gen_ai.usage.* (the root's usage.total_tokens is not re-counted).
    for token_type, key in (("input", "gen_ai.usage.input_tokens"), ("output", "gen_ai.usage.output_tokens")):
        expected = dict(
            store_rows(
                demo,
                "SELECT json_extract_string(attributes, '/gen_ai.request.model'), "
                f"sum(CAST(json_extract_string(attributes, '/{key}') AS DOUBLE)) FROM spans "
                "WHERE project = ? AND kind = 'llm' GROUP BY 1",
                ["demo"],
            )
        )
        got = by_label(m, "gen_ai_client_token_usage_sum", "gen_ai_request_model", gen_ai_token_type=token_type)
        assert got == pytest.approx(expected)
    cost = dict(
        store_rows(
            demo,
            "SELECT json_extract_string(attributes, '/gen_ai.request.model'), "
            "sum(CAST(json_extract_string(attributes, '/spanscope.cost_usd') AS DOUBLE)) FROM spans "
            "WHERE project = ? AND kind = 'llm' GROUP BY 1",
            ["demo"],
        )
    )
    assert by_label(m, "spanscope_cost_usd_total", "gen_ai_request_model", project="demo") == pytest.approx(cost)
    # Traces, trace errors, the quality_score tag (exported by default), findings.
    (n_traces, quality_sum) = store_rows(
        demo,
        "SELECT count(*), sum(CAST(json_extract_string(tags, '/quality_score') AS DOUBLE)) FROM traces "
        "WHERE project = ?",
        ["demo"],
    )[0]
    assert total(m, "spanscope_traces_total", project="demo", trace_name="chatbot.turn") == n_traces == 80
    assert total(m, "spanscope_tag_value_count", project="demo", tag="quality_score") == 80
    assert total(m, "spanscope_tag_value_sum", project="demo", tag="quality_score") == pytest.approx(quality_sum)
    findings = dict(store_rows(demo, "SELECT name, count(*) FROM findings WHERE project = ? GROUP BY 1", ["demo"]))
    assert by_label(m, "spanscope_findings_total", "finding_name", project="demo") == pytest.approx(findings)
    assert total(m, "spanscope_finding_value_count", finding_name="response_safe_score") == 80
    assert total(m, "spanscope_ingested_items_total", project="demo", kind="span") == sum(spans_by_name.values())
    # Server health from the store's counters, and the SDK's requests.
    assert total(m, "spanscope_store_applied_rows_total") > 0
    assert total(m, "spanscope_ingest_queue_rows") == 0
    assert total(m, "spanscope_ingest_requests_total", protocol="native", code="200") >= 1


def test_known_native_body_sdk_drops_rejections_and_request_codes(server: ServerThread) -> None:
    t = tid(7)
    body = {
        "spans": [
            make_span(t, sid(1), "agent.run", dur_ms=3000, kind="agent"),
            make_span(
                t, sid(2), "llm.call", parent=sid(1), dur_ms=1500, kind="llm", status="ERROR",
                attributes={
                    "gen_ai.request.model": "claude-x", "gen_ai.provider.name": "anthropic",
                    "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.output_tokens": 250,
                    "spanscope.cost_usd": 0.0125, "gen_ai.server.time_to_first_token": 0.3,
                },
            ),
            {"trace_id": "nope"},
        ],
        "findings": [{"trace_id": t, "name": "quality_score", "value": 0.25}],
        "sdk_stats": {"dropped": {"queue_full": 4, "shutdown": 1}, "sdk": "spanscope-python", "version": "0.1.0"},
    }  # fmt: skip
    with httpx.Client(base_url=server.url, headers={"X-Spanscope-Project": "known"}) as c:
        assert c.post("/api/v1/ingest", json=body).status_code == 200
        assert c.post("/api/v1/ingest", content=b"{not json").status_code == 400
        m = scrape(c, project="known")
    assert total(m, "spanscope_spans_total") == 2
    assert total(m, "spanscope_span_errors_total", span_name="llm.call", span_kind="llm") == 1
    assert total(m, "spanscope_traces_total", trace_name="agent.run") == 1
    assert total(m, "spanscope_trace_duration_seconds_sum") == pytest.approx(3.0)
    labels = {"gen_ai_request_model": "claude-x", "gen_ai_provider_name": "anthropic", "gen_ai_operation_name": "chat"}
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="input", **labels) == 1000
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="output", **labels) == 250
    assert total(m, "gen_ai_client_token_usage_bucket", gen_ai_token_type="input", le="1024.0") == 1
    assert total(m, "gen_ai_client_token_usage_bucket", gen_ai_token_type="input", le="256.0") == 0
    assert total(m, "gen_ai_client_operation_duration_seconds_sum", error_type="_OTHER", **labels) == pytest.approx(1.5)
    assert total(m, "spanscope_cost_usd_total", gen_ai_request_model="claude-x") == pytest.approx(0.0125)
    assert total(m, "gen_ai_server_time_to_first_token_seconds_sum", gen_ai_request_model="claude-x") == 0.3
    assert total(m, "spanscope_finding_value_sum", finding_name="quality_score") == 0.25
    assert total(m, "spanscope_ingest_rejected_items_total", kind="span") == 1
    assert by_label(m, "spanscope_sdk_dropped_total", "reason", sdk="spanscope-python") == {
        "queue_full": 4,
        "shutdown": 1,
    }
    assert total(m, "spanscope_ingest_requests_total", protocol="native", code="400") == 1
    assert total(m, "spanscope_ingest_request_duration_seconds_count", protocol="native") == 2


def test_otlp_conventions_feed_the_same_metrics(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as c:
        r = c.post(
            "/v1/traces",
            content=OTLP_FIXTURE.read_bytes(),
            headers={"Content-Type": "application/json", "X-Spanscope-Project": "otel"},
        )
        assert r.status_code == 200
        m = scrape(c, project="otel")
    # OpenInference's llm.token_count.* arrive as gen_ai.usage.*, the resource's service.name as a label.
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="input") == 46
    assert total(m, "gen_ai_client_token_usage_sum", gen_ai_token_type="output") == 22
    models = by_label(m, "gen_ai_client_token_usage_count", "gen_ai_request_model")
    assert list(models) == ["gpt-4o-mini-2024-07-18"]
    services = {dict(ls)["service_name"] for (n, ls) in m if n == "spanscope_spans_total"}
    assert services and "" not in services
    assert total(m, "spanscope_ingest_requests_total", protocol="otlp", code="200") == 1


def test_openmetrics_exemplars_point_at_real_traces(demo: ServerThread) -> None:
    with httpx.Client(base_url=demo.url) as c:
        r = c.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
        assert r.headers["content-type"].startswith("application/openmetrics-text")
        families = list(parse_openmetrics(r.text))
        exemplars = [s.exemplar for f in families for s in f.samples if s.exemplar is not None]
        assert len(exemplars) > 20
        trace_ids = {e.labels["trace_id"] for e in exemplars}
        for trace_id in list(trace_ids)[:5]:
            assert c.get(f"/api/v1/traces/{trace_id}", headers={"X-Spanscope-Project": "demo"}).status_code == 200
    # Trace ids only ever appear in exemplars, never as label values.
    labels = {v for f in families for s in f.samples for v in s.labels.values()}
    assert not labels & trace_ids


def test_cardinality_limit_through_the_server(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "d", metrics=MetricsConfig(top_n=4)) as srv:
        spans = [make_span(tid(i + 1), sid(i + 1), f"dynamic.name.{i}", model_i=i) for i in range(30)]
        for i, s in enumerate(spans):
            s["attributes"] = {"gen_ai.request.model": f"model-{i}"}
        with httpx.Client(base_url=srv.url) as c:
            assert c.post("/api/v1/ingest", json={"spans": spans}).status_code == 200
            m = scrape(c)
    names = by_label(m, "spanscope_spans_total", "span_name")
    assert len(names) == 5 and names["other"] == 26 and sum(names.values()) == 30
    models = by_label(m, "spanscope_span_duration_seconds_count", "gen_ai_request_model")
    assert len(models) == 5 and models["other"] == 26
    assert total(m, "spanscope_metrics_label_overflow_total", label="span_name") == 26


def test_labels_seeded_from_the_store_on_restart(tmp_path: Path) -> None:
    data = tmp_path / "d"
    with ServerThread(data) as srv, httpx.Client(base_url=srv.url) as c:
        spans = [make_span(tid(i + 1), sid(i + 1), "frequent") for i in range(10)]
        spans += [make_span(tid(100 + i), sid(100 + i), f"rare.{i}") for i in range(5)]
        assert c.post("/api/v1/ingest", json={"spans": spans}).status_code == 200
    with ServerThread(data, metrics=MetricsConfig(top_n=1)) as srv, httpx.Client(base_url=srv.url) as c:
        # The store's most frequent name got the one slot at start-up, ahead of whatever arrives first.
        body = {"spans": [make_span(tid(500), sid(500), "rare.0"), make_span(tid(501), sid(501), "frequent")]}
        assert c.post("/api/v1/ingest", json=body).status_code == 200
        assert by_label(scrape(c), "spanscope_spans_total", "span_name") == {"other": 1, "frequent": 1}


def test_api_keys_see_only_their_project(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "d", require_auth=True) as srv, httpx.Client(base_url=srv.url) as c:
        keys = KeyStore(srv.data_dir)
        _, key_a = keys.create("a")
        _, key_b = keys.create("b")
        for key, name in ((key_a, "op.a"), (key_b, "op.b")):
            body = {"spans": [make_span(tid(1), sid(1), name)]}
            assert c.post("/api/v1/ingest", json=body, headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert c.get("/metrics").status_code == 401
        r = c.get("/metrics", headers={"Authorization": f"Bearer {key_a}"})
        assert r.status_code == 200
        projects = {s.labels.get("project") for f in text_string_to_metric_families(r.text) for s in f.samples}
        assert projects == {"a", None}  # its own series, plus server health (no project label)
        assert 'span_name="op.b"' not in r.text and 'span_name="op.a"' in r.text
        r = c.get("/metrics", params={"project": "b"}, headers={"Authorization": f"Bearer {key_a}"})
        assert r.status_code == 400


# -- the Grafana dashboard ------------------------------------------------------------------------------------------

_METRIC = re.compile(r"\b((?:spanscope|gen_ai)_[a-z0-9_]+)\b")


def dashboard_metrics() -> set[str]:
    """Every metric name the dashboard's queries use (label names and matchers stripped first)."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if v.get("definition")]
    names: set[str] = set()
    for expr in exprs:
        expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
        expr = re.sub(r"\b(?:by|without)\s*\([^)]*\)", "", expr)  # grouping labels
        expr = re.sub(r"(label_values\([^,]+),[^)]*\)", r"\1)", expr)  # label_values(metric, label)
        names.update(_METRIC.findall(expr))
    return names


def test_every_metric_the_dashboard_queries_is_exported(tmp_path: Path) -> None:
    used = dashboard_metrics()
    assert len(used) >= 20, used
    t = tid(3)
    body = {
        "spans": [
            make_span(t, sid(1), "turn", dur_ms=500, status="ERROR"),
            make_span(
                t, sid(2), "llm", parent=sid(1), kind="llm",
                attributes={"gen_ai.request.model": "m", "gen_ai.usage.input_tokens": 5,
                            "gen_ai.usage.output_tokens": 2, "spanscope.cost_usd": 0.001,
                            "gen_ai.server.time_to_first_token": 0.1},
            ),
            {"bad": True},
        ],
        "traces": [{"trace_id": t, "tags": {"quality_score": 0.5}}],
        "findings": [{"trace_id": t, "name": "relevance", "value": 0.9}],
        "sdk_stats": {"dropped": {"queue_full": 1}},
    }  # fmt: skip
    with ServerThread(tmp_path / "d", metrics=MetricsConfig(top_n=1)) as srv, httpx.Client(base_url=srv.url) as c:
        assert c.post("/api/v1/ingest", json=body).status_code == 200
        monitor = {"name": "q", "rule": "avg(tag.quality_score) < 0.9 over 1h"}
        assert c.post("/api/v1/monitors", json=monitor).status_code == 201
        assert c.post("/api/v1/monitors/q/evaluate", json={"at": 1_700_000_060_000}).status_code == 200
        exported = {name for name, _ in scrape(c)}
    missing = {
        name for name in used if name not in exported and not any(f"{name}_{sfx}" in exported for sfx in ("total",))
    }
    assert not missing, f"the dashboard queries metrics /metrics does not export: {sorted(missing)}"
