"""Malformed filters: the error class, its exact text and the 1-based column it points at."""

from __future__ import annotations

import pytest

from spanscope.query import (
    FilterError,
    FilterSyntaxError,
    FilterTypeError,
    UnknownFieldError,
    compile_filter,
    parse_filter,
)

FIELD_LIST = (
    "expected one of trace.id, trace.name, trace.status, trace.timestamp, trace.duration_ms, trace.span_count, "
    "tag.<key>, metadata.<key>, finding.<name>, session.id, user.id, span.name, span.kind, span.status, "
    "span.duration_ms, span.id, span.parent_id, span.timestamp, span.attributes.<key>, span.inputs[.<path>], "
    "span.outputs[.<path>]"
)
OPERATORS = "=, !=, <, <=, >, >=, LIKE, ILIKE, NOT LIKE, NOT ILIKE, IN, NOT IN, IS NULL, IS NOT NULL"
CONDITION = "a condition starts with a field, e.g. trace.status = 'ERROR'"

# (filter, error class, column, exact str(err))
CASES = [
    ("()", FilterSyntaxError, 2, f"expected a condition inside '()' at column 2; {CONDITION}"),
    (
        "trace.duration_ms < ",
        FilterSyntaxError,
        21,
        "expected a value after '<' at column 21; a quoted string, a number, true or false",
    ),
    (
        "trace.name = chat",
        FilterSyntaxError,
        14,
        "expected a value after '=' at column 14; strings are quoted: 'chat'",
    ),
    ("trace.bogus = 1", UnknownFieldError, 1, f"unknown field 'trace.bogus' at column 1; {FIELD_LIST}"),
    (
        "trace.nope = 1",
        UnknownFieldError,
        1,
        f"unknown field 'trace.nope' at column 1; {FIELD_LIST}; did you mean trace.name?",
    ),
    ("foo.bar = 1", UnknownFieldError, 1, f"unknown field 'foo.bar' at column 1; {FIELD_LIST}"),
    (
        "tag.a = 1 AND span.bogus = 'x'",
        UnknownFieldError,
        15,
        f"unknown field 'span.bogus' at column 15; {FIELD_LIST}",
    ),
    (
        "trace.duraton_ms > 5",
        UnknownFieldError,
        1,
        f"unknown field 'trace.duraton_ms' at column 1; {FIELD_LIST}; did you mean trace.duration_ms?",
    ),
    ("tag.env = 'prod", FilterSyntaxError, 11, "unterminated string starting at column 11; close it with '"),
    ("trace.status ~ 'OK'", FilterSyntaxError, 14, "unexpected '~' at column 14"),
    ("trace.status ! 'OK'", FilterSyntaxError, 14, "unexpected '!' at column 14; did you mean '!='?"),
    (
        "trace.name",
        FilterSyntaxError,
        11,
        f"expected an operator after 'trace.name', got nothing at column 11; one of {OPERATORS}",
    ),
    (
        "trace.name 'x'",
        FilterSyntaxError,
        12,
        f"expected an operator after 'trace.name', got 'x' at column 12; one of {OPERATORS}",
    ),
    (
        "tag.x != NULL",
        FilterSyntaxError,
        10,
        "expected a value after '!=' at column 10; test for absence with IS NULL or IS NOT NULL",
    ),
    ("trace.name NOT = 'x'", FilterSyntaxError, 16, "expected LIKE, ILIKE or IN after NOT at column 16"),
    ("trace.name IS 5", FilterSyntaxError, 15, "expected NULL after IS at column 15"),
    ("trace.name IS NOT 'x'", FilterSyntaxError, 19, "expected NULL after IS NOT at column 19"),
    (
        "trace.duration_ms > 'abc'",
        FilterTypeError,
        21,
        "trace.duration_ms compares with a number, got the string 'abc' at column 21",
    ),
    (
        "trace.status > 5",
        FilterTypeError,
        16,
        "trace.status compares with a status (OK, ERROR or UNSET), got the number 5 at column 16",
    ),
    (
        "span.status < 'OK'",
        FilterTypeError,
        13,
        "< does not apply to span.status at column 13; use =, !=, IN, NOT IN, LIKE, ILIKE or IS NULL",
    ),
    (
        "tag.x LIKE 5",
        FilterTypeError,
        12,
        "LIKE needs a string pattern, got the number 5 at column 12; for example '%refund%'",
    ),
    (
        "trace.duration_ms LIKE '5%'",
        FilterTypeError,
        19,
        "LIKE does not apply to trace.duration_ms (a number) at column 19; "
        "use =, !=, <, <=, >, >=, IN, NOT IN or IS NULL",
    ),
    (
        "trace.name = true",
        FilterTypeError,
        14,
        "trace.name compares with a string, got the boolean true at column 14",
    ),
    (
        "tag.flag > TRUE",
        FilterTypeError,
        12,
        "> does not apply to the boolean true at column 12; use = or != with true/false",
    ),
    (
        "tag.x IN (1, 'a')",
        FilterTypeError,
        14,
        "the list mixes numbers and strings (the number 1, the string 'a') at column 14; "
        "use numbers to compare numerically or strings to compare text",
    ),
    (
        "span.kind = 'robot'",
        FilterTypeError,
        13,
        "unknown span kind 'robot' at column 13; expected one of llm, tool, retriever, embedding, chain, "
        "agent, db, http, guardrail, evaluator, other",
    ),
    (
        "trace.status IN ('OK', 'FAILED')",
        FilterTypeError,
        24,
        "unknown status 'FAILED' at column 24; expected one of OK, ERROR, UNSET",
    ),
    (
        "trace.timestamp > '2023-13-45'",
        FilterTypeError,
        19,
        "invalid timestamp '2023-13-45' at column 19; expected an ISO-8601 date or datetime ('2023-07-01', "
        "'2023-07-01T12:00:00Z', '2023-07-01 12:00:00+02:00') or epoch milliseconds",
    ),
    (
        "trace.status = 'OK' foo",
        FilterSyntaxError,
        21,
        "unexpected 'foo' at column 21; expected AND, OR or the end of the filter",
    ),
    ("trace.status = 'OK')", FilterSyntaxError, 20, "unexpected ')' without a matching '(' at column 20"),
    (
        "(trace.status = 'OK' OR tag.x = 1",
        FilterSyntaxError,
        34,
        "expected ')' at column 34; to close the '(' at column 1",
    ),
    (
        "tag.x IN ()",
        FilterSyntaxError,
        11,
        "expected a value in the IN list at column 11; the list cannot be empty",
    ),
    ("tag.x IN 1", FilterSyntaxError, 10, "expected '(' after IN at column 10; for example IN ('a', 'b')"),
    (
        "tag.x NOT IN (1, 2",
        FilterSyntaxError,
        19,
        "expected ',' or ')' in the NOT IN list, got the end of the filter at column 19",
    ),
    (
        "tag.x IN (1,)",
        FilterSyntaxError,
        13,
        "expected a value after ',' in the IN list at column 13; a quoted string, a number, true or false",
    ),
    (
        "AND trace.name = 'x'",
        FilterSyntaxError,
        1,
        f"expected a condition, got 'AND' at column 1; {CONDITION}",
    ),
    (
        "trace.name = 'a' AND",
        FilterSyntaxError,
        21,
        f"expected a condition after 'AND' at column 21; {CONDITION}",
    ),
    ("NOT", FilterSyntaxError, 4, f"expected a condition after 'NOT' at column 4; {CONDITION}"),
    (
        "tag. = 1",
        FilterSyntaxError,
        5,
        "expected a key after 'tag.' at column 5; keys with spaces or other characters go in backticks: tag.`my key`",
    ),
    (
        "tag.`quality score = 1",
        FilterSyntaxError,
        5,
        "unterminated backtick-quoted name starting at column 5; close it with '`'",
    ),
    (
        "span.inputs.messages[x].content = 'a'",
        FilterSyntaxError,
        22,
        "expected an index or a quoted key after '[' at column 22; for example [0], [-1] or [\"key\"]",
    ),
    (
        "span.inputs.messages[0 = 'a'",
        FilterSyntaxError,
        21,
        "unterminated '[' starting at column 21; close it with ']'",
    ),
    (
        "tag.x[0] = 1",
        FilterSyntaxError,
        6,
        "expected a key without an index at column 6; quote keys containing '[' in backticks",
    ),
    (
        "trace.duration_ms > 5abc",
        FilterSyntaxError,
        21,
        "unexpected '5abc' at column 21; expected a number such as 42, -1.5 or 1e3",
    ),
]


@pytest.mark.parametrize(("text", "cls", "column", "message"), CASES, ids=[c[0] for c in CASES])
def test_error_names_column_and_what_was_expected(text: str, cls: type[FilterError], column: int, message: str) -> None:
    with pytest.raises(cls) as caught:
        parse_filter(text)
    err = caught.value
    assert str(err) == message
    assert err.column == column
    assert str(err).startswith(f"{err.message} at column {column}")
    assert isinstance(err, FilterError) and isinstance(err, ValueError)


def test_compile_filter_raises_the_same_errors() -> None:
    with pytest.raises(FilterTypeError, match="at column 21"):
        compile_filter("trace.duration_ms > 'abc'")


@pytest.mark.parametrize("text", [c[0] for c in CASES[:8]])
def test_an_error_survives_the_trip_through_a_server_answer(text: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    original = caught.value
    rebuilt = FilterError.from_server(str(original), original.column)
    assert (str(rebuilt), rebuilt.message, rebuilt.column, rebuilt.hint) == (
        str(original), original.message, original.column, original.hint,
    )  # fmt: skip


def test_errors_keep_their_class_when_shifted() -> None:
    err = UnknownFieldError("unknown field 'x'", 3, "hint").shifted(4)
    assert type(err) is UnknownFieldError and err.column == 7 and err.hint == "hint"
