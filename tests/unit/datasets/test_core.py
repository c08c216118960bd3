"""Dataset rules every engine shares: hashes, record rows, field paths with provenance, sampling, diffs."""

from __future__ import annotations

from collections import Counter

import pytest

from spanscope.query import FilterError
from spanscope.store.datasets_core import (
    MISSING_STRATUM,
    DatasetError,
    SampleSpec,
    canonical_json,
    content_hash,
    diff_members,
    parse_field_path,
    parse_mapping,
    record_from_row,
    record_from_trace,
    resolve_path,
    revision_hash,
    sample_plan,
    select,
    stratum_keys,
    version_hash,
)

ROOT, LLM, FINAL, RETR = "1" * 16, "2" * 16, "3" * 16, "4" * 16
TRACE = {
    "trace_id": "a" * 32,
    "name": "chatbot.turn",
    "status": "OK",
    "duration_ms": 1234.5,
    "session_id": "s-1",
    "user_id": "u-7",
    "tags": {"quality_score": 0.3, "user": "alice"},
    "metadata": {"intent": "refund"},
    "findings": [{"name": "correct", "value": False, "span_id": None, "time_ns": 5}],
    "spans": [
        {"span_id": ROOT, "parent_span_id": None, "name": "chatbot.turn", "start_time_ns": 1,
         "inputs": {"messages": [{"role": "system", "content": "be nice"}, {"role": "user", "content": "refund A1?"}]},
         "outputs": {"response": "done"}, "attributes": {}},
        {"span_id": RETR, "parent_span_id": ROOT, "name": "retriever.search", "start_time_ns": 2,
         "inputs": {"query": "refund"}, "outputs": {"documents": ["policy.md", "faq.md"]}, "attributes": {}},
        {"span_id": LLM, "parent_span_id": ROOT, "name": "llm.generate", "start_time_ns": 3,
         "outputs": {"choices": [{"message": {"content": None, "tool_calls": []}}]},
         "attributes": {"gen_ai.request.model": "gpt-4o-mini"}},
        {"span_id": FINAL, "parent_span_id": ROOT, "name": "llm.generate_final", "start_time_ns": 4,
         "outputs": {"choices": [{"message": {"content": "Refund started."}}]}, "attributes": {}},
    ],
}  # fmt: skip


def test_hashes_are_canonical_and_cover_what_they_say() -> None:
    assert canonical_json({"b": 1, "a": [1.5, "é"]}) == '{"a":[1.5,"é"],"b":1}'
    assert content_hash({"a": 1, "b": 2}) == content_hash({"b": 2, "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": "1"})
    base = revision_hash("r1", {"a": 1}, "x", "t" * 32, None)
    assert base == revision_hash("r1", {"a": 1}, "x", "t" * 32, None)
    others = [
        revision_hash("r2", {"a": 1}, "x", "t" * 32, None),
        revision_hash("r1", {"a": 1}, "y", "t" * 32, None),
        revision_hash("r1", {"a": 1}, "x", None, None),
    ]
    assert len({base, *others}) == 4
    assert version_hash([("r1", "h1"), ("r2", "h2")]) != version_hash([("r2", "h2"), ("r1", "h1")])
    assert version_hash([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    with pytest.raises(DatasetError, match="finite"):
        canonical_json({"x": float("nan")})


def test_record_rows_split_fields_from_reserved_keys() -> None:
    rec = record_from_row(
        {"input": "q", "context": ["d"], "expected": "a", "record_id": 7, "source_trace_id": "t" * 32}
    )
    assert rec.fields == {"input": "q", "context": ["d"]}
    assert (rec.expected, rec.record_id, rec.source_trace_id, rec.source_span_id) == ("a", "7", "t" * 32, None)
    assert rec.has_expected
    nested = record_from_row({"record_id": "r", "fields": {"input": "q"}, "expected": None, "content_hash": "x"})
    assert nested.fields == {"input": "q"}
    assert not record_from_row({"input": "q"}).has_expected
    with pytest.raises(DatasetError, match="record 3: expected an object"):
        record_from_row(["x"], 3)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match="source_trace_id must be a string"):
        record_from_row({"input": "q", "source_trace_id": 5})


@pytest.mark.parametrize(
    ("path", "value", "span"),
    [
        ("span.inputs.messages[-1].content", "refund A1?", ROOT),
        # the root has no choices; llm.generate's content is null, so the final answer's span supplies it
        ("span.outputs.choices[0].message.content", "Refund started.", FINAL),
        ("`retriever.search`.outputs.documents", ["policy.md", "faq.md"], RETR),
        ("span.attributes.`gen_ai.request.model`", "gpt-4o-mini", LLM),
        ("tag.user", "alice", None),
        ("finding.correct", False, None),
        ("metadata.intent", "refund", None),
        ("user.id", "u-7", None),
        ("session.id", "s-1", None),
        ("trace.duration_ms", 1234.5, None),
        ("span.inputs.nope", None, None),
    ],
)
def test_paths_resolve_with_the_span_they_came_from(path: str, value: object, span: str | None) -> None:
    assert resolve_path(parse_field_path(path), TRACE) == (value, span)


def test_a_record_from_a_trace_links_to_the_span_of_its_input() -> None:
    mapping = parse_mapping(
        {
            "input": "span.inputs.messages[-1].content",
            "output": "span.outputs.choices[0].message.content",
            "expected": "span.outputs.response",
        }  # fmt: skip
    )
    rec = record_from_trace(mapping, TRACE)
    assert rec.fields == {"input": "refund A1?", "output": "Refund started."}
    assert (rec.expected, rec.has_expected) == ("done", True)
    assert (rec.source_trace_id, rec.source_span_id) == ("a" * 32, ROOT)
    only_output = record_from_trace(parse_mapping({"answer": "span.outputs.choices[0].message.content"}), TRACE)
    assert only_output.source_span_id == FINAL
    from_tags = record_from_trace(parse_mapping({"user": "tag.user"}), TRACE)
    assert from_tags.source_span_id == ROOT  # no span supplied a field: the root


def test_mapping_errors_name_the_field_and_column() -> None:
    with pytest.raises(FilterError) as err:
        parse_mapping({"input": "span.inputs.messages[", "x": "tag.y"})
    assert "mapping 'input'" in str(err.value) and err.value.column > 1
    with pytest.raises(FilterError, match="unknown extract field"):
        parse_mapping({"docs": "retriever.search.outputs.documents"})  # a dotted span name needs backticks
    with pytest.raises(DatasetError):
        parse_mapping({})
    with pytest.raises(DatasetError, match="record_id"):
        parse_mapping({"record_id": "tag.x"})


def test_random_sampling_is_seeded_and_independent_of_input_order() -> None:
    ids = [f"{i:032x}" for i in range(100)]
    spec = SampleSpec(n=10, seed=3)
    groups, labels = sample_plan(ids, None, spec)
    again, _ = sample_plan(list(reversed(ids)), None, spec)
    assert labels is None and groups == again
    picked: list[str] = []
    assert select(groups, 10, "equal", lambda t: picked.append(t) is None) == [10]
    assert picked == groups[0][:10] and len(set(picked)) == 10
    assert sample_plan(ids, None, SampleSpec(n=10, seed=4))[0] != groups
    assert sample_plan(ids, None, SampleSpec())[0] == [ids]  # no sample: all, in the given order
    assert SampleSpec(fraction=0.25).target(100) == 25 and SampleSpec(fraction=0.001).target(100) == 1


def test_stratified_sampling_keeps_small_strata() -> None:
    ids = [f"{i:032x}" for i in range(60)]
    strata = {t: ("rare" if i < 3 else "common" if i < 50 else "mid") for i, t in enumerate(ids)}
    groups, labels = sample_plan(ids, strata, SampleSpec(n=12, seed=1, stratify_by="tag.x"))
    assert labels == ["common", "mid", "rare"]
    counts = select(groups, 12, "equal", lambda t: True)
    assert dict(zip(labels, counts, strict=True)) == {"common": 5, "mid": 4, "rare": 3}
    proportional = select(groups, 12, "proportional", lambda t: True)
    assert dict(zip(labels, proportional, strict=True)) == {"common": 9, "mid": 2, "rare": 1}


def test_rejected_candidates_are_replaced_from_the_same_stratum() -> None:
    groups = [["a1", "a2", "a3"], ["b1", "b2"]]
    taken = select(groups, 4, "equal", lambda t: t not in ("a1", "b1"))
    assert taken == [2, 1]  # b ran out after b2, a filled the rest


def test_buckets_cut_numbers_by_edges_or_quantiles() -> None:
    values = {"t1": 0.05, "t2": 0.25, "t3": 0.45, "t4": None, "t5": "n/a", "t6": 0.3}
    by_edges = stratum_keys(values, [0.2, 0.4])
    assert by_edges == {"t1": "[-inf, 0.2)", "t2": "[0.2, 0.4)", "t3": "[0.4, inf)", "t4": MISSING_STRATUM,
                        "t5": "(not a number) n/a", "t6": "[0.2, 0.4)"}  # fmt: skip
    quantiles = stratum_keys({f"t{i}": float(i) for i in range(8)}, 4)
    assert Counter(quantiles.values()) == Counter({"[-inf, 2)": 2, "[2, 4)": 2, "[4, 6)": 2, "[6, inf)": 2})
    assert stratum_keys({"a": "x", "b": 1, "c": None}, None) == {"a": "x", "b": "1", "c": MISSING_STRATUM}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (SampleSpec(n=-1), "non-negative"),
        (SampleSpec(fraction=1.5), "fraction"),
        (SampleSpec(allocation="random"), "allocation"),
        (SampleSpec(buckets=[0.5, 0.1], stratify_by="tag.x"), "increasing"),
        (SampleSpec(buckets=3), "buckets need stratify_by"),
    ],
)
def test_bad_samples_are_refused(spec: SampleSpec, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        spec.validate()


def test_diff_reports_added_removed_and_changed_fields() -> None:
    a = [
        {"record_id": "1", "revision_hash": "h1", "fields": {"input": "x"}, "expected": None},
        {"record_id": "2", "revision_hash": "h2", "fields": {"input": "y"}, "expected": None},
    ]
    b = [
        {"record_id": "1", "revision_hash": "h1b", "fields": {"input": "x"}, "expected": "X"},
        {"record_id": "3", "revision_hash": "h3", "fields": {"input": "z"}, "expected": None},
    ]
    d = diff_members(a, b)
    assert [r["record_id"] for r in d["added"]] == ["3"]
    assert [r["record_id"] for r in d["removed"]] == ["2"]
    assert [(c["record_id"], c["fields"], c["expected"]) for c in d["changed"]] == [("1", [], True)]
    assert d["unchanged"] == 0
