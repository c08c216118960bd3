"""Span search, keyset pages, Arrow streams and exports through a real server on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spanscope.client import Client
from spanscope.query import FilterError
from spanscope.server import ServerThread
from tests.unit.analysis.test_engine import make_dataset

N = 120


@pytest.fixture(scope="module")
def data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return make_dataset(N, seed=11)


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, data: Any) -> Iterator[ServerThread]:
    spans, infos = data
    with ServerThread(tmp_path_factory.mktemp("search") / "data") as server:
        client = Client(server.url, project="p")
        for k in range(0, len(infos), 40):
            ids = {i["trace_id"] for i in infos[k : k + 40]}
            body = {"spans": [s for s in spans if s["trace_id"] in ids], "traces": infos[k : k + 40]}
            assert client.ingest(body)["rejected"] == []
        yield server


@pytest.fixture
def client(srv: ServerThread) -> Client:
    return Client(srv.url, project="p")


def slow_ids(data: Any) -> set[str]:
    return {i["trace_id"] for i in data[1] if i["tags"]["slow"]}


def test_search_spans_returns_the_matching_spans_with_their_trace(client: Client, data: Any) -> None:
    df = client.search_spans("span.name = 'db.query' AND tag.slow = true", max_results=1000)
    assert set(df["name"]) == {"db.query"}
    assert set(df["trace_id"]) == slow_ids(data)
    assert set(df["trace_name"]) == {"turn"} and set(df["tag.slow"]) == {True}
    for col in ("span_id", "parent_span_id", "kind", "start_time", "end_time", "duration_ms", "attributes"):
        assert col in df.columns
    assert str(df["start_time"].dt.tz) == "UTC"


def test_without_span_conditions_every_span_of_the_trace(client: Client, data: Any) -> None:
    df = client.search_spans("tag.slow = true", max_results=1000)
    assert len(df) == 5 * len(slow_ids(data))


def test_bare_span_conditions_apply_to_the_row_and_quantifiers_to_the_trace(client: Client, data: Any) -> None:
    errors = client.search_spans("NOT span.status = 'OK'", max_results=1000)
    assert set(errors["name"]) == {"tool.lookup"}
    failing = set(errors["trace_id"])
    df = client.search_spans("span.kind = 'llm' AND ANY span(span.status = 'ERROR')", max_results=1000)
    assert set(df["trace_id"]) == failing and set(df["kind"]) == {"llm"}


def test_order_by_span_fields_and_extract_fields(client: Client, data: Any) -> None:
    df = client.search_spans(
        "span.kind = 'llm'",
        max_results=10,
        order_by="duration_ms DESC",
        extract_fields=[
            "span.attributes.gen_ai.request.model",
            "tag.model",
            "`llm.plan`.attributes.gen_ai.usage.input_tokens",
        ],
    )
    assert list(df["duration_ms"]) == sorted(df["duration_ms"], reverse=True)
    llm = [s for s in data[0] if s["kind"] == "llm"]
    top = max((s["end_time_ns"] - s["start_time_ns"]) / 1e6 for s in llm)
    assert df["duration_ms"].iloc[0] == pytest.approx(top)
    assert list(df["span.attributes.gen_ai.request.model"]) == list(df["tag.model"])
    assert df["`llm.plan`.attributes.gen_ai.usage.input_tokens"].notna().all()


@pytest.mark.parametrize(
    ("rows", "order_by"),
    [
        ("traces", None),
        ("traces", ["tag.quality_score DESC"]),
        ("traces", ["duration_ms", "name DESC"]),
        ("spans", None),
        ("spans", ["duration_ms DESC"]),
        ("spans", ["span.attributes.gen_ai.usage.output_tokens", "tag.quality_score DESC"]),
    ],
)
def test_keyset_pages_add_up_to_one_query(client: Client, rows: str, order_by: list[str] | None) -> None:
    whole, _ = client.search_rows(rows, "tag.model = 'large'", 1000, order_by)
    pages: list[dict[str, Any]] = []
    token = None
    for _ in range(200):
        page, token = client.search_rows(rows, "tag.model = 'large'", 7, order_by, None, token)
        pages.extend(page)
        if not token:
            break
    key = ("trace_id", "span_id") if rows == "spans" else ("trace_id",)
    assert [tuple(r[k] for k in key) for r in pages] == [tuple(r[k] for k in key) for r in whole]
    assert len(whole) == (N // 2) * (5 if rows == "spans" else 1)


def test_a_page_token_belongs_to_its_search(srv: ServerThread) -> None:
    with httpx.Client(base_url=srv.url, headers={"X-Spanscope-Project": "p"}) as http:
        first = http.post("/api/v1/traces/search", json={"filter": "tag.model = 'large'", "max_results": 5}).json()
        token = first["next_page_token"]
        other = http.post("/api/v1/traces/search", json={"filter": "tag.model = 'small'", "page_token": token})
        assert other.status_code == 400 and "page_token belongs to another search" in other.json()["error"]
        bad = http.post("/api/v1/spans/search", json={"page_token": "not-a-token"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("invalid page_token")


def test_arrow_stream_equals_json_pages(srv: ServerThread, client: Client) -> None:
    json_rows, _ = client.search_rows("traces", None, 1000)
    streamed = [r for page in client.iter_rows("traces", None) for r in page]
    assert streamed == json_rows
    with httpx.Client(base_url=srv.url) as http:
        r = http.post(
            "/api/v1/spans/search",
            json={"filter": "span.name = 'db.query'", "max_results": None},
            headers={"Accept": "application/vnd.apache.arrow.stream", "X-Spanscope-Project": "p"},
        )
        assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.apache.arrow.stream"
        table = pa.ipc.open_stream(r.content).read_all()
        assert table.num_rows == N and "attributes" in table.column_names
        bad = http.post(
            "/api/v1/traces/search",
            json={"filter": "span.nope = 1"},
            headers={"Accept": "application/vnd.apache.arrow.stream"},
        )
        assert bad.status_code == 400 and bad.json()["column"] == 1


def test_large_frames_come_as_arrow(client: Client) -> None:
    df = client.search_traces(None, max_results=None, extract_fields=["tag.quality_score"])
    assert len(df) == N and df["tag.quality_score"].dtype == "float64"


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_exports_from_python_and_http(srv: ServerThread, client: Client, tmp_path: Path, data: Any, fmt: str) -> None:
    path = client.search_traces(
        "tag.slow = true", max_results=None, extract_fields=["tag.model"], to=tmp_path / f"t.{fmt}"
    )
    expected = slow_ids(data)
    if fmt == "parquet":
        table = pq.read_table(path)
        assert set(table.column("trace_id").to_pylist()) == expected
        assert str(table.schema.field("start_time").type) == "timestamp[ns, tz=UTC]"
        assert table.column("tag.model").to_pylist()[0] in ('"large"', '"small"')
    elif fmt == "csv":
        assert set(pd.read_csv(path)["trace_id"]) == expected
    else:
        lines = [json.loads(line) for line in Path(path).read_text().splitlines()]
        assert {row["trace_id"] for row in lines} == expected and isinstance(lines[0]["tags"], dict)
    with httpx.Client(base_url=srv.url, headers={"X-Spanscope-Project": "p"}) as http:
        r = http.post("/api/v1/export", json={"filter": "tag.slow = true", "rows": "spans", "format": fmt})
        assert r.status_code == 200
        out = tmp_path / f"s.{fmt}"
        out.write_bytes(r.content)
        if fmt == "parquet":
            assert pq.read_table(out).num_rows == 5 * len(expected)
        elif fmt == "csv":
            assert len(pd.read_csv(out)) == 5 * len(expected)
        else:
            assert len(out.read_text().splitlines()) == 5 * len(expected)
        bad = http.post("/api/v1/export", json={"filter": "tag.x >", "format": fmt})
        assert bad.status_code == 400 and bad.json()["column"] == 8
        assert http.post("/api/v1/export", json={"format": "xlsx"}).status_code == 400


def test_filter_errors_keep_their_column_through_the_client(client: Client) -> None:
    with pytest.raises(FilterError) as caught:
        client.search_spans("ANY span(tag.x = 1)")
    assert caught.value.column == 10
    with pytest.raises(FilterError) as caught:
        client.count("span.duration_ms = p95")
    assert caught.value.column == 18


def test_count(client: Client, data: Any) -> None:
    assert client.count("tag.slow = true") == len(slow_ids(data))
    assert client.count("tag.slow = true", rows="spans") == 5 * len(slow_ids(data))
