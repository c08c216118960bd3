"""DuckDB and ClickHouse (chDB) give the same traces for the same filter, on data with mixed JSON types.

Random filters over attributes, tags, metadata, inputs/outputs and the tree predicates, on spans whose values
change type from one span to the next (numbers, numeric strings, booleans, null, lists, objects): what the
typed comparisons, JSON text and tree walks do at their edges, compared between the engines.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.ingest import IngestBatch
from spanscope.model import Span, TraceInfo
from spanscope.query import FilterError
from spanscope.store import Store
from tests.helpers import filter_literal, make_span, sid, tid
from tests.unit.store.engines import duckdb_and_chdb

pytest.importorskip("chdb")

VALUES: list[Any] = [0, 1, 3, 2.5, -7, 10**15, "3", "2.5", "abc", "Refund", "", "ünï", True, False, None,
                     [1, 2], {"a": 1}, "true", "null"]  # fmt: skip
KEYS = ["n", "s", "model", "usage.total_tokens", "x.y"]
KINDS = ["llm", "tool", "chain", "db"]
NAMES = ["root", "llm.generate", "db.query", "tool.search"]


def _value(rng: random.Random) -> Any:
    return rng.choice(VALUES)


def _data() -> tuple[list[Span], list[TraceInfo]]:
    rng = random.Random(11)
    spans, infos = [], []
    for t in range(1, 41):
        n_spans = rng.randrange(1, 6)
        for i in range(1, n_spans + 1):
            parent = sid(100 * t + rng.randrange(1, i)) if i > 1 else None
            attrs = {k: _value(rng) for k in KEYS if rng.random() < 0.6}
            attrs = {k: v for k, v in attrs.items() if v is not None and not isinstance(v, dict)}  # as OTel allows
            s = make_span(
                tid(t), sid(100 * t + i), "root" if i == 1 else rng.choice(NAMES), parent=parent, start_ms=t * 10 + i,
                dur_ms=rng.choice([1, 5, 50, 500]), kind=rng.choice(KINDS), attributes=attrs,
                status=rng.choice(["OK", "OK", "ERROR", "UNSET"]),
                inputs=rng.choice([{"q": _value(rng), "m": [_value(rng), {"c": _value(rng)}]}, _value(rng)]),
                outputs=rng.choice([{"a": _value(rng)}, "plain refund text", None]),
            )  # fmt: skip
            spans.append(msgspec.convert(s, Span))
        tags = {k: str(_value(rng)) for k in ("tier", "score") if rng.random() < 0.7}
        meta = {k: str(_value(rng)) for k in ("env",) if rng.random() < 0.5}
        infos.append(msgspec.convert({"trace_id": tid(t), "tags": tags, "metadata": meta}, TraceInfo))
    return spans, infos


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    spans, infos = _data()
    with duckdb_and_chdb(tmp_path_factory, "p", IngestBatch(spans=spans, traces=infos)) as pair:
        yield pair


FIELDS = [*(f"span.attributes.`{k}`" for k in KEYS), "tag.tier", "tag.score", "metadata.env", "span.inputs.q",
          "span.inputs.m[0]", "span.inputs.m[-1].c", "span.inputs.m[1]", "span.outputs.a", "span.inputs",
          "span.outputs", "span.name", "span.duration_ms", "trace.duration_ms", "span.kind", "span.status"]  # fmt: skip
OPS = ["=", "!=", ">", ">=", "<", "LIKE", "ILIKE", "NOT ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
SCALARS = [v for v in VALUES if isinstance(v, str | int | float) and v is not None]


@st.composite
def comparisons(draw: Any) -> str:
    field, op, value = draw(st.sampled_from(FIELDS)), draw(st.sampled_from(OPS)), draw(st.sampled_from(SCALARS))
    if op in ("IS NULL", "IS NOT NULL"):
        return f"{field} {op}"
    if op in ("LIKE", "ILIKE", "NOT ILIKE"):
        return f"{field} {op} {filter_literal('%' + str(value)[:3] + '%')}"
    if isinstance(value, bool):
        return f"{field} {'=' if op in ('=', 'IN', '>=') else '!='} {filter_literal(value)}"
    if op in ("IN", "NOT IN"):
        other = "x" if isinstance(value, str) else 2
        return f"{field} {op} ({filter_literal(value)}, {filter_literal(other)})"
    return f"{field} {op} {filter_literal(value)}"


@st.composite
def filters(draw: Any) -> str:
    parts = draw(st.lists(comparisons(), min_size=1, max_size=3))
    joined = draw(st.sampled_from([" AND ", " OR "])).join(parts)
    shape = draw(st.sampled_from(["plain", "not", "any", "all", "count", "descendant", "ancestor"]))
    span_only = all(p.startswith("span.") for p in parts)
    if shape == "not":
        return f"NOT ({joined})"
    if shape in ("any", "all") and span_only:
        return f"{shape.upper()} span({joined})"
    if shape == "count" and span_only:
        return f"COUNT span({joined}) >= {draw(st.integers(0, 3))}"
    if shape in ("descendant", "ancestor") and span_only:
        return f"ANY span(span.kind = 'llm' AND {shape}({joined}))"
    return joined


@pytest.fixture(scope="module")
def decorrelated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    """DuckDB and a chDB store compiling filters as on a cluster (``ClusterClickHouseDialect``: no correlated
    subqueries), on the same data."""
    from spanscope.store.clickhouse import CLUSTER_DIALECT

    spans, infos = _data()
    with duckdb_and_chdb(tmp_path_factory, "p", IngestBatch(spans=spans, traces=infos)) as pair:
        getattr(pair[1], "engine", pair[1]).dialect = CLUSTER_DIALECT
        yield pair


@settings(max_examples=120, deadline=None)
@given(flt=filters())
def test_engines_agree(both: tuple[Store, Store], flt: str) -> None:
    _agree(both, flt)


@settings(max_examples=100, deadline=None)
@given(flt=filters())
def test_engines_agree_with_cluster_filters(decorrelated: tuple[Store, Store], flt: str) -> None:
    _agree(decorrelated, flt)


def _agree(both: tuple[Store, Store], flt: str) -> None:
    results = []
    for store in both:
        try:
            results.append(sorted(t.trace_id for t in store.search_traces("p", flt, max_results=100).traces))
        except FilterError as exc:
            results.append(f"FilterError: {exc}")
    assert results[0] == results[1], flt


GROUPS = ["span.name", "span.kind", "span.status", "span.attributes.model", "span.attributes.`x.y`", "tag.tier",
          "metadata.env", "span.inputs.q", "trace.name"]  # fmt: skip


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


@settings(max_examples=60, deadline=None)
@given(
    flt=st.one_of(st.none(), filters()),
    by=st.lists(st.sampled_from(GROUPS), min_size=1, max_size=2, unique=True),
    bucket=st.sampled_from([None, "1h"]),
)
def test_engines_agree_on_latency_and_usage(
    both: tuple[Store, Store], flt: str | None, by: list[str], bucket: str | None
) -> None:
    from spanscope.analysis import engine

    answers = []
    for store in both:
        s = getattr(store, "engine", store)
        try:
            answers.append(
                _rounded([engine.latency(s, "p", flt, by=by, bucket=bucket), engine.usage(s, "p", flt, by=by)])
            )
        except FilterError as exc:
            answers.append(f"FilterError: {exc}")
    assert answers[0] == answers[1], (flt, by, bucket)


TRACE_ORDERS = ["duration_ms DESC", "name", "span_count DESC", "tag.tier", "tag.score DESC", "metadata.env",
                "trace.timestamp"]  # fmt: skip
SPAN_ORDERS = ["duration_ms", "span.attributes.n DESC", "span.attributes.s", "span.attributes.`x.y`", "kind DESC",
               "span.inputs.q", "tag.tier DESC"]  # fmt: skip


@settings(max_examples=25, deadline=None)
@given(
    flt=st.one_of(st.none(), filters()),
    rows=st.sampled_from(["traces", "spans"]),
    order=st.lists(st.integers(0, 6), min_size=0, max_size=2, unique=True),
    page=st.integers(2, 25),
)
def test_engines_agree_on_order_and_pages(
    both: tuple[Store, Store], flt: str | None, rows: str, order: list[int], page: int
) -> None:
    _walks_agree(both, flt, rows, order, page)


@settings(max_examples=30, deadline=None)
@given(flt=filters(), page=st.integers(5, 40))
def test_span_searches_agree_with_cluster_filters(decorrelated: tuple[Store, Store], flt: str, page: int) -> None:
    _walks_agree(decorrelated, flt, "spans", [], page)


def _walks_agree(both: tuple[Store, Store], flt: str | None, rows: str, order: list[int], page: int) -> None:
    order_by = [(TRACE_ORDERS if rows == "traces" else SPAN_ORDERS)[i] for i in order] or None
    walks = []
    for store in both:
        seen: list[Any] = []
        token = None
        try:
            for _ in range(60):  # every page of the search
                if rows == "traces":
                    res = store.search_traces("p", flt, max_results=page, order_by=order_by, page_token=token)
                    seen.append([t.trace_id for t in res.traces])
                    token = res.next_page_token
                else:
                    got = store.search_spans("p", flt, max_results=page, order_by=order_by, page_token=token)  # type: ignore[attr-defined]
                    seen.append([(s["trace_id"], s["span_id"]) for s in got["spans"]])
                    token = got["next_page_token"]
                if token is None:
                    break
        except FilterError as exc:
            seen.append(f"FilterError: {exc}")
        walks.append(seen)
    assert walks[0] == walks[1], (flt, rows, order_by, page)
