"""Dataset records in and out of files and DataFrames, so that every export reads back as it was.

A *row* is one flat dict per record: ``record_id``, one key per field, ``expected``, ``source_trace_id``,
``source_span_id`` (the columns of ``Dataset.to_pandas()``).

- **CSV** cells are text: a string is written as it is unless it would read back as something else
  (empty, or valid JSON such as ``42`` or ``true``), in which case it is written as a JSON string
  (``"42"``); every other value (numbers, lists, objects) is written as JSON. Reading decodes a cell that
  is valid JSON and keeps any other cell as text; an empty cell is None. A CSV made by hand therefore
  reads ``42`` as a number and ``refund`` as text.
- **JSONL**: one JSON object per line, values as they are.
- **Parquet**: columns whose values are all strings, all bools, all ints or all floats keep that type;
  other columns hold JSON text and are listed in the schema metadata ``spanscope.json_columns``, which
  reading decodes.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import pandas as pd

LEADING: Final = ("record_id",)
TRAILING: Final = ("expected", "source_trace_id", "source_span_id")
JSON_COLUMNS_KEY: Final = b"spanscope.json_columns"


def records_to_rows(records: Iterable[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Flat rows and their columns (record_id, fields in first-seen order, expected, source ids) from API
    records (``{"record_id", "fields", "expected", "source_trace_id", "source_span_id"}``)."""
    fields: list[str] = []
    rows = []
    for r in records:
        for k in r["fields"]:
            if k not in fields:
                fields.append(k)
        rows.append(r)
    columns = [*LEADING, *fields, *TRAILING]
    flat = [
        {"record_id": r["record_id"], **{f: r["fields"].get(f) for f in fields}, "expected": r.get("expected"),
         "source_trace_id": r.get("source_trace_id"), "source_span_id": r.get("source_span_id")}
        for r in rows
    ]  # fmt: skip
    return columns, flat


# ---------------------------------------------------------------------------------------------- CSV
def encode_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if value == "":
            return '""'
        try:
            json.loads(value)
        except ValueError:
            return value
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def decode_cell(text: str) -> Any:
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def write_csv(path: str | os.PathLike[str], columns: list[str], rows: list[dict[str, Any]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([encode_cell(row.get(c)) for c in columns])


def read_csv(path: str | os.PathLike[str], *, parse_json: bool = True) -> list[dict[str, Any]]:
    """Rows of a CSV file with a header; ``parse_json=False`` keeps every non-empty cell as text."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None:
            return []
        decode = decode_cell if parse_json else (lambda t: t if t != "" else None)
        return [{k: decode(v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]


# ---------------------------------------------------------------------------------------------- JSONL
def write_jsonl(path: str | os.PathLike[str], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
            n += 1
    return n


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if not line.strip():
                continue
            value = json.loads(line)
            if not isinstance(value, dict):
                raise ValueError(f"{path}:{i}: expected a JSON object per line")
            rows.append(value)
    return rows


# ---------------------------------------------------------------------------------------------- Parquet
def _column_kind(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if not present or all(isinstance(v, str) for v in present):
        return "string"
    if all(isinstance(v, bool) for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) and -(2**63) <= v < 2**63 for v in present):
        return "int64"
    if all(isinstance(v, float) for v in present):
        return "float64"
    return "json"  # mixed ints and floats too: read back, 3 must stay 3 (the content hash sees the difference)


def write_parquet(path: str | os.PathLike[str], columns: list[str], rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays, json_columns = [], []
    for c in columns:
        values = [row.get(c) for row in rows]
        kind = _column_kind(values)
        if kind == "json":
            json_columns.append(c)
            arrays.append(
                pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())
            )
        else:
            arrays.append(pa.array(values, type={"string": pa.string(), "bool": pa.bool_(), "int64": pa.int64(),
                                                 "float64": pa.float64()}[kind]))  # fmt: skip
    table = pa.Table.from_arrays(arrays, names=columns)
    table = table.replace_schema_metadata({JSON_COLUMNS_KEY: json.dumps(json_columns).encode()})
    pq.write_table(table, path)


def read_parquet(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata or {}
    json_columns = set(json.loads(meta.get(JSON_COLUMNS_KEY, b"[]")))
    rows = table.to_pylist()
    for row in rows:
        for c in json_columns:
            if row.get(c) is not None:
                row[c] = json.loads(row[c])
    return rows


# ---------------------------------------------------------------------------------------------- pandas
def to_frame(columns: list[str], rows: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    # object columns keep every value exactly as stored (no NaN for None, no str dtype inference)
    return pd.DataFrame({c: pd.Series([row.get(c) for row in rows], dtype=object) for c in columns}, columns=columns)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, bool | int | float | str | list | dict):
        try:
            return _plain(item())
        except (TypeError, ValueError):
            return value
    tolist = getattr(value, "tolist", None)  # numpy arrays (pyarrow-backed list cells)
    if tolist is not None and not isinstance(value, list | dict | str):
        return tolist()
    if value is not None and type(value).__name__ in ("NAType", "NaTType"):
        return None
    return value


def rows_from_frame(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Flat rows from a DataFrame: NaN/NA become None, numpy scalars Python values."""
    columns = [str(c) for c in df.columns]
    return [
        {c: _plain(v) for c, v in zip(columns, values, strict=True)} for values in df.itertuples(index=False, name=None)
    ]
