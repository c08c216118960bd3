"""Exports read back as they were: CSV cells, JSONL, Parquet column types, DataFrames; fine-tuning examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from spanscope.datasets import finetune, io

RECORDS = [
    {"record_id": "r1", "fields": {"input": "Where is A12345?", "context": ["doc a", {"k": 1}], "n": 3, "flag": True},
     "expected": "On its way.", "source_trace_id": "a" * 32, "source_span_id": "b" * 16},
    {"record_id": "r2", "fields": {"input": "42", "context": None, "n": 2.5, "flag": False},
     "expected": {"label": "refund"}, "source_trace_id": None, "source_span_id": None},
    {"record_id": "r3", "fields": {"input": "", "context": [], "n": None, "flag": None, "extra": 'say "hi", \n twice'},
     "expected": None, "source_trace_id": None, "source_span_id": None},
    {"record_id": "r4", "fields": {"input": "true", "context": "null", "n": -1, "flag": True},
     "expected": "  padded  ", "source_trace_id": None, "source_span_id": None},
]  # fmt: skip


def _rows() -> tuple[list[str], list[dict[str, object]]]:
    return io.records_to_rows(RECORDS)


def test_rows_have_the_dataframe_columns() -> None:
    columns, rows = _rows()
    assert columns == [
        "record_id",
        "input",
        "context",
        "n",
        "flag",
        "extra",
        "expected",
        "source_trace_id",
        "source_span_id",
    ]
    assert rows[0]["extra"] is None and rows[2]["extra"] == 'say "hi", \n twice'


@pytest.mark.parametrize("value", ["text", "", "42", "true", "null", '"quoted"', " 7", 42, 2.5, -1, True, False,
                                   None, [1, "a"], {"a": [None]}, "multi\nline, with comma", "é ü 漢"])  # fmt: skip
def test_csv_cells_round_trip(value: object) -> None:
    assert io.decode_cell(io.encode_cell(value)) == value
    assert type(io.decode_cell(io.encode_cell(value))) is type(value)


def test_csv_file_round_trip(tmp_path: Path) -> None:
    columns, rows = _rows()
    io.write_csv(tmp_path / "d.csv", columns, rows)
    assert io.read_csv(tmp_path / "d.csv") == rows
    text = (tmp_path / "d.csv").read_text()
    assert "Where is A12345?" in text  # plain text stays readable, unquoted by JSON


def test_hand_made_csv_reads_numbers_as_numbers_unless_told(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("input,expected\nrefund please,42\n\ufeff,\n")
    assert io.read_csv(tmp_path / "h.csv") == [
        {"input": "refund please", "expected": 42},
        {"input": "\ufeff", "expected": None},
    ]
    assert io.read_csv(tmp_path / "h.csv", parse_json=False)[0] == {"input": "refund please", "expected": "42"}


def test_jsonl_round_trip(tmp_path: Path) -> None:
    _, rows = _rows()
    assert io.write_jsonl(tmp_path / "d.jsonl", rows) == 4
    assert io.read_jsonl(tmp_path / "d.jsonl") == rows
    (tmp_path / "bad.jsonl").write_text("[1]\n")
    with pytest.raises(ValueError, match="expected a JSON object"):
        io.read_jsonl(tmp_path / "bad.jsonl")


def test_parquet_keeps_types_and_json_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    columns, rows = _rows()
    io.write_parquet(tmp_path / "d.parquet", columns, rows)
    schema = pq.read_schema(tmp_path / "d.parquet")
    assert str(schema.field("record_id").type) == "string"
    assert str(schema.field("flag").type) == "bool"
    assert str(schema.field("context").type) == "string"  # mixed values: JSON text
    assert str(schema.field("n").type) == "string"  # ints and floats mixed: JSON, so 3 stays 3
    back = io.read_parquet(tmp_path / "d.parquet")
    assert back == rows and type(back[0]["n"]) is int
    io.write_parquet(tmp_path / "t.parquet", ["i", "f"], [{"i": 1, "f": 0.5}, {"i": None, "f": 2.0}])
    typed = pq.read_schema(tmp_path / "t.parquet")
    assert (str(typed.field("i").type), str(typed.field("f").type)) == ("int64", "double")
    assert io.read_parquet(tmp_path / "t.parquet") == [{"i": 1, "f": 0.5}, {"i": None, "f": 2.0}]


def test_dataframe_round_trip_keeps_values_exactly() -> None:
    columns, rows = _rows()
    df = io.to_frame(columns, rows)
    assert list(df.columns) == columns and len(df) == 4
    assert io.rows_from_frame(df) == rows


def test_dataframe_from_user_code_normalizes_nan_and_numpy() -> None:
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"input": ["a", "b"], "score": [1.5, np.nan], "n": np.array([1, 2], dtype=np.int64)})
    assert io.rows_from_frame(df) == [{"input": "a", "score": 1.5, "n": 1}, {"input": "b", "score": None, "n": 2}]
    assert all(type(r["n"]) is int for r in io.rows_from_frame(df))


# ---------------------------------------------------------------------------------------------- fine-tuning
CALL = {"id": "call_1", "type": "function", "function": {"name": "get_order", "arguments": '{"order_id": "A1"}'}}
ASK = [{"role": "system", "content": "be nice"}, {"role": "user", "content": "where is A1?"}]
TRACE = {
    "spans": [
        {"span_id": "1" * 16, "name": "chatbot.turn", "kind": "chain", "start_time_ns": 1, "end_time_ns": 100,
         "inputs": {"messages": ASK}, "outputs": {"response": "shipped"}},
        {"span_id": "2" * 16, "name": "llm.generate", "kind": "llm", "start_time_ns": 2, "end_time_ns": 10,
         "inputs": {"messages": ASK},
         "outputs": {"choices": [{"message": {"role": "assistant", "content": None, "tool_calls": [CALL]}}]}},
        {"span_id": "3" * 16, "name": "llm.generate_final", "kind": "llm", "start_time_ns": 20, "end_time_ns": 90,
         "inputs": {"messages": [
             {"role": "system", "content": "be nice"}, {"role": "user", "content": "where is A1?"},
             {"role": "assistant", "content": None, "tool_calls": [CALL]},
             {"role": "tool", "tool_call_id": "call_1", "content": {"status": "shipped"}, "extra": "dropped"}]},
         "outputs": {"choices": [{"message": {"role": "assistant", "content": "It shipped."}}]}},
    ]
}  # fmt: skip


def test_finetune_example_from_the_last_llm_span_with_tool_turns() -> None:
    messages, reason = finetune.chat_example({"source_span_id": "1" * 16}, TRACE, use_expected=False)
    assert reason is None
    assert messages == [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "where is A1?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": '{"status": "shipped"}', "tool_call_id": "call_1"},
        {"role": "assistant", "content": "It shipped."},
    ]


def test_finetune_expected_replaces_the_reply_and_fallbacks_apply() -> None:
    messages, _ = finetune.chat_example({"expected": "Shipped on Monday."}, TRACE)
    assert messages is not None and messages[-1] == {"role": "assistant", "content": "Shipped on Monday."}
    assert messages[-2]["role"] == "tool"
    named, _ = finetune.chat_example({}, TRACE, span_name="chatbot.turn", use_expected=False)
    assert named is not None and named[-1] == {"role": "assistant", "content": "shipped"}
    plain, _ = finetune.chat_example({"fields": {"input": "hi", "output": "hello"}}, None)
    assert plain == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    none, reason = finetune.chat_example({"fields": {"input": "hi"}}, None)
    assert none is None and reason == "no final assistant reply"
    none, reason = finetune.chat_example({"fields": {"other": 1}}, {"spans": []})
    assert none is None and reason is not None and reason.startswith("no messages")
