"""Search results as Arrow record batches and as files (Parquet, CSV, JSON Lines), written a batch at a time.

The server streams large results as an Arrow IPC stream (``application/vnd.apache.arrow.stream``) with
the fixed columns below; nested values (tags, inputs, outputs, findings, extracted fields) travel as JSON
text, so every batch has the same schema whatever keys the rows hold. Files get the same columns, with
``start_time``/``end_time`` as UTC timestamps; JSON Lines files hold the nested values as objects.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Final

import msgspec
import pyarrow as pa

ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
FORMATS: Final = ("parquet", "csv", "jsonl")
CONTENT_TYPES: Final = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}
_encode = msgspec.json.encode
_decode = msgspec.json.decode

# column -> (arrow type, JSON-encoded?) in wire order
TRACE_COLUMNS: Final[dict[str, tuple[pa.DataType, bool]]] = {
    "trace_id": (pa.string(), False),
    "name": (pa.string(), False),
    "status": (pa.string(), False),
    "start_time_ns": (pa.int64(), False),
    "duration_ms": (pa.float64(), False),
    "tags": (pa.string(), True),
    "request": (pa.string(), True),
    "response": (pa.string(), True),
    "findings": (pa.string(), True),
    "fields": (pa.string(), True),
}
SPAN_COLUMNS: Final[dict[str, tuple[pa.DataType, bool]]] = {
    "trace_id": (pa.string(), False),
    "span_id": (pa.string(), False),
    "parent_span_id": (pa.string(), False),
    "name": (pa.string(), False),
    "kind": (pa.string(), False),
    "status": (pa.string(), False),
    "status_message": (pa.string(), False),
    "start_time_ns": (pa.int64(), False),
    "end_time_ns": (pa.int64(), False),
    "duration_ms": (pa.float64(), False),
    "attributes": (pa.string(), True),
    "inputs": (pa.string(), True),
    "outputs": (pa.string(), True),
    "trace_name": (pa.string(), False),
    "tags": (pa.string(), True),
    "findings": (pa.string(), True),
    "fields": (pa.string(), True),
}


def columns_of(rows: str) -> dict[str, tuple[pa.DataType, bool]]:
    if rows not in ("traces", "spans"):
        raise ValueError(f"rows must be 'traces' or 'spans', not {rows!r}")
    return TRACE_COLUMNS if rows == "traces" else SPAN_COLUMNS


def wire_schema(rows: str) -> pa.Schema:
    return pa.schema([(name, typ) for name, (typ, _) in columns_of(rows).items()])


def _json(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def rows_to_batch(rows: Sequence[dict[str, Any]], kind: str) -> pa.RecordBatch:
    """Search rows (dicts, as the store returns them) as one record batch of the wire schema."""
    arrays = []
    for name, (typ, is_json) in columns_of(kind).items():
        values = [r.get(name) for r in rows]
        if is_json:
            values = [_json(v) for v in values]
        arrays.append(pa.array(values, type=typ))
    return pa.RecordBatch.from_arrays(arrays, schema=wire_schema(kind))


def batch_to_rows(batch: pa.RecordBatch | pa.Table, kind: str) -> list[dict[str, Any]]:
    """The inverse of :func:`rows_to_batch`: dicts with the nested values decoded."""
    columns = columns_of(kind)
    data = batch.to_pydict()
    n = batch.num_rows
    decoded: dict[str, list[Any]] = {}
    for name, (_, is_json) in columns.items():
        values = data.get(name, [None] * n)
        decoded[name] = [None if v is None else _decode(v) for v in values] if is_json else values
    out = [{name: decoded[name][i] for name in columns} for i in range(n)]
    for row in out:
        for key in ("tags", "findings", "fields"):
            if row.get(key) is None:
                row[key] = {}
    return out


def arrow_stream(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> Iterator[bytes]:
    """An Arrow IPC stream, chunk by chunk (one chunk per batch, after the schema)."""
    sink = _Chunks()
    writer = pa.ipc.new_stream(sink, schema)
    yield sink.take()
    for batch in batches:
        writer.write_batch(batch)
        yield sink.take()
    writer.close()
    yield sink.take()


# -- files --------------------------------------------------------------------------------------------------


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file's extension."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt == "ndjson":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffix = Path(str(path)).suffix.lower().lstrip(".")
    if suffix in ("pq", "parquet"):
        return "parquet"
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix == "csv":
        return "csv"
    raise ValueError(f"cannot tell the format of {str(path)!r}; name it .parquet, .csv or .jsonl, or pass format=")


def file_table(rows: Sequence[dict[str, Any]], kind: str, extract_fields: Sequence[str] = ()) -> pa.Table:
    """Rows as the table written to files: timestamps as UTC times, one column per extract field."""
    columns: dict[str, Any] = {}
    for name, (typ, is_json) in columns_of(kind).items():
        if name == "fields":
            continue
        values = [r.get(name) for r in rows]
        if name.endswith("_time_ns"):
            columns[name[: -len("_ns")]] = pa.array(values, type=pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
        else:
            columns[name] = pa.array([_json(v) for v in values] if is_json else values, type=typ)
    for field in extract_fields:
        columns[field] = pa.array([_json((r.get("fields") or {}).get(field)) for r in rows], type=pa.string())
    return pa.table(columns)


class FileWriter:
    """Writes pages of search rows to ``out`` (a path or a binary file object) as Parquet, CSV or JSONL."""

    def __init__(self, out: str | Path | IO[bytes], fmt: str, kind: str, extract_fields: Sequence[str] = ()):
        self.fmt, self.kind, self.fields = fmt, kind, list(extract_fields)
        self._own = isinstance(out, str | Path)
        self._out: IO[bytes] = open(out, "wb") if isinstance(out, str | Path) else out  # noqa: SIM115
        self._parquet: Any = None
        self._csv: Any = None
        self.rows = 0

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows and self.rows:
            return
        self.rows += len(rows)
        if self.fmt == "jsonl":
            for row in rows:
                self._out.write(_encode(_jsonl_row(row, self.kind, self.fields)) + b"\n")
            return
        table = file_table(rows, self.kind, self.fields)
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._out, table.schema, compression="zstd")
            self._parquet.write_table(table)
        else:
            import pyarrow.csv as pcsv

            if self._csv is None:
                self._csv = pcsv.CSVWriter(self._out, table.schema)
            self._csv.write_table(table)

    def close(self) -> None:
        if self.rows == 0 and self.fmt != "jsonl":
            self.write([])  # an empty file still has its header / schema
        if self._parquet is not None:
            self._parquet.close()
        if self._csv is not None:
            self._csv.close()
        if self._own:
            self._out.close()


def _jsonl_row(row: dict[str, Any], kind: str, fields: Sequence[str]) -> dict[str, Any]:
    out = {k: row.get(k) for k in columns_of(kind) if k != "fields"}
    for f in fields:
        out[f] = (row.get("fields") or {}).get(f)
    return out


def file_stream(
    pages: Iterable[Sequence[dict[str, Any]]], fmt: str, kind: str, extract_fields: Sequence[str] = ()
) -> Iterator[bytes]:
    """A file's bytes as they are produced, one chunk per page (for a streamed HTTP export)."""
    sink = _Chunks()
    writer = FileWriter(sink, fmt, kind, extract_fields)  # type: ignore[arg-type]
    for page in pages:
        writer.write(page)
        chunk = sink.take()
        if chunk:
            yield chunk
    writer.close()
    tail = sink.take()
    if tail:
        yield tail


class _Chunks(io.RawIOBase):
    """A write-only file that hands out what was written since the last ``take``."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:  # the writers close their sink; the chunks stay readable
        pass

    @property
    def closed(self) -> bool:
        return False

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data
