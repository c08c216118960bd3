"""The DuckDB store's datasets: immutable hashed versions, dedupe, ground truth with who/when, traces -> records."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from spanscope.ingest.native import IngestBatch
from spanscope.model import Finding, Span, TraceInfo
from spanscope.store.datasets_core import DatasetExists, DatasetNotFound, RecordIn, SampleSpec, version_hash
from spanscope.store.duckdb import DuckDBStore

P = "proj"
T0 = 1_700_000_000_000_000_000


def tid(i: int) -> str:
    return f"{i + 1:032x}"


def sid(i: int, k: int) -> str:
    return f"{(i + 1) * 16 + k:016x}"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "db")
    yield s
    s.close()


def seed_traces(store: DuckDBStore, n: int = 12) -> None:
    spans, infos, findings = [], [], []
    for i in range(n):
        t = T0 + i * 10**9
        question = f"question {i % 6}"  # six distinct questions: duplicates across traces
        spans.append(
            Span(
                trace_id=tid(i),
                span_id=sid(i, 0),
                name="chatbot.turn",
                start_time_ns=t,
                end_time_ns=t + 5000,
                inputs={"messages": [{"role": "user", "content": question}]},
                outputs={"response": f"answer {i % 6}"},
            )
        )
        spans.append(
            Span(
                trace_id=tid(i),
                span_id=sid(i, 1),
                parent_span_id=sid(i, 0),
                name="llm.generate",
                kind="llm",
                start_time_ns=t + 1,
                end_time_ns=t + 4000,
                attributes={"usage.total_tokens": 100 + i},
                inputs={"messages": [{"role": "user", "content": question}]},
                outputs={"choices": [{"message": {"role": "assistant", "content": f"answer {i % 6}"}}]},
            )
        )
        infos.append(
            TraceInfo(
                trace_id=tid(i),
                tags={"quality_score": round(i / n, 2), "user": f"u{i % 3}"},
                metadata={"intent": ["refund", "order", "other"][i % 3]},
            )
        )
        findings.append(Finding(trace_id=tid(i), name="correct", value=i % 2 == 0, time_ns=t, finding_id=f"f{i}"))
    store.write(P, IngestBatch(spans=spans, traces=infos, findings=findings))  # fmt: skip


def test_versions_are_immutable_and_hashed(store: DuckDBStore) -> None:
    created = store.create_dataset(P, "ds", "first", "alice")
    assert (created["version"], created["record_count"], created["content_hash"]) == (0, 0, version_hash([]))
    with pytest.raises(DatasetExists):
        store.create_dataset(P, "ds")
    v1 = store.commit_dataset_version(P, "ds", add=[RecordIn({"input": "a"}), RecordIn({"input": "b"})], by="alice")
    assert (v1["version"], v1["added"], v1["record_count"]) == (1, 2, 2)
    first = store.dataset_records(P, "ds", 1)
    v2 = store.commit_dataset_version(P, "ds", add=[RecordIn({"input": "c"})], remove=[first[0]["record_id"]], by="bob")
    assert (v2["version"], v2["added"], v2["removed"]) == (2, 1, 1)
    assert store.dataset_records(P, "ds", 1) == first  # version 1 never changes
    assert store.get_dataset(P, "ds", 1)["content_hash"] == v1["content_hash"] != v2["content_hash"]
    assert [r["fields"]["input"] for r in store.dataset_records(P, "ds")] == ["b", "c"]
    assert [v["version"] for v in store.dataset_versions(P, "ds")] == [0, 1, 2]
    assert store.dataset_versions(P, "ds")[2]["created_by"] == "bob"
    # the stored hash is the hash of the stored records
    recs = store.dataset_records(P, "ds", 2)
    assert version_hash((r["record_id"], r["revision_hash"]) for r in recs) == v2["content_hash"]
    # a change that changes nothing makes no version
    same = store.commit_dataset_version(P, "ds", add=[RecordIn({"input": "c"})])
    assert (same["changed"], same["version"], same["duplicates"]) == (False, 2, 1)
    with pytest.raises(DatasetNotFound, match="no version 9"):
        store.dataset_records(P, "ds", 9)
    with pytest.raises(DatasetNotFound):
        store.commit_dataset_version(P, "nope", add=[RecordIn({"input": "x"})])
    assert store.get_dataset("other-project", "ds") is None


def test_dedupe_and_updates_by_record_id(store: DuckDBStore) -> None:
    store.create_dataset(P, "ds")
    out = store.commit_dataset_version(P, "ds", add=[RecordIn({"q": 1}), RecordIn({"q": 1}), RecordIn({"q": 2})])
    assert (out["added"], out["duplicates"]) == (2, 1)
    out = store.commit_dataset_version(P, "ds", add=[RecordIn({"q": 1})], dedupe=False)
    assert out["added"] == 1
    rid = store.dataset_records(P, "ds")[0]["record_id"]
    out = store.commit_dataset_version(P, "ds", add=[RecordIn({"q": 10}, record_id=rid)])
    assert (out["updated"], out["added"]) == (1, 0)
    assert store.dataset_records(P, "ds")[0]["fields"] == {"q": 10}
    assert store.dataset_records(P, "ds")[0]["record_id"] == rid  # same record, new revision, same position


def test_ground_truth_by_key_keeps_who_and_when(store: DuckDBStore) -> None:
    store.create_dataset(P, "ds")
    store.commit_dataset_version(
        P, "ds", add=[RecordIn({"input": "a", "n": 42}, source_trace_id=tid(0)), RecordIn({"input": "b", "n": 7})]
    )
    out = store.commit_dataset_version(
        P, "ds", expected=[("input", " a ", "A"), ("n", "7", "B"), ("input", "zzz", "Z")], by="carol"
    )
    assert out["expected_set"] == 2 and out["unmatched"] == [{"key": "input", "value": "zzz"}]
    recs = store.dataset_records(P, "ds")
    assert [(r["expected"], r["expected_by"]) for r in recs] == [("A", "carol"), ("B", "carol")]
    assert all(r["expected_at_ns"] and r["added_by"] is None for r in recs)
    by_trace = store.commit_dataset_version(P, "ds", expected=[("source_trace_id", tid(0), "A2")], by="dan")
    assert by_trace["expected_set"] == 1
    assert store.dataset_records(P, "ds")[0]["expected_by"] == "dan"
    assert store.dataset_records(P, "ds")[1]["expected_by"] == "carol"  # untouched records keep theirs
    d = store.dataset_diff(P, "ds", 2, 3)
    assert [c["expected"] for c in d["changed"]] == [True] and d["unchanged"] == 1


def test_records_from_traces_with_mapping_sample_and_strata(store: DuckDBStore) -> None:
    seed_traces(store)
    store.create_dataset(P, "ds")
    mapping = {
        "input": "span.inputs.messages[-1].content",
        "output": "span.outputs.choices[0].message.content",
        "tokens": "span.attributes.usage.total_tokens",
        "correct": "finding.correct",
    }
    out = store.add_dataset_records_from_traces(P, "ds", "tag.quality_score < 0.99", mapping)
    assert (out["matched_traces"], out["added"], out["duplicates"]) == (12, 12, 0)  # tokens differ per trace
    recs = store.dataset_records(P, "ds")
    by_trace = {r["source_trace_id"]: r for r in recs}
    r0 = by_trace[tid(0)]
    assert r0["fields"] == {"input": "question 0", "output": "answer 0", "tokens": 100, "correct": True}
    assert r0["source_span_id"] == sid(0, 0)  # the root supplied the input
    assert store.dataset_versions(P, "ds")[1]["changes"]["filter"] == "tag.quality_score < 0.99"

    store.create_dataset(P, "dedup")
    out = store.add_dataset_records_from_traces(P, "dedup", None, {"input": "span.inputs.messages[-1].content"})
    assert (out["added"], out["duplicates"]) == (6, 6)

    store.create_dataset(P, "strat")
    spec = SampleSpec(n=3, seed=5, stratify_by="metadata.intent")
    by_intent = {"q": "span.inputs.messages[-1].content", "intent": "metadata.intent"}
    out = store.add_dataset_records_from_traces(P, "strat", None, by_intent, sample=spec)
    assert out["strata"] == {"order": 1, "other": 1, "refund": 1}
    assert sorted(r["fields"]["intent"] for r in store.dataset_records(P, "strat")) == ["order", "other", "refund"]
    store.create_dataset(P, "strat2")  # same seed, same picks
    store.add_dataset_records_from_traces(P, "strat2", None, by_intent, sample=spec)
    pick = sorted(r["source_trace_id"] for r in store.dataset_records(P, "strat"))
    assert sorted(r["source_trace_id"] for r in store.dataset_records(P, "strat2")) == pick

    store.create_dataset(P, "buckets")
    spec = SampleSpec(n=4, seed=1, stratify_by="tag.quality_score", buckets=[0.25, 0.5, 0.75])
    by_score = {"q": "span.inputs.messages[-1].content", "s": "tag.quality_score"}
    out = store.add_dataset_records_from_traces(P, "buckets", None, by_score, sample=spec, dedupe=False)
    assert out["strata"] == {"[-inf, 0.25)": 1, "[0.25, 0.5)": 1, "[0.5, 0.75)": 1, "[0.75, inf)": 1}

    store.create_dataset(P, "empty")
    out = store.add_dataset_records_from_traces(P, "empty", None, {"x": "span.inputs.nope"})
    assert (out["added"], out["skipped_empty"], out["changed"]) == (0, 12, False)


def test_deleting_a_dataset_removes_every_version(store: DuckDBStore) -> None:
    store.create_dataset(P, "ds")
    store.commit_dataset_version(P, "ds", add=[RecordIn({"a": 1})])
    assert store.delete_dataset(P, "ds") is True
    assert store.get_dataset(P, "ds") is None and store.list_datasets(P) == []
    assert store.delete_dataset(P, "ds") is False
    store.create_dataset(P, "ds")  # the name is free again
    assert store.get_dataset(P, "ds")["version"] == 0
