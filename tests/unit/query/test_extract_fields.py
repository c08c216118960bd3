"""Extract-field paths resolved in Python against an already-fetched trace, and json_path_get."""

from __future__ import annotations

from typing import Any

import pytest

from spanscope.query import (
    ExtractField,
    FilterError,
    FilterSyntaxError,
    UnknownFieldError,
    json_path_get,
    parse_extract_field,
    resolve_extract_field,
)


def _span(span_id: str, parent: str | None, name: str, start: int, **rest: Any) -> dict[str, Any]:
    return {"span_id": span_id, "parent_span_id": parent, "name": name, "start_time_ns": start,
            "attributes": rest.pop("attributes", {}), "inputs": rest.pop("inputs", None),
            "outputs": rest.pop("outputs", None)}  # fmt: skip


# Spans deliberately listed out of start order.
TRACE: dict[str, Any] = {
    "tags": {"env": "prod", "quality score": 0.9},
    "findings": [
        {"name": "correctness", "value": 0.1, "span_id": "s2", "time_ns": 50},  # later, but on a span
        {"name": "correctness", "value": 0.8, "span_id": None, "time_ns": 10},
        {"name": "correctness", "value": 0.7, "span_id": None, "time_ns": 20},  # latest on the trace
        {"name": "relevance", "value": 1, "span_id": "s2", "time_ns": 5},
        {"name": "relevance", "value": 0, "span_id": "s3", "time_ns": 7},  # latest on any span
    ],
    "spans": [
        _span("s3", "s1", "llm", 300, attributes={"usage.total_tokens": 30, "gen_ai.request.model": "gpt-4o"},
              outputs={"choices": [{"message": {"content": "second llm"}}]}),
        _span("s1", None, "agent", 100, attributes={"usage.total_tokens": 99, "maybe": None},
              inputs={"question": "q?"}, outputs=None),
        _span("s2", "s1", "llm", 200,
              attributes={"gen_ai.request.model": "gpt-4o-mini", "usage": {"total_tokens": 7}, "maybe": 5},
              inputs={"messages": [{"role": "user", "content": "hi"}, {"role": "bot", "content": "yo"}]},
              outputs={"choices": [{"message": {"content": "first llm"}}]}),
        _span("s4", "s1", "retrieve docs", 400, outputs=[{"doc": "a"}, {"doc": "b"}]),
    ],
}  # fmt: skip

CASES = [
    ("span.attributes.usage.total_tokens", 99),  # the root has it
    ("span.attributes.`usage.total_tokens`", 99),
    ("span.attributes.gen_ai.request.model", "gpt-4o-mini"),  # root lacks it: first span by start time
    ("span.attributes.maybe", 5),  # a JSON null on the root counts as missing
    ("span.attributes.missing", None),
    ("span.inputs", {"question": "q?"}),
    ("span.inputs.question", "q?"),
    ("span.inputs.messages[-1].content", "yo"),
    ("span.inputs.messages[9].content", None),
    ("span.outputs", {"choices": [{"message": {"content": "first llm"}}]}),  # root outputs are null
    ("span.outputs.choices[0].message.content", "first llm"),
    ("`llm`.outputs.choices[0].message.content", "first llm"),  # first span with that name
    ("llm.inputs.messages[0].role", "user"),
    ("llm.attributes.usage.total_tokens", 7),  # nested attributes are found by their dotted key
    ("`llm`.attributes.`gen_ai.request.model`", "gpt-4o-mini"),
    ("`retrieve docs`.outputs[-1].doc", "b"),
    ("`retrieve docs`.outputs", [{"doc": "a"}, {"doc": "b"}]),
    ("`retrieve docs`.outputs[5]", None),
    ("`agent`.outputs", None),
    ("`nope`.outputs", None),
    ("tag.env", "prod"),
    ("tags.`quality score`", 0.9),
    ("tag.missing", None),
    ("finding.correctness", 0.7),  # latest trace-level finding wins over a later span finding
    ("feedback.relevance", 0),  # no trace-level one: latest on any span
    ("finding.nope", None),
]


@pytest.mark.parametrize(("path", "expected"), CASES)
def test_resolve_extract_field(path: str, expected: Any) -> None:
    assert resolve_extract_field(parse_extract_field(path), TRACE) == expected


def test_resolve_accepts_text_and_tolerates_missing_sections() -> None:
    assert resolve_extract_field("span.inputs", {}) is None
    assert resolve_extract_field("tag.x", {"tags": None}) is None
    assert resolve_extract_field("finding.x", {"findings": []}) is None


def test_without_a_root_the_first_span_by_start_time_is_used() -> None:
    trace = {
        "spans": [
            _span("b", "zz", "late", 20, inputs={"v": 2}),
            _span("a", "zz", "early", 10, inputs={"v": 1}),
        ]
    }
    assert resolve_extract_field("span.inputs.v", trace) == 1


def test_parse_extract_field_structure() -> None:
    field = parse_extract_field("`retrieve docs`.outputs[0].doc")
    assert field == ExtractField(
        text="`retrieve docs`.outputs[0].doc", source=field.source, part="outputs", span_name="retrieve docs",
        path=(0, "doc"),
    )  # fmt: skip
    assert parse_extract_field("span.attributes.usage.total_tokens").key == "usage.total_tokens"
    assert parse_extract_field("feedback.`user rating`").key == "user rating"


@pytest.mark.parametrize(
    ("path", "spans", "findings"),
    [
        ("span.inputs", True, False),
        ("`a`.outputs", True, False),
        ("tag.x", False, False),
        ("finding.x", False, True),
    ],
)
def test_what_a_field_needs_fetched(path: str, spans: bool, findings: bool) -> None:
    field = parse_extract_field(path)
    assert (field.needs_spans, field.needs_findings) == (spans, findings)


@pytest.mark.parametrize(
    ("path", "cls", "column"),
    [
        ("bogus", UnknownFieldError, 1),
        ("span.nope", UnknownFieldError, 1),
        ("trace.name", UnknownFieldError, 1),
        ("`x`.bogus", UnknownFieldError, 1),
        ("span.attributes.", FilterSyntaxError, 17),
        ("span.inputs.", FilterSyntaxError, 13),
        ("span.inputs.messages[", FilterSyntaxError, 22),
        ("tag.", FilterSyntaxError, 5),
        ("`unterminated.inputs", FilterSyntaxError, 1),
    ],
)
def test_bad_extract_fields(path: str, cls: type[FilterError], column: int) -> None:
    with pytest.raises(cls) as caught:
        parse_extract_field(path)
    assert caught.value.column == column


DOC = {
    "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
    "choices": [{"message": {"content": "c"}}],
    "a": {"b": 2, "0": "zero-key"},
    "key with spaces": {"x": 1},
    "a.b": 3,
    "it's": 4,
    "list": [10, 20],
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("messages[-1].content", "b"),
        ("messages[0].role", "user"),
        ("messages[-3]", None),
        ("choices[0].message.content", "c"),
        ("a.b", 2),
        ('["key with spaces"]', {"x": 1}),
        ('["key with spaces"].x', 1),
        ("['it''s']", 4),
        ("`a.b`", 3),
        ("list.1", 20),  # like a JSON pointer: a digit key indexes a list
        ("a[0]", "zero-key"),  # and an index names a dict key
        ("a.b.c", None),
        ("nope", None),
        ("$.a.b", 2),
        ("$", DOC),
        ("a[-1]", None),  # a negative index never names a dict key
        ("", DOC),
    ],
)
def test_json_path_get(path: str, expected: Any) -> None:
    assert json_path_get(DOC, path) == expected


def test_json_path_get_on_a_list_root_and_a_bad_path() -> None:
    assert json_path_get([1, 2, 3], "[-1]") == 3
    assert json_path_get({"$ref": 1}, "$ref") == 1
    with pytest.raises(FilterError, match="expected"):
        json_path_get(DOC, "messages[")
