"""Substring search on ClickHouse uses the n-gram indexes of ``inputs``/``outputs`` (schema ``0500_query_perf``)
and gives exactly the answers of the comparison alone, and of DuckDB."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import msgspec
import pytest

from spanscope.ingest import IngestBatch
from spanscope.ingest.native import decode_ingest
from spanscope.model import Span
from spanscope.query import compile_filter
from spanscope.query.dialect import Dialect
from spanscope.query.dialect_clickhouse import ClickHouseDialect, DocumentText, index_pattern
from spanscope.store import open_store
from spanscope.store.clickhouse import DIALECT, ClickHouseStore
from spanscope.store.clickhouse.schema import span_text_index_expr
from spanscope.store.schema import HOT_ATTRIBUTE_COLUMNS
from tests.helpers import make_span, sid, tid

pytest.importorskip("chdb")

BASE_NS = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("pattern", "ilike", "expected"),
    [
        ("%refund%", True, "%refund%"),
        ("%Refund%", False, "%refund%"),  # the index holds lower-cased text: LIKE's 'R' is there as 'r'
        ("refund", False, "refund"),  # anchored stays anchored
        ("%ref_und%", True, "%ref%und%"),  # '_' is one byte to ClickHouse's LIKE: widen it
        ("%re\\%fund%", False, "%re%fund%"),  # an escape and what it escapes become a gap
        ("%Kasse%", True, None),  # k and s also match the Kelvin sign and the long s: gaps, no 3-gram left
        ("%Kassenbon%", True, "%a%enbon%"),
        ("%Kasse%", False, "%kasse%"),
        ("%Éclair%", True, "%clair%"),  # non-ASCII: lower() leaves it, ILIKE folds it
        ("%Éclair%", False, "%Éclair%"),
        ("%ab%", True, None),  # no 3-gram to look up
        ("%a%b%c%", False, None),
        ("", False, None),
    ],
)
def test_index_pattern(pattern: str, ilike: bool, expected: str | None) -> None:
    assert index_pattern(pattern, case_insensitive=ilike) == expected


def test_prefilter_only_on_whole_indexed_documents() -> None:
    sql, params = compile_filter("span.inputs ILIKE '%refund%'", DIALECT)
    assert f"lower(ifNull({DIALECT.json_text('s.inputs', ()).text}, '')) LIKE ?" in sql
    assert params == ["%refund%", "%refund%"]
    for text in (
        "span.inputs.messages ILIKE '%refund%'",  # a path: no index on it
        "span.inputs NOT ILIKE '%refund%'",  # a negation cannot skip granules
        "span.inputs ILIKE '%re%'",  # too short for 3-grams
        "span.attributes.user ILIKE '%tier%'",
    ):
        assert "lower(ifNull(" not in compile_filter(text, DIALECT)[0], text
    assert isinstance(DIALECT.json_text("s.outputs", ()), DocumentText)
    assert not isinstance(DIALECT.json_text("t.tags", ()), DocumentText)


def test_index_expression_is_the_view_spelling_of_the_prefilter() -> None:
    # What the ``spans`` view substitutes for ``s.inputs`` (nullIf(inputs, '')) turns the pre-filter into the
    # indexed expression; the EXPLAIN test below checks ClickHouse agrees.
    prefilter = f"lower(ifNull({DIALECT.json_text('s.inputs', ()).text}, ''))"
    assert prefilter.replace("s.inputs", "nullIf(inputs, '')") == span_text_index_expr("inputs")


# -- same answers: with and without the pre-filter, and on DuckDB ---------------------------------------------

DOCUMENTS: dict[str, object] = {
    "plain": {"q": "I want a refund for it"},
    "upper": {"q": "REFUND NOW"},
    "string": "please Refund me",
    "escaped": '"\\u0072efund in escapes"',  # raw JSON: a string whose 'r' is written as an escape
    "quote": {"q": 'he said "refund"'},
    "kelvin": {"q": "5 \u212aelvin Kasse"},
    "long_s": {"q": "Ka\u017f\u017fe"},
    "accent": {"q": "ÉCLAIR au café"},
    "null": None,
    "number": 12345,
}

FILTERS = [
    "span.inputs ILIKE '%refund%'",
    "span.inputs LIKE '%refund%'",
    "span.inputs LIKE '%Refund%'",
    "span.inputs ILIKE 'please refund%'",
    "span.inputs LIKE '%\"refund\"%'",
    "span.inputs ILIKE '%kelvin%'",
    "span.inputs ILIKE '%kasse%'",
    "span.inputs ILIKE '%éclair%'",
    "span.inputs LIKE '%ÉCLAIR%'",
    "span.inputs ILIKE '%r_fund%'",
    "span.inputs LIKE '%123%'",
    "span.outputs ILIKE '%refund%'",
    "NOT span.inputs ILIKE '%refund%'",
    "span.inputs ILIKE '%refund%' OR span.inputs LIKE '%123%'",
]


class _NoPrefilter(ClickHouseDialect):
    """The comparison alone (what the pre-filter must never change)."""

    compare = Dialect.compare


def _body(documents: dict[str, object]) -> bytes:
    spans = []
    for i, (name, doc) in enumerate(documents.items(), start=1):
        span = make_span(tid(i), sid(i), name, start_ms=i)
        raw = doc if isinstance(doc, str) and doc.startswith('"') else json.dumps(doc, ensure_ascii=False)
        spans.append(json.dumps(span)[:-1] + f', "inputs": {raw}, "outputs": {raw}}}')
    return ('{"spans": [' + ", ".join(spans) + "]}").encode()


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ClickHouseStore, object]]:
    from tests.unit.store.engines import drop_database, engine_url

    batch = decode_ingest(_body(DOCUMENTS), now_ns=BASE_NS)
    assert batch.accepted_total == len(DOCUMENTS)
    url = engine_url("chdb")
    ch = ClickHouseStore.from_url(str(url))
    ch.write("p", batch)
    duck = open_store(str(tmp_path_factory.mktemp("duck")))
    duck.write("p", batch)
    yield ch, duck
    ch.close()
    duck.close()  # type: ignore[attr-defined]
    drop_database(url)


def _names(store: object, text: str, dialect: ClickHouseDialect | None = None) -> set[str]:
    if dialect is not None:
        sql, params = compile_filter(text, dialect)
        rows = store.query_rows(f"SELECT t.name FROM traces t WHERE t.project = ? AND ({sql})", ["p", *params])  # type: ignore[attr-defined]
        return {r[0] for r in rows}
    return {r.name for r in store.search_traces("p", text, max_results=100).traces}  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", FILTERS)
def test_prefilter_changes_no_answer(stores: tuple[ClickHouseStore, object], text: str) -> None:
    ch, duck = stores
    with_prefilter = _names(ch, text, DIALECT)
    assert with_prefilter == _names(ch, text, _NoPrefilter(hot_columns=HOT_ATTRIBUTE_COLUMNS))
    assert with_prefilter == _names(ch, text)  # the store's own search path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("span.inputs ILIKE '%refund%'", {"plain", "upper", "string", "escaped", "quote"}),
        ("span.inputs LIKE '%refund%'", {"plain", "escaped", "quote"}),
        ("span.inputs ILIKE 'please refund%'", {"string"}),
        ("span.inputs LIKE '%\"refund\"%'", set()),  # an object's text is its JSON: the quotes are escaped
        ("span.inputs LIKE '%123%'", {"number"}),
        ("NOT span.inputs ILIKE '%refund%'", {"kelvin", "long_s", "accent", "null", "number"}),
    ],
)
def test_same_answers_as_duckdb(stores: tuple[ClickHouseStore, object], text: str, expected: set[str]) -> None:
    ch, duck = stores
    assert _names(duck, text) == expected
    assert _names(ch, text, DIALECT) == expected


# -- granules skipped ---------------------------------------------------------------------------------------------


def _skip_index_granules(explain: list[tuple[str]], index: str) -> tuple[int, int]:
    """``(selected, total)`` granules of the skip index ``index`` in an ``EXPLAIN indexes=1`` plan."""
    lines = [row[0].strip(" │└├─") for row in explain]
    at = lines.index(f"Name: {index}")
    match = next(m for line in lines[at:] if (m := re.fullmatch(r"Granules: (\d+)/(\d+)", line)))
    return int(match.group(1)), int(match.group(2))


@pytest.fixture(scope="module")
def many() -> Iterator[ClickHouseStore]:
    """40,960 spans over 40 minutes (5 index entries of 8,192 rows); 'xylophone' is in the last minute only."""
    import msgspec

    from spanscope.ingest import IngestBatch
    from spanscope.model import Span
    from tests.unit.store.engines import drop_database, engine_url

    url = engine_url("chdb")
    store = ClickHouseStore.from_url(str(url))
    spans = []
    for i in range(40_960):
        word = "xylophone" if i >= 40_000 else "refund"
        start_ms = i * 60_000 // 1024  # 1,024 spans a minute
        span = make_span(tid(i // 4 + 1), sid(i + 1), "llm", start_ms=start_ms, inputs={"q": f"Q{i}: a {word} please"})
        spans.append(msgspec.convert(span, Span))
    store.write("p", IngestBatch(spans=spans))
    yield store
    store.close()
    drop_database(url)


def test_explain_shows_granules_skipped(many: ClickHouseStore) -> None:
    sql, params = compile_filter("span.inputs ILIKE '%xylophone%'", DIALECT)
    query = f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql})"
    selected, total = _skip_index_granules(many.query_rows(f"EXPLAIN indexes=1 {query}", ["p", *params]), "inputs_text")
    assert (selected, total) == (8, 40)  # one index entry of 8 granules of 1,024 rows, of 40
    assert len(many.query_rows(query, ["p", *params])) == 960 // 4
    # A word in every granule skips nothing, and still finds every trace.
    sql, params = compile_filter("span.inputs ILIKE '%refund%'", DIALECT)
    query = f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql})"
    selected, total = _skip_index_granules(many.query_rows(f"EXPLAIN indexes=1 {query}", ["p", *params]), "inputs_text")
    assert selected == total
    assert len(many.query_rows(query, ["p", *params])) == 40_000 // 4


def test_store_search_finds_the_needle(many: ClickHouseStore) -> None:
    found = many.search_traces("p", "span.inputs ILIKE '%XYLOPHONE please%'", max_results=1000).traces
    assert len(found) == 240
    assert many.count_matching("spans", "p", "span.inputs LIKE '%xylophone%'") == 960
    assert many.count_matching("spans", "p", "span.inputs LIKE '%XYLOPHONE%'") == 0


# -- the 0500 migration keeps a store's data ------------------------------------------------------------------------


def test_query_perf_migration_keeps_the_data() -> None:
    """A store made before ``0500_query_perf`` (argMax views, day-sorted spans) reads the same after it,
    ``0600_traces_by_time`` (traces sorted by start) and ``0800_traces_by_day`` (traces partitioned by day)."""
    from spanscope.store.clickhouse import executor_from_url
    from spanscope.store.clickhouse.schema import MIGRATIONS, TABLES
    from tests.unit.store.engines import drop_database, engine_url

    url = str(engine_url("chdb"))
    ex = executor_from_url(url)
    ex.command(
        "CREATE TABLE schema_migrations (id String, applied_at DateTime DEFAULT now()) ENGINE = MergeTree ORDER BY id"
    )
    for mid, statements in MIGRATIONS.items():
        if mid < "0500_query_perf":
            for statement in statements:
                ex.command(statement)
            ex.insert("schema_migrations", ("id",), [(mid,)])
    old = ClickHouseStore(ex, read_only=True)  # opened without migrating: 0500 and 0600 are still pending
    # The rows as today's writer makes them (it needs today's schema), copied into the old tables.
    scratch_url = str(engine_url("chdb"))
    scratch = ClickHouseStore.from_url(scratch_url)
    scratch.write("p", decode_ingest(_body(DOCUMENTS), now_ns=BASE_NS))
    before = {text: _names(scratch, text, DIALECT) for text in FILTERS[:4]}
    trace_before = scratch.get_trace("p", tid(1))
    scratch_db = scratch_url.rsplit("database=", 1)[1]
    for table, (key, rest) in TABLES.items():
        columns = ", ".join((*key, *rest, "_version"))
        live = " WHERE is_deleted = 0" if table == "traces" else ""
        ex.command(
            f"INSERT INTO {table}_data ({columns}) SELECT {columns} FROM `{scratch_db}`.{table}_data FINAL{live}"
        )
    drop_database(scratch_url)
    try:
        assert trace_before is not None and old.query_rows("SELECT count() FROM traces_data")[0][0] == len(DOCUMENTS)
        migrated = ClickHouseStore(ex)  # applies 0500, 0600 and later
        new = ClickHouseStore(ex, read_only=True)
        assert {"0500_query_perf", "0600_traces_by_time"} <= set(new.migrations_applied())
        assert {text: _names(new, text, DIALECT) for text in FILTERS[:4]} == before
        assert new.get_trace("p", tid(1)) == trace_before
        (sorting_key,) = ex.rows(
            "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'spans_data'"
        )[0]
        assert "intDiv(start_time_ns, 60000000000)" in sorting_key
        assert ex.rows(
            "SELECT sorting_key FROM system.tables WHERE database = currentDatabase() AND name = 'traces_data'"
        ) == [("project, start_time_ns, trace_id",)]
        assert ex.rows("SELECT count() FROM trace_keys") == ex.rows("SELECT count() FROM traces")
        assert ex.rows(
            "SELECT partition_key FROM system.tables WHERE database = currentDatabase() AND name = 'traces_data'"
        ) == [("toDate(fromUnixTimestamp64Nano(ifNull(start_time_ns, 0)))",)]
        # trace_keys is still filled on write (its materialized view was made again over the new traces_data)
        migrated.write("p", IngestBatch(spans=[msgspec.convert(make_span(tid(77), sid(1), "late"), Span)]))
        late = new.get_trace("p", tid(77))
        assert late is not None and late.name == "late"
        assert ex.rows("SELECT count() FROM trace_keys WHERE trace_id = ?", [tid(77)]) == [(1,)]
        assert ex.rows(
            "SELECT count() FROM system.tables WHERE database = currentDatabase() AND name LIKE '%_0001'"
        ) == [(0,)]
    finally:
        drop_database(url)
