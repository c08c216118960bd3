"""Filter text -> (SQL, params): the shapes the planner emits, with exact bound parameters."""

from __future__ import annotations

import pytest

from spanscope.query import compile_filter

SPANS_EXISTS = "EXISTS (SELECT 1 FROM spans s WHERE s.project = t.project AND s.trace_id = t.trace_id AND "
FINDINGS_EXISTS = (
    "EXISTS (SELECT 1 FROM findings_current f WHERE f.project = t.project AND f.trace_id = t.trace_id AND "
)
TAG_TEXT = "json_extract_string(t.tags, ?)"
TAG_NUMBER = "TRY_CAST(json_extract_string(t.tags, ?) AS DOUBLE)"


def whole(column: str) -> str:
    """The text of a whole JSON value (a string unquoted, anything else as stored)."""
    text = f"CAST({column} AS VARCHAR)"
    return f"CASE WHEN starts_with({text}, '\"') THEN json_extract_string({column}, '$') ELSE {text} END"


EXACT = [
    ("trace.duration_ms > 500", "t.duration_ms > ?", [500]),
    ("trace.execution_time_ms <= 1.5", "t.duration_ms <= ?", [1.5]),
    ("trace.status = 'error'", "t.status = ?", ["ERROR"]),
    ("trace.status <> 'ok'", "t.status <> ?", ["OK"]),
    ("trace.name LIKE 'chat%'", "t.name LIKE ?", ["chat%"]),
    ("trace.name not ilike '%x%'", "NOT regexp_matches(t.name, ?)", ["(?si)x"]),
    ("trace.name ilike 'a_b%'", "regexp_matches(t.name, ?)", ["(?si)^a.b"]),
    ("trace.id IN ('a', \"b\")", "t.trace_id IN (?, ?)", ["a", "b"]),
    ("session.id IS NULL", "t.session_id IS NULL", []),
    ("user.id is not null", "t.user_id IS NOT NULL", []),
    ("trace.timestamp >= '2023-07-01'", "t.start_time_ns >= ?", [1_688_169_600_000_000_000]),
    ("trace.timestamp < '2023-07-01T02:00:00+02:00'", "t.start_time_ns < ?", [1_688_169_600_000_000_000]),
    (
        "trace.timestamp_ms = '2023-07-01T00:00:00.000000123Z'",
        "t.start_time_ns = ?",
        [1_688_169_600_000_000_123],
    ),
    ("trace.start_time > 1688169600000", "t.start_time_ns > ?", [1_688_169_600_000_000_000]),
    ("trace.timestamp > 1688169600000.5", "t.start_time_ns > ?", [1_688_169_600_000_500_000]),
    ("tag.x > 1", f"{TAG_NUMBER} > ?", ["/x", 1]),
    ("tag.x > -1.5e2", f"{TAG_NUMBER} > ?", ["/x", -150.0]),
    ("tag.x = '1'", f"{TAG_TEXT} = ?", ["/x", "1"]),
    ("tags.flag = TRUE", f"{TAG_TEXT} = ?", ["/flag", "true"]),
    ("tag.flag != false", f"{TAG_TEXT} <> ?", ["/flag", "false"]),
    ("tag.x IN (1, 2.5)", f"{TAG_NUMBER} IN (?, ?)", ["/x", 1, 2.5]),
    ("tag.x NOT IN ('a')", f"{TAG_TEXT} NOT IN (?)", ["/x", "a"]),
    ("tag.x IS NULL", f"{TAG_TEXT} IS NULL", ["/x"]),
    ("tag.`quality score` = 'high'", f"{TAG_TEXT} = ?", ["/quality score", "high"]),
    ('tag.`say "hi"` = 1', f"{TAG_NUMBER} = ?", ['/say "hi"', 1]),
    ("tag.`back\\slash` = 1", f"{TAG_NUMBER} = ?", ["/back\\slash", 1]),
    ("tag.`a/b~c` = 1", f"{TAG_NUMBER} = ?", ["/a~1b~0c", 1]),
    ("tag.`tick``s` = 1", f"{TAG_NUMBER} = ?", ["/tick`s", 1]),
    ("metadata.tier = 'gold'", "json_extract_string(t.metadata, ?) = ?", ["/tier", "gold"]),
    ("tag.s = 'it''s'", f"{TAG_TEXT} = ?", ["/s", "it's"]),
    ("tag.s = 'it\\'s'", f"{TAG_TEXT} = ?", ["/s", "it's"]),
    ('tag.s = "say ""hi"""', f"{TAG_TEXT} = ?", ["/s", 'say "hi"']),
    ("tag.s LIKE '100\\%'", f"{TAG_TEXT} LIKE ?", ["/s", "100\\%"]),
    (
        "span.name = 'db.query' AND span.duration_ms > 500",
        SPANS_EXISTS + "s.name = ? AND s.duration_ms > ?)",
        ["db.query", 500],
    ),
    (
        "tag.x > 1 AND span.name='a' AND (span.status='ERROR' OR span.duration_ms > 5)",
        f"{TAG_NUMBER} > ? AND " + SPANS_EXISTS + "s.name = ? AND (s.status = ? OR s.duration_ms > ?))",
        ["/x", 1, "a", "ERROR", 5],
    ),
    (
        "span.name = 'a' OR span.kind = 'LLM'",
        SPANS_EXISTS + "(s.name = ? OR s.kind = ?))",
        ["a", "llm"],
    ),
    ("NOT span.status = 'ERROR'", SPANS_EXISTS + "NOT COALESCE(s.status = ?, FALSE))", ["ERROR"]),
    (
        "span.name = 'a' OR tag.x = 1",
        SPANS_EXISTS + f"s.name = ?) OR {TAG_NUMBER} = ?",
        ["a", "/x", 1],
    ),
    (
        "NOT (tag.x = 1 OR span.name = 'a')",
        f"NOT COALESCE({TAG_NUMBER} = ? OR " + SPANS_EXISTS + "s.name = ?), FALSE)",
        ["/x", 1, "a"],
    ),
    (
        "span.attributes.usage.total_tokens > 100",
        SPANS_EXISTS + "TRY_CAST(json_extract_string(s.attributes, ?) AS DOUBLE) > ?)",
        ["/usage.total_tokens", 100],
    ),
    (
        "span.attributes.`gen_ai.request.model` = 'gpt-4o'",
        SPANS_EXISTS + "json_extract_string(s.attributes, ?) = ?)",
        ["/gen_ai.request.model", "gpt-4o"],
    ),
    (
        "span.inputs ILIKE '%refund%'",
        SPANS_EXISTS + f"regexp_matches({whole('s.inputs')}, ?))",
        ["(?si)refund"],
    ),
    (
        "span.inputs.messages[-1].content ILIKE '%refund%'",
        SPANS_EXISTS + "regexp_matches(json_extract_string(json_extract(json_extract(s.inputs, ?), ?), ?), ?))",
        ["/messages", "$[#-1]", "/content", "(?si)refund"],
    ),
    (
        "span.outputs.choices[0].message.content = 'x'",
        SPANS_EXISTS + "json_extract_string(s.outputs, ?) = ?)",
        ["/choices/0/message/content", "x"],
    ),
    (
        "finding.correctness >= 0.5",
        FINDINGS_EXISTS + f"f.name = ? AND TRY_CAST({whole('f.value')} AS DOUBLE) >= ?)",
        ["correctness", 0.5],
    ),
    (
        "feedback.`user rating` = 'good'",
        FINDINGS_EXISTS + f"f.name = ? AND {whole('f.value')} = ?)",
        ["user rating", "good"],
    ),
    ("finding.x IS NULL", "NOT " + FINDINGS_EXISTS + "f.name = ?)", ["x"]),
    ("finding.x IS NOT NULL", FINDINGS_EXISTS + "f.name = ?)", ["x"]),
    ("NOT trace.name = 'a'", "NOT COALESCE(t.name = ?, FALSE)", ["a"]),
    (
        "trace.name = 'a' OR trace.name = 'b' AND trace.status = 'OK'",
        "t.name = ? OR (t.name = ? AND t.status = ?)",
        ["a", "b", "OK"],
    ),
    (
        "(trace.name = 'a' OR trace.name = 'b') AND trace.status = 'OK'",
        "(t.name = ? OR t.name = ?) AND t.status = ?",
        ["a", "b", "OK"],
    ),
]


@pytest.mark.parametrize(("text", "sql", "params"), EXACT)
def test_compiles_to_exact_sql_and_params(text: str, sql: str, params: list[object]) -> None:
    assert compile_filter(text) == (sql, params)


@pytest.mark.parametrize("empty", [None, "", "   \n\t"])
def test_no_filter_is_true(empty: str | None) -> None:
    assert compile_filter(empty) == ("TRUE", [])


def test_span_operands_of_one_conjunction_share_one_exists_across_parentheses() -> None:
    text = "span.name = 'a' AND (tag.x = 1 AND span.kind = 'db') AND trace.status='OK' AND span.duration_ms>3"
    sql, params = compile_filter(text)
    assert sql.count("EXISTS") == 1
    assert SPANS_EXISTS + "s.name = ? AND s.kind = ? AND s.duration_ms > ?)" in sql
    assert params == ["a", "db", 3, "/x", 1, "OK"]


def test_span_operands_in_different_branches_of_or_get_their_own_exists() -> None:
    sql, _ = compile_filter("(span.name = 'a' AND tag.x = 1) OR (span.name = 'b' AND tag.x = 2)")
    assert sql.count("EXISTS") == 2


def test_a_parsed_expression_compiles_like_its_text() -> None:
    from spanscope.query import parse_filter

    text = "tag.env = 'prod' AND span.kind = 'llm'"
    assert compile_filter(parse_filter(text)) == compile_filter(text)
