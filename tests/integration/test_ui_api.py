"""The JSON the web UI reads (routes/ui_api.py) and the UI's own routes, against a real server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from spanscope.server import ServerThread
from tests.helpers import make_span, sid, tid

P = {"X-Spanscope-Project": "ui"}
MS = 1_000_000
BASE_NS = 1_700_000_000_000_000_000


def _llm(trace: int, span: int, parent: int, start_ms: int, dur: float, tokens: int, cost: float, model: str) -> dict:
    return make_span(
        tid(trace),
        sid(span),
        "llm.generate",
        parent=sid(parent),
        start_ms=start_ms,
        dur_ms=dur,
        kind="llm",
        status="OK",
        attributes={"usage.total_tokens": tokens, "spanscope.cost_usd": cost, "gen_ai.request.model": model},
        inputs={"messages": [{"role": "user", "content": f"hello {trace}.{span}"}]},
        outputs={"choices": [{"message": {"role": "assistant", "content": "hi"}}]},
    )


@pytest.fixture
def http(server: ServerThread) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=P) as c:
        body = {
            "spans": [
                # trace 1: root + llm + failing tool with an exception event + db under the tool
                make_span(
                    tid(1),
                    sid(1),
                    "chatbot.turn",
                    start_ms=0,
                    dur_ms=1000,
                    kind="chain",
                    status="OK",
                    attributes={"usage.total_tokens": 999},
                ),
                _llm(1, 2, 1, 10, 300, 120, 0.002, "gpt-4o"),
                make_span(
                    tid(1),
                    sid(3),
                    "llm.tools.get_order",
                    parent=sid(1),
                    start_ms=320,
                    dur_ms=200,
                    kind="tool",
                    status="ERROR",
                    status_message="boom",
                    events=[
                        {
                            "name": "exception",
                            "time_ns": BASE_NS + 500 * MS,
                            "attributes": {
                                "exception.type": "KeyError",
                                "exception.message": "order",
                                "exception.stacktrace": "Traceback ...\nKeyError: 'order'",
                            },
                        }
                    ],
                ),
                make_span(tid(1), sid(4), "db.query", parent=sid(3), start_ms=330, dur_ms=100, kind="db", status="OK"),
                _llm(1, 5, 1, 600, 350, 80, 0.001, "gpt-4o"),
                # trace 2: root + one llm, later, no error
                make_span(tid(2), sid(11), "chatbot.turn", start_ms=60_000, dur_ms=500, kind="chain", status="OK"),
                _llm(2, 12, 11, 60_010, 400, 40, 0.0005, "gpt-4o-mini"),
                # trace 3: an orphan (its parent never arrived) next to its root
                make_span(tid(3), sid(21), "other.turn", start_ms=120_000, dur_ms=50, status="OK"),
                make_span(tid(3), sid(22), "orphan", parent=sid(99), start_ms=120_010, dur_ms=5, status="OK"),
            ],
            "traces": [
                {"trace_id": tid(1), "tags": {"quality_score": 0.4, "channel": "web"}, "metadata": {"intent": "x"}},
                {"trace_id": tid(2), "tags": {"quality_score": 0.9, "channel": "email"}},
            ],
            "events": [{"trace_id": tid(1), "span_id": sid(2), "name": "retry", "time_ns": BASE_NS + 50 * MS}],
            "findings": [
                {"trace_id": tid(1), "name": "safe", "value": 0.5, "source": "llm", "span_id": sid(5)},
                {"trace_id": tid(1), "name": "helpful", "value": False, "source": "human"},
                {"trace_id": tid(2), "name": "safe", "value": 0.9, "source": "llm"},
            ],
        }
        r = c.post("/api/v1/ingest", json=body)
        assert r.status_code == 200, r.text
        assert not r.json()["rejected"]
        yield c


def test_outline_is_columnar_and_complete(http: httpx.Client) -> None:
    o = http.get(f"/api/v1/traces/{tid(1)}/outline").json()
    assert o["trace"]["name"] == "chatbot.turn"
    assert o["trace"]["tags"] == {"quality_score": 0.4, "channel": "web"}
    sp = o["spans"]
    assert sp["id"] == [sid(1), sid(2), sid(3), sid(4), sid(5)]  # by start time
    assert sp["parent"] == [-1, 0, 0, 2, 0]
    assert [o["names"][i] for i in sp["name"]] == [
        "chatbot.turn",
        "llm.generate",
        "llm.tools.get_order",
        "db.query",
        "llm.generate",
    ]
    assert [o["kinds"][k] for k in sp["kind"]] == ["chain", "llm", "tool", "db", "llm"]
    assert [o["statuses"][s] for s in sp["status"]] == ["OK", "OK", "ERROR", "OK", "OK"]
    assert sp["start"][:3] == [0, 10_000, 320_000]  # microseconds after t0
    assert sp["end"][0] == 1_000_000
    assert sp["tokens"] == [999, 120, None, None, 80]
    assert sp["findings"] == [0, 0, 0, 0, 1]
    assert "in_hash" not in sp
    assert {f["name"] for f in o["findings"]} == {"safe", "helpful"}
    hashed = http.get(f"/api/v1/traces/{tid(1)}/outline", params={"io_hash": 1}).json()["spans"]
    assert hashed["in_hash"][1] != hashed["in_hash"][4] and hashed["out_hash"][1] == hashed["out_hash"][4]


def test_outline_orphan_is_a_root_and_errors(http: httpx.Client) -> None:
    o = http.get(f"/api/v1/traces/{tid(3)}/outline").json()
    assert o["spans"]["parent"] == [-1, -1]
    assert http.get(f"/api/v1/traces/{tid(9)}/outline").status_code == 404
    assert http.get("/api/v1/traces/nope/outline").status_code == 400
    assert http.get(f"/api/v1/traces/{tid(1)}/outline", headers={"X-Spanscope-Project": "other"}).status_code == 404


def test_span_detail_has_body_events_and_findings(http: httpx.Client) -> None:
    d = http.get(f"/api/v1/traces/{tid(1)}/spans/{sid(3)}").json()
    assert d["name"] == "llm.tools.get_order" and d["status"] == "ERROR" and d["status_message"] == "boom"
    assert d["events"][0]["attributes"]["exception.stacktrace"].startswith("Traceback")
    d2 = http.get(f"/api/v1/traces/{tid(1)}/spans/{sid(2)}").json()
    assert d2["inputs"]["messages"][0]["role"] == "user"
    assert [e["name"] for e in d2["events"]] == ["retry"]  # sent apart from its span, merged here
    d5 = http.get(f"/api/v1/traces/{tid(1)}/spans/{sid(5)}").json()
    assert [(f["name"], f["value"], f["source"]) for f in d5["findings"]] == [("safe", 0.5, "llm")]
    assert http.get(f"/api/v1/traces/{tid(1)}/spans/{sid(77)}").status_code == 404
    assert http.get(f"/api/v1/traces/{tid(1)}/spans/XYZ").status_code == 400


def test_trace_list_rollups_sort_total_and_range(http: httpx.Client) -> None:
    out = http.get("/api/v1/ui/traces").json()
    assert out["total"] == 3
    by_id = {t["trace_id"]: t for t in out["traces"]}
    t1 = by_id[tid(1)]
    # tokens: the llm spans' sum (not the root's own 999 aggregate on top of them)
    assert t1["tokens"] == 200 and t1["cost"] == pytest.approx(0.003)
    assert t1["error_spans"] == 1 and t1["findings"] == {"safe": 0.5, "helpful": False}
    assert by_id[tid(3)]["tokens"] is None
    ordered = http.get("/api/v1/ui/traces", params={"sort": "tokens", "dir": "desc"}).json()["traces"]
    assert [t["trace_id"] for t in ordered] == [tid(1), tid(2), tid(3)]  # nulls last
    asc = http.get("/api/v1/ui/traces", params={"sort": "duration", "dir": "asc", "limit": 1, "offset": 1}).json()
    assert [t["trace_id"] for t in asc["traces"]] == [tid(2)] and asc["total"] == 3
    for key in ("time", "name", "status", "spans", "cost", "tags", "findings"):
        assert http.get("/api/v1/ui/traces", params={"sort": key}).status_code == 200
    start_ms = BASE_NS // MS
    ranged = http.get("/api/v1/ui/traces", params={"from": start_ms + 30_000, "to": start_ms + 90_000}).json()
    assert [t["trace_id"] for t in ranged["traces"]] == [tid(2)]
    assert http.get("/api/v1/ui/traces", params={"sort": "bogus"}).status_code == 400
    assert http.get("/api/v1/ui/traces", params={"limit": "x"}).status_code == 400


def test_trace_list_filter_errors_carry_a_column(http: httpx.Client) -> None:
    r = http.get("/api/v1/ui/traces", params={"filter": "tag.quality_score <"})
    assert r.status_code == 400
    assert r.json()["column"] == 20
    ok = http.get("/api/v1/filter/check", params={"filter": "span.name = 'db.query'"}).json()
    assert ok == {"ok": True}
    bad = http.get("/api/v1/filter/check", params={"filter": "trace.nope = 1"}).json()
    assert bad["ok"] is False and bad["column"] == 1 and "unknown field" in bad["message"]


@pytest.mark.parametrize(
    "flt",
    [
        None,
        "tag.quality_score < 0.7",
        "span.kind = 'tool' AND span.status = 'ERROR'",
        "span.name = 'db.query' AND span.duration_ms > 50",
        "finding.safe >= 0.5",
        "NOT tag.channel = 'web'",
    ],
)
def test_ui_list_and_search_api_agree(http: httpx.Client, flt: str | None) -> None:
    ui = {t["trace_id"] for t in http.get("/api/v1/ui/traces", params={"filter": flt or ""}).json()["traces"]}
    api = {t["trace_id"] for t in http.post("/api/v1/traces/search", json={"filter": flt}).json()["traces"]}
    assert ui == api


def test_completion_fields(http: httpx.Client) -> None:
    f = http.get("/api/v1/fields").json()
    assert "span.name" in f["fields"] and "tag." in f["prefixes"]
    assert set(f["tag_keys"]) == {"quality_score", "channel"}
    assert f["numeric_tag_keys"] == ["quality_score"]
    assert f["metadata_keys"] == ["intent"]
    assert {"usage.total_tokens", "gen_ai.request.model"} <= set(f["attribute_keys"])
    assert {"chatbot.turn", "db.query", "orphan"} <= set(f["span_names"])
    assert set(f["finding_names"]) == {"safe", "helpful"}
    assert "llm" in f["kinds"] and "ERROR" in f["statuses"]


def test_dashboard_aggregates(http: httpx.Client) -> None:
    d = http.get("/api/v1/ui/dashboard", params={"metric": "tag:quality_score", "buckets": 3}).json()
    s = d["summary"]
    assert s["count"] == 3 and s["errors"] == 1 and s["error_rate"] == pytest.approx(1 / 3)
    assert s["tokens"] == 240 and s["cost_usd"] == pytest.approx(0.0035)
    names = {r["name"]: r for r in d["span_names"]}
    assert names["llm.generate"]["count"] == 3 and names["llm.tools.get_order"]["errors"] == 1
    assert names["llm.generate"]["p50_ms"] == pytest.approx(350)
    models = {m["model"]: m for m in d["models"]}
    assert models["gpt-4o"]["tokens"] == 200 and models["gpt-4o-mini"]["tokens"] == 40
    ser = d["series"]
    assert len(ser["bucket_start_ns"]) == 3 and sum(ser["count"]) == 3 and sum(ser["errors"]) == 1
    assert [round(v, 2) if v is not None else None for v in ser["metric_mean"]] == [0.4, 0.9, None]
    f = http.get("/api/v1/ui/dashboard", params={"metric": "finding:helpful", "buckets": 3}).json()["series"]
    assert f["metric_mean"][0] == 0.0 and f["metric_count"] == [1, 0, 0]  # a boolean finding averages as 0/1
    only = http.get("/api/v1/ui/dashboard", params={"filter": "tag.channel = 'email'"}).json()["summary"]
    assert only["count"] == 1 and only["errors"] == 0
    assert http.get("/api/v1/ui/dashboard", params={"filter": "tag.x <"}).status_code == 400


def test_feedback_through_ingest_shows_in_list_and_search(http: httpx.Client) -> None:
    finding = {
        "trace_id": tid(2),
        "span_id": sid(12),
        "name": "thumbs_up",
        "value": False,
        "source": "human",
        "rationale": "wrong order",
        "metadata": {"via": "ui"},
    }
    assert http.post("/api/v1/ingest", json={"findings": [finding]}).status_code == 200
    listed = http.get("/api/v1/ui/traces", params={"filter": "finding.thumbs_up = false"}).json()["traces"]
    assert [t["trace_id"] for t in listed] == [tid(2)]
    fs = http.get(f"/api/v1/traces/{tid(2)}/findings").json()["findings"]
    mine = next(f for f in fs if f["name"] == "thumbs_up")
    assert mine["source"] == "human" and mine["span_id"] == sid(12) and mine["rationale"] == "wrong order"


def test_projects(http: httpx.Client) -> None:
    http.post("/api/v1/ingest", json={"spans": [make_span(tid(5), sid(5), "x")]}, headers={"X-Spanscope-Project": "b"})
    names = [p["name"] for p in http.get("/api/v1/projects").json()["projects"]]
    assert set(names) == {"ui", "b"}


@pytest.mark.parametrize("path", ["/", f"/traces/{tid(1)}", "/compare?a=1&b=2", "/dashboard", "/datasets"])
def test_pages_serve_the_app(http: httpx.Client, path: str) -> None:
    r = http.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in r.text


def test_static_files_are_served_offline(http: httpx.Client) -> None:
    for path in ("/static/js/app.js", "/static/app.css", "/static/vendor/chartjs/chart.umd.min.js"):
        r = http.get(path)
        assert r.status_code == 200, path
    assert "javascript" in http.get("/static/js/pages/trace.js").headers["content-type"]
    assert http.get("/static/nope.js").status_code == 404
    index = http.get("/").text
    assert "http://" not in index and "https://" not in index  # no CDN, no remote font
