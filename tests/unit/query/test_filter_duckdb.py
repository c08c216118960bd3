"""Filters executed against a real DuckDB holding the conftest dataset: exact sets of matching traces."""

from __future__ import annotations

import duckdb
import pytest

from spanscope.query import compile_filter
from tests.unit.query.dataset import ALL_IDS, PROJECT


def matching(db: duckdb.DuckDBPyConnection, text: str) -> set[str]:
    sql, params = compile_filter(text)
    rows = db.execute(f"SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({sql})", [PROJECT, *params]).fetchall()
    return {row[0] for row in rows}


def ids(*names: str) -> set[str]:
    return set(names)


def all_but(*names: str) -> set[str]:
    return set(ALL_IDS) - set(names)


TRACE_FIELDS = [
    ("trace.id = 't3'", ids("t3")),
    ("trace.id IN ('t1', 't8', 'nope')", ids("t1", "t8")),
    ("trace.name = 'chat'", ids("t1", "t2", "t6")),
    ("trace.name LIKE 're%'", ids("t3", "t4")),
    ("trace.name ILIKE 'CHAT'", ids("t1", "t2", "t6")),
    ("trace.name NOT LIKE 'c%'", ids("t3", "t4", "t7", "t8")),
    ("trace.name NOT ILIKE 'C%'", ids("t3", "t4", "t7", "t8")),
    ("trace.name IS NULL", ids("t5")),
    ("trace.name is not null", all_but("t5")),
    ("trace.name != 'chat'", ids("t3", "t4", "t7", "t8")),
    ("trace.name <> 'chat'", ids("t3", "t4", "t7", "t8")),
    ("trace.status = 'ERROR'", ids("t2")),
    ("trace.status = 'error'", ids("t2")),
    ("trace.status != 'OK'", ids("t2", "t5")),
    ("trace.status IN ('UNSET', 'error')", ids("t2", "t5")),
    ("trace.status NOT IN ('OK')", ids("t2", "t5")),
    ("attributes.status = 'OK'", all_but("t2", "t5")),
    ("trace.duration_ms > 1000", ids("t1", "t3", "t8")),
    ("trace.duration_ms >= 700", ids("t1", "t3", "t4", "t8")),
    ("trace.duration_ms < 100", ids("t5", "t7")),
    ("trace.duration_ms <= 100", ids("t5", "t6", "t7")),
    ("trace.execution_time_ms = 300", ids("t2")),
    ("trace.duration_ms <> 300", all_but("t2")),
    ("trace.duration_ms IN (10, 50.0)", ids("t5", "t7")),
    ("trace.duration_ms NOT IN (10, 50.0)", all_but("t5", "t7")),
    ("session.id = 's1'", ids("t1", "t2")),
    ("session.id IS NULL", ids("t4", "t5", "t7", "t8")),
    ("user.id = 'u1'", ids("t1", "t4", "t6")),
    ("user.id IN ('u2', 'u3')", ids("t2", "t3")),
    ("user.id IS NOT NULL", ids("t1", "t2", "t3", "t4", "t6")),
]

TIMESTAMPS = [
    ("trace.timestamp >= '2023-07-01'", all_but("t1")),
    ("trace.timestamp < '2023-07-01T06:00:00Z'", ids("t1")),
    ("trace.timestamp = '2023-07-01 06:00:00'", ids("t2")),
    ("trace.timestamp = '2023-07-01T08:00:00+02:00'", ids("t2")),
    ("trace.timestamp = '2023-07-05T08:00:00Z'", ids("t7")),
    ("trace.timestamp_ms >= 1688169600000 AND trace.timestamp_ms < 1688256000000", ids("t2", "t3")),
    ("trace.timestamp = 1688191200000.0", ids("t2")),
    ("trace.start_time > '2023-07-05'", ids("t7", "t8")),
    ("trace.timestamp IN ('2023-07-02', 1688342400000)", ids("t4", "t5")),
]

TAGS_AND_METADATA = [
    ("tag.env = 'prod'", ids("t1", "t3")),
    ("tags.env != 'prod'", ids("t2", "t4")),
    ("NOT tag.env = 'prod'", all_but("t1", "t3")),
    ("tag.x > 1", ids("t1", "t3", "t8")),  # t2's x is the string 'abc': never a number
    ("tag.x != 5", ids("t3", "t8")),
    ("tag.x = 'abc'", ids("t2")),
    ("tag.x = '5'", ids("t1")),  # a string literal compares the number's text
    ("tag.x < 2", ids("t8")),
    ("tag.x LIKE '1%'", ids("t3", "t8")),
    ("tag.quality_score >= 0.5", ids("t1", "t6")),
    ("tag.quality_score < 0.5", ids("t2")),  # the JSON string "0.4" counts as a number
    ("tag.quality_score IN (0.4, 0.9)", ids("t1", "t2")),
    ("tag.quality_score NOT IN (0.4, 0.9)", ids("t6")),
    ("tag.quality_score IS NULL", ids("t3", "t4", "t5", "t7", "t8")),
    ("tag.flag = true", ids("t1")),
    ("tag.flag = FALSE", ids("t6")),
    ("tag.flag != true", ids("t6")),
    ("tag.flag IS NOT NULL", ids("t1", "t6")),
    ("tag.n IS NULL", set(ALL_IDS)),  # JSON null on t6, absent elsewhere
    ("tag.`quality score` = 'high'", ids("t1")),
    ('tag.`a"b` = 1', ids("t1")),
    ("tag.`q\"uote` = 'yes'", ids("t7")),
    ("tag.`weird\\key` = 'bs'", ids("t7")),
    ("tag.env LIKE 'st%'", ids("t4")),
    ("tag.env ILIKE 'PROD'", ids("t1", "t3")),
    ("tag.env NOT ILIKE 'prod'", ids("t2", "t4")),
    ("metadata.user_tier = 'gold'", ids("t1")),
    ("metadata.retries >= 0", ids("t1", "t6")),
    ("metadata.customer IS NOT NULL", ids("t5")),
    ("metadata.retries IS NULL", all_but("t1", "t6")),
]

FINDINGS = [
    ("finding.correctness > 0.5", ids("t1", "t4")),  # t4's is on a span; t8's is the string 'good'
    ("feedback.correctness < 0.5", ids("t2", "t4")),
    ("finding.correctness = 'good'", ids("t8")),
    ("finding.correct = true", ids("t1")),
    ("finding.correct = false", ids("t2")),
    ("finding.relevance = 1", ids("t1")),
    ("finding.correctness IS NULL", ids("t3", "t5", "t6", "t7")),
    ("finding.correctness IS NOT NULL", ids("t1", "t2", "t4", "t8")),
    ("NOT finding.correctness > 0.5", all_but("t1", "t4")),
]

SPANS = [
    ("span.name = 'db.query'", ids("t2", "t3", "t4")),  # never project q's t5
    ("span.name = 'db.query' AND span.duration_ms > 500", ids("t4")),  # t3: fast db.query + other slow span
    ("span.duration_ms > 500 AND span.name = 'db.query'", ids("t4")),
    ("span.name = 'db.query' AND trace.duration_ms > 0 AND span.duration_ms > 500", ids("t4")),
    ("(span.name = 'db.query' AND trace.status = 'OK') AND span.duration_ms > 500", ids("t4")),
    ("span.kind = 'db'", ids("t2", "t3", "t4")),
    ("span.kind = 'LLM'", ids("t1", "t6")),
    ("span.type IN ('guardrail', 'http')", ids("t7", "t8")),
    ("span.kind NOT IN ('chain', 'agent', 'db', 'llm')", ids("t3", "t5", "t7", "t8")),
    ("span.status = 'ERROR'", ids("t2", "t7", "t8")),
    ("span.status = 'error' AND span.kind = 'http'", ids("t8")),
    ("span.status = 'ERROR' AND span.kind = 'db'", ids("t2")),
    ("span.status = 'ERROR' AND span.kind = 'tool'", set()),
    ("NOT span.status = 'ERROR'", all_but("t2")),  # some span is not in error
    ("NOT (span.status = 'ERROR' OR tag.env = 'prod')", ids("t4", "t5", "t6")),
    (
        "tag.x > 1 AND span.name = 'slow.thing' AND (span.status = 'OK' OR span.duration_ms > 5000)",
        ids("t3"),
    ),
    ("span.duration_ms >= 4000", ids("t8")),
    ("span.name = 'guard' OR span.kind = 'http'", ids("t7", "t8")),
    ("span.name = 'guard' OR span.kind = 'http' OR trace.id = 't1'", ids("t1", "t7", "t8")),
    ("NOT (span.name = 'chat' OR span.name = 'retrieve')", all_but("t6")),  # t6's only span is 'chat'
    ("NOT (span.name = 'chat' OR span.name = 'retrieve') AND span.kind = 'db'", ids("t2", "t3", "t4")),
    ("span.attributes.usage.total_tokens > 100", ids("t1", "t6", "t8")),  # t6 holds the string "200"
    ("span.attributes.`usage.total_tokens` = 120", ids("t1")),
    ("span.attributes.gen_ai.request.model = 'gpt-4o-mini'", ids("t1")),
    ("span.attributes.`gen_ai.request.model` LIKE 'gpt%'", ids("t1")),
    ("span.attributes.gen_ai.request.model IS NOT NULL", ids("t1", "t7")),
    ("span.attributes.user ILIKE '%tier%'", ids("t6")),  # an object compares as its JSON text
    ("span.attributes.db.statement = 'select 1' AND span.kind = 'db'", ids("t2")),
    ("span.attributes.gen_ai.request.model = 'gpt-4o' AND span.attributes.usage.total_tokens = 120", set()),
    ("span.inputs ILIKE '%refund%'", ids("t1", "t6")),
    ("span.inputs = 'just a string'", ids("t5")),
    ("span.inputs.messages IS NOT NULL", ids("t1", "t6")),
    ("span.inputs.messages[0].content = 'hello'", ids("t6")),
    ("span.inputs.messages[1].content LIKE 'I want%'", ids("t1")),
    ("span.inputs.messages[-1].content ILIKE '%refund%'", ids("t1", "t6")),
    ("span.inputs.messages[-1].role = 'user'", ids("t1", "t6")),
    ("span.inputs.messages[-2].content = 'hi'", ids("t6")),
    ("span.inputs.messages[-3].role = 'user'", ids("t6")),  # t1 has only two messages
    ("span.inputs[\"messages\"][-2].role = 'system'", ids("t1")),
    ("span.outputs.choices[0].message.content = 'no'", ids("t6")),
    ("span.outputs.choices[-1].message.content LIKE '%refund%'", ids("t1")),
    ("span.outputs IS NULL AND span.kind = 'other'", ids("t5")),
]

BOOLEAN_STRUCTURE = [
    ("trace.status = 'ERROR' OR tag.env = 'staging'", ids("t2", "t4")),
    ("(tag.env = 'prod' OR tag.env = 'dev') AND trace.duration_ms < 1500", ids("t1", "t2")),
    ("tag.env = 'prod' OR tag.env = 'dev' AND trace.duration_ms < 1500", ids("t1", "t2", "t3")),
    ("NOT NOT trace.status = 'ERROR'", ids("t2")),
    ("not (trace.name = 'chat' or trace.name = 'retrieve')", ids("t5", "t7", "t8")),
    ("NOT trace.name = 'chat' AND trace.duration_ms > 500", ids("t3", "t4", "t8")),
    ("trace.name = 'chat' and tag.flag is not null", ids("t1", "t6")),
    ("((trace.id = 't1'))", ids("t1")),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    TRACE_FIELDS + TIMESTAMPS + TAGS_AND_METADATA + FINDINGS + SPANS + BOOLEAN_STRUCTURE,
)
def test_filter_matches_exactly(db: duckdb.DuckDBPyConnection, text: str, expected: set[str]) -> None:
    assert matching(db, text) == expected


def test_no_filter_matches_the_whole_project(db: duckdb.DuckDBPyConnection) -> None:
    assert matching(db, "") == set(ALL_IDS)


@pytest.mark.parametrize(
    "text",
    [
        "tag.`x'); DROP TABLE pwned; --` = 'y''; DROP TABLE pwned; --'",
        'span.attributes.`"; SELECT pwned --` = 1',
        'span.inputs.`a"]`[-1].`$.pwned` IS NOT NULL',
        "finding.`'); DELETE FROM pwned; --` LIKE '%pwned'",
    ],
)
def test_hostile_keys_and_values_are_bound_not_spliced(db: duckdb.DuckDBPyConnection, text: str) -> None:
    sql, params = compile_filter(text)
    assert "pwned" not in sql and ";" not in sql and "--" not in sql
    assert any("pwned" in str(p) for p in params)
    assert matching(db, text) == set()
    assert db.execute("SELECT count(*) FROM traces").fetchone() == (9,)
