"""``[*]`` and ``[?key = value]`` in JSON paths: filters match when any selected value does; an index after
a filter picks among the matches; extract_fields gives the list. The filters run on every engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spanscope.ingest import IngestBatch
from spanscope.model import Span
from spanscope.query import FilterError, compile_filter, json_path_get, parse_filter
from spanscope.store import Store, open_store
from tests.helpers import filter_literal, make_span, sid, tid
from tests.unit.store.engines import drop_database, duckdb_and_chdb, engine_url

CHATS = {
    1: [{"role": "system", "content": "be nice"}, {"role": "user", "content": "I want a refund"},
        {"role": "assistant", "content": "ok"}, {"role": "user", "content": "thanks", "score": 3}],
    2: [{"role": "system", "content": "refund policy: none"}, {"role": "user", "content": "where is my order"}],
    3: [{"role": "user", "content": "refund now", "score": 9}],
    4: "not a list",
    5: [{"role": "tool", "calls": [{"name": "search", "ok": True, "n": 2}, {"name": "refund", "ok": False}]},
        {"role": "user", "content": "Refund?"}],
}  # fmt: skip


@pytest.fixture(scope="module", params=["duckdb", "chdb", "clickhouse"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = engine_url(request.param)
    s = open_store(str(Path(tmp_path_factory.mktemp("multi"))), url)
    spans = [
        msgspec.convert(make_span(tid(n), sid(n), "llm", inputs={"messages": chat}), Span) for n, chat in CHATS.items()
    ]
    s.write("p", IngestBatch(spans=spans))
    yield s
    s.close()
    drop_database(url)


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ("span.inputs.messages[*].content ILIKE '%refund%'", {1, 2, 3, 5}),
        ("span.inputs.messages[?role='user'].content ILIKE '%refund%'", {1, 3, 5}),
        ("span.inputs.messages[?role = 'user'][-1].content ILIKE '%refund%'", {3, 5}),
        ("span.inputs.messages[?role='user'][0].content = 'I want a refund'", {1}),
        ("span.inputs.messages[?role != 'user'].content LIKE 'refund%'", {2}),
        ("span.inputs.messages[*].score > 5", {3}),
        ("span.inputs.messages[*].score >= 3", {1, 3}),
        ("span.inputs.messages[?score = 3].role = 'user'", {1}),
        ("span.inputs.messages[?score = 9].content LIKE 'refund%'", {3}),
        ("span.inputs.messages[*].score IS NOT NULL", {1, 3}),
        ("span.inputs.messages[*].score IS NULL", {2, 4, 5}),
        ("NOT span.inputs.messages[*].content ILIKE '%refund%'", {4}),
        ("span.inputs.messages[*].role IN ('assistant')", {1}),
        ("span.inputs.messages[*].role != 'user'", {1, 2, 5}),
        ("span.inputs.messages[*].calls[*].name = 'refund'", {5}),
        ("span.inputs.messages[*].calls[?ok = false].name = 'refund'", {5}),
        ("span.inputs.messages[*].calls[?ok = true].name = 'refund'", set()),
        ("span.inputs.messages[*].calls[0].name = 'search'", {5}),
        ("span.inputs.messages[*].calls[?n = 2][0].ok = true", {5}),
        ("span.inputs.messages[?role = 'tool'].calls[-1].ok = false", {5}),
        ("span.inputs.messages[*].calls[*].n > 1 AND span.name = 'llm'", {5}),
        ("span.inputs.messages[*] IS NOT NULL", {1, 2, 3, 5}),
    ],
)
def test_filters_over_many_values(store: Store, flt: str, expected: set[int]) -> None:
    got = {int(t.trace_id, 16) for t in store.search_traces("p", flt).traces}
    assert got == expected, flt


def test_extract_fields_give_the_list() -> None:
    doc = {"messages": CHATS[1]}
    assert json_path_get(doc, "messages[*].role") == ["system", "user", "assistant", "user"]
    assert json_path_get(doc, "messages[?role='user'].content") == ["I want a refund", "thanks"]
    assert json_path_get(doc, "messages[?role='user'][-1].content") == "thanks"
    assert json_path_get(doc, "messages[?score=3].content") == ["thanks"]
    assert json_path_get({"messages": "x"}, "messages[*].content") is None


@pytest.mark.parametrize(
    ("flt", "column"),
    [
        ("span.inputs.messages[?].content = 'a'", 23),
        ("span.inputs.messages[?role 'user'].content = 'a'", 28),
        ("span.inputs.messages[?role = user].content = 'a'", 30),
        ("span.inputs.messages[*.content = 'a'", 21),
    ],
)
def test_malformed_paths_name_the_column(flt: str, column: int) -> None:
    with pytest.raises(FilterError) as err:
        parse_filter(flt)
    assert err.value.column == column, str(err.value)


def test_many_values_are_refused_where_one_is_needed() -> None:
    from spanscope.query import compile_order_by

    compile_order_by("tag.`a[*]`")  # backticks: a key that happens to contain "[*]", fine
    with pytest.raises(FilterError):
        compile_order_by(["span.inputs.messages[*].content"])
    assert compile_filter("span.inputs.messages[*].content = 'x'")[0].startswith("EXISTS")


# ------------------------------------------------------------------------------- DuckDB and ClickHouse agree
WORDS = ["refund", "Refund now", "ok", "3", "2.5", "", "ünï", "a%b", "true"]
LEAVES = [*WORDS, 3, 2.5, -1, 0, 10**12, True, False, None, [], {}, [1, "x"], {"k": "v"}]


def _message(rng: Any) -> dict[str, Any]:
    m: dict[str, Any] = {"role": rng.choice(["user", "assistant", "system", "tool"])}
    for key in ("content", "score", "calls"):
        if rng.random() < 0.7:
            m[key] = (
                [{"name": rng.choice(WORDS), "ok": rng.choice([True, False, None]), "n": rng.choice([1, 2, "2"])}
                 for _ in range(rng.randrange(3))]
                if key == "calls" and rng.random() < 0.8
                else rng.choice(LEAVES)
            )  # fmt: skip
    return m


def _documents() -> dict[int, Any]:
    import random

    rng = random.Random(7)
    docs: dict[int, Any] = {}
    for n in range(1, 61):
        docs[n] = rng.choice([[_message(rng) for _ in range(rng.randrange(5))], rng.choice(LEAVES)])
    return docs


DOCS = _documents()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Store]]:
    spans = [msgspec.convert(make_span(tid(n), sid(n), "llm", inputs={"messages": d}), Span) for n, d in DOCS.items()]
    with duckdb_and_chdb(tmp_path_factory, "p", IngestBatch(spans=spans)) as pair:
        yield pair


SEGMENTS = [
    "[*]",
    ".0",
    ".k",
    "[?role = 'user']",
    "[?role != 'tool']",
    "[?score = 3]",
    "[?ok = true]",
    "[?n = '2']",
    "[0]",
    "[-1]",
]
TAILS = ["", ".content", ".score", ".calls", ".calls[*].name", ".calls[?ok = false].n", ".calls[0].ok", ".k"]
OPS = ["=", "!=", ">", "<=", "LIKE", "ILIKE", "IN", "IS NULL", "IS NOT NULL"]


@settings(max_examples=150, deadline=None)
@given(
    segment=st.sampled_from(SEGMENTS),
    then=st.sampled_from(["", "[0]", "[-1]", "[*]"]),
    tail=st.sampled_from(TAILS),
    op=st.sampled_from(OPS),
    value=st.sampled_from([w for w in LEAVES if isinstance(w, str | int | float) and w is not None]),
    negate=st.booleans(),
)
def test_engines_agree_on_many_value_paths(
    both: tuple[Store, Store], segment: str, then: str, tail: str, op: str, value: Any, negate: bool
) -> None:
    path = f"span.inputs.messages{segment}{then}{tail}"
    if op in ("IS NULL", "IS NOT NULL"):
        flt = f"{path} {op}"
    elif op == "IN":
        flt = f"{path} IN ({filter_literal(value)}, {filter_literal('ok' if isinstance(value, str) else 2)})"
    elif op in ("LIKE", "ILIKE"):
        flt = f"{path} {op} {filter_literal('%' + str(value)[:3] + '%')}"
    else:
        flt = f"{path} {op} {filter_literal(value)}"
    if isinstance(value, bool) and op not in ("=", "!="):
        flt = f"{path} = {filter_literal(value)}"
    flt = f"NOT {flt}" if negate else flt
    duck, ch = (sorted(t.trace_id for t in s.search_traces("p", flt, max_results=100).traces) for s in both)
    assert duck == ch, flt
