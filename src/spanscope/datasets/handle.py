"""The Python face of datasets: a client of the server's ``/api/v1/datasets`` API.

A :class:`Dataset` handle points at one version. ``datasets.create(name)`` and ``datasets.get(name)`` give
the latest, which every change (``add_from_traces``, ``add_records``, ``set_expected``…) moves forward to
the new version it made. ``datasets.get(name, version=3)`` and ``ds.at(3)`` are pinned: read-only, since
a version never changes.
"""

from __future__ import annotations

import getpass
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from spanscope.client import Client
from spanscope.datasets import io

if TYPE_CHECKING:
    import pandas as pd

DATASETS_PATH = "/api/v1/datasets"


def _client(client: Client | None) -> Client:
    if client is not None:
        return client
    from spanscope.client import _default_client

    return _default_client()


def current_user() -> str | None:
    """Who made a change, when the caller doesn't say: the OS user name."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name available is fine
        return None


def _q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def sample_body(
    sample: Any, seed: int | None, stratify_by: str | None, buckets: int | list[float] | None, allocation: str
) -> dict[str, Any]:
    """The JSON ``sample`` object from the Python arguments (``sample`` an int n, a float fraction or a dict)."""
    body: dict[str, Any] = {"seed": seed, "stratify_by": stratify_by, "buckets": buckets, "allocation": allocation}
    if isinstance(sample, dict):
        body.update(sample)
    elif isinstance(sample, bool):
        raise TypeError("sample is an int (how many), a float in (0, 1] (what fraction) or None (all)")
    elif isinstance(sample, int):
        body["n"] = sample
    elif isinstance(sample, float):
        body["fraction"] = sample
    elif sample is not None:
        raise TypeError("sample is an int (how many), a float in (0, 1] (what fraction) or None (all)")
    return {k: v for k, v in body.items() if v is not None}


class Dataset:
    """One version of a dataset on the server (see the module docstring)."""

    def __init__(self, info: dict[str, Any], client: Client, *, pinned: bool = False):
        self.client = client
        self.pinned = pinned
        self._records: tuple[int, list[dict[str, Any]]] | None = None
        self._set(info)

    def _set(self, info: dict[str, Any]) -> None:
        self.name: str = info["name"]
        self.description: str | None = info.get("description")
        self.version: int = int(info["version"])
        self.content_hash: str = info["content_hash"]
        self.record_count: int = int(info["record_count"])
        self.created_at_ns: int | None = info.get("created_at_ns")
        self.created_by: str | None = info.get("created_by")
        self.latest_version: int = int(info.get("latest_version", self.version))

    def __repr__(self) -> str:
        pin = " pinned" if self.pinned else ""
        return f"<Dataset {self.name!r} v{self.version}{pin} records={self.record_count} hash={self.content_hash[:12]}>"

    def __len__(self) -> int:
        return self.record_count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows())

    @property
    def _path(self) -> str:
        return f"{DATASETS_PATH}/{_q(self.name)}"

    def _req(self, method: str, suffix: str = "", body: Any = None) -> Any:
        return self.client._request(method, self._path + suffix, body)

    def _change(self, suffix: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.pinned:
            raise ValueError(
                f"this handle is pinned to version {self.version} of {self.name!r}, which never changes; "
                f"change the latest with spanscope.datasets.get({self.name!r})"
            )
        result = self._req("POST", suffix, body)
        self._set(result["dataset"])
        return result

    # ------------------------------------------------------------------ versions
    def refresh(self) -> Dataset:
        """Move to the latest version (a pinned handle stays where it is)."""
        if not self.pinned:
            self._set(self._req("GET"))
        return self

    def at(self, version: int) -> Dataset:
        """A read-only handle on ``version``."""
        return Dataset(self._req("GET", f"?version={int(version)}"), self.client, pinned=True)

    def versions(self) -> list[dict[str, Any]]:
        """Every version: number, content hash, record count, who made it and when, what changed."""
        return self._req("GET", "/versions")["versions"]

    def diff(self, other: int | Dataset, to: int | None = None) -> dict[str, Any]:
        """What changed from version ``other`` to ``to`` (default: this handle's version): records
        ``added``, ``removed``, ``changed`` (with the fields and whether ``expected`` changed) and the
        number ``unchanged``."""
        a = other.version if isinstance(other, Dataset) else int(other)
        b = self.version if to is None else int(to)
        return self._req("GET", f"/diff?from={a}&to={b}")

    def verify(self) -> bool:
        """Recompute this version's content hash from its records: True when it matches the stored one."""
        from spanscope.store.datasets_core import revision_hash, version_hash

        members = [
            (
                r["record_id"],
                revision_hash(
                    r["record_id"], r["fields"], r.get("expected"), r.get("source_trace_id"), r.get("source_span_id")
                ),
            )
            for r in self.records()
        ]
        return version_hash(members) == self.content_hash

    # ------------------------------------------------------------------ reading
    def records(self) -> list[dict[str, Any]]:
        """The records of this version: ``record_id, fields, expected, source_trace_id, source_span_id``,
        their ``content_hash`` and who added them / set ``expected`` and when."""
        if self._records is None or self._records[0] != self.version:
            data = self._req("GET", f"/records?version={self.version}")
            self._records = (self.version, data["records"])
        return self._records[1]

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per record (the columns of :meth:`to_pandas`)."""
        return io.records_to_rows(self.records())[1]

    def to_pandas(self, *, provenance: bool = False) -> pd.DataFrame:
        """One row per record: ``record_id``, a column per field, ``expected``, ``source_trace_id``,
        ``source_span_id``; with ``provenance`` also ``expected_by``/``expected_at`` and ``added_by``/``added_at``."""
        columns, rows = io.records_to_rows(self.records())
        df = io.to_frame(columns, rows)
        if provenance:
            import pandas as pd

            recs = self.records()
            for who, when in (("expected_by", "expected_at"), ("added_by", "added_at")):
                df[who] = pd.Series([r.get(who) for r in recs], dtype=object)
                df[when] = pd.to_datetime(
                    pd.Series([r.get(f"{when}_ns") for r in recs], dtype="Int64"), unit="ns", utc=True
                )
        return df

    def to_csv(self, path: str | os.PathLike[str]) -> str:
        """Write CSV (see :mod:`spanscope.datasets.io` for how values are kept); returns the path."""
        columns, rows = io.records_to_rows(self.records())
        io.write_csv(path, columns, rows)
        return str(path)

    def to_jsonl(self, path: str | os.PathLike[str]) -> str:
        io.write_jsonl(path, self.rows())
        return str(path)

    def to_parquet(self, path: str | os.PathLike[str]) -> str:
        columns, rows = io.records_to_rows(self.records())
        io.write_parquet(path, columns, rows)
        return str(path)

    def openai_examples(self, *, use_expected: bool = True, span_name: str | None = None) -> dict[str, Any]:
        """``{"examples": [{"record_id", "messages"}], "skipped": [{"record_id", "reason"}]}`` built by the
        server from each record's trace (see :mod:`spanscope.datasets.finetune`)."""
        query = {"version": self.version, "use_expected": "true" if use_expected else "false"}
        if span_name is not None:
            query["span_name"] = span_name
        return self._req("GET", "/finetune?" + urllib.parse.urlencode(query))

    def to_openai_jsonl(
        self, path: str | os.PathLike[str], *, use_expected: bool = True, span_name: str | None = None
    ) -> int:
        """Write OpenAI chat fine-tuning JSONL (one ``{"messages": [...]}`` per line); returns how many."""
        data = self.openai_examples(use_expected=use_expected, span_name=span_name)
        return io.write_jsonl(path, ({"messages": e["messages"]} for e in data["examples"]))

    # ------------------------------------------------------------------ changes
    def add_records(
        self, records: Iterable[dict[str, Any]], *, dedupe: bool = True, by: str | None = None
    ) -> dict[str, Any]:
        """Add records given as flat dicts (``{"input": …, "expected": …, "source_trace_id": …}``); a
        ``record_id`` the dataset already has updates that record. Returns counts and the new version."""
        rows = [dict(r) for r in records]
        return self._change("/records", {"records": rows, "dedupe": dedupe, "by": by or current_user()})

    def add_from_dataframe(self, df: pd.DataFrame, *, dedupe: bool = True, by: str | None = None) -> dict[str, Any]:
        return self.add_records(io.rows_from_frame(df), dedupe=dedupe, by=by)

    def add_from_csv(
        self, path: str | os.PathLike[str], *, parse_json: bool = True, dedupe: bool = True, by: str | None = None
    ) -> dict[str, Any]:
        return self.add_records(io.read_csv(path, parse_json=parse_json), dedupe=dedupe, by=by)

    def add_from_jsonl(
        self, path: str | os.PathLike[str], *, dedupe: bool = True, by: str | None = None
    ) -> dict[str, Any]:
        return self.add_records(io.read_jsonl(path), dedupe=dedupe, by=by)

    def add_from_parquet(
        self, path: str | os.PathLike[str], *, dedupe: bool = True, by: str | None = None
    ) -> dict[str, Any]:
        return self.add_records(io.read_parquet(path), dedupe=dedupe, by=by)

    def add_from_traces(
        self,
        filter_string: str | None,
        mapping: dict[str, str],
        sample: int | float | dict[str, Any] | None = None,
        dedupe: bool = True,
        *,
        seed: int | None = None,
        stratify_by: str | None = None,
        buckets: int | list[float] | None = None,
        allocation: str = "equal",
        required: list[str] | None = None,
        max_traces: int = 10_000,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Add one record per trace matching ``filter_string``, its fields taken by ``mapping``.

        ``mapping`` maps record fields to paths (``"input": "span.inputs.messages[-1].content"``,
        ``"context": "`retriever.search`.outputs.documents"``, ``"user": "user.id"``; a field named
        ``expected`` becomes the ground truth). ``sample``: None takes every match, an int that many, a
        float that fraction; random with ``seed``, and with ``stratify_by`` (a path such as ``tag.user`` or
        ``metadata.intent``; numeric ones cut into ``buckets``: a count of quantile buckets or a list of
        edges) drawn across strata (``allocation="equal"`` one per stratum in turn, or ``"proportional"``).
        ``dedupe`` skips records whose fields equal an existing record's. Records whose mapped fields are
        all missing are skipped, and so are those missing a ``required`` field.

        Returns counts (``added``, ``duplicates``, ``skipped_empty``…, ``strata``) and the new version.
        """
        body = {
            "filter": filter_string,
            "mapping": mapping,
            "sample": sample_body(sample, seed, stratify_by, buckets, allocation),
            "dedupe": dedupe,
            "required": required,
            "max_traces": max_traces,
            "by": by or current_user(),
        }
        return self._change("/records/from-traces", body)

    def remove_records(self, record_ids: Iterable[str], *, by: str | None = None) -> dict[str, Any]:
        return self._change("/records/remove", {"record_ids": [str(r) for r in record_ids], "by": by or current_user()})

    def set_expected(self, record_id: str, expected: Any, *, by: str | None = None) -> dict[str, Any]:
        """Set one record's ground truth (who and when are kept)."""
        return self.set_expected_many({record_id: expected}, by=by)

    def set_expected_many(
        self, items: dict[Any, Any] | Iterable[tuple[Any, Any]], *, key: str = "record_id", by: str | None = None
    ) -> dict[str, Any]:
        """Set ground truth in bulk: ``{key value: expected}`` where ``key`` is ``record_id``,
        ``source_trace_id`` or a field name (``input``: every record with that input gets it). Returns
        ``expected_set`` and the ``unmatched`` keys."""
        pairs = list(items.items()) if isinstance(items, dict) else [tuple(p) for p in items]
        body = {"key": key, "items": [{"match": k, "expected": v} for k, v in pairs], "by": by or current_user()}
        return self._change("/expected", body)

    def expected_from_dataframe(
        self, df: pd.DataFrame, *, key: str = "record_id", column: str = "expected", by: str | None = None
    ) -> dict[str, Any]:
        rows = io.rows_from_frame(df)
        return self.set_expected_many([(r.get(key), r.get(column)) for r in rows], key=key, by=by)

    def expected_from_csv(
        self,
        path: str | os.PathLike[str],
        *,
        key: str = "record_id",
        column: str = "expected",
        parse_json: bool = True,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Ground truth from a CSV with a ``key`` column (``record_id``, ``source_trace_id`` or a field such
        as ``input``) and a ``column`` of expected values."""
        rows = io.read_csv(path, parse_json=parse_json)
        if rows and (key not in rows[0] or column not in rows[0]):
            raise ValueError(f"{path} needs the columns {key!r} and {column!r}; it has {list(rows[0])}")
        return self.set_expected_many([(r.get(key), r.get(column)) for r in rows], key=key, by=by)


# ---------------------------------------------------------------------------------------------- module API
def create(
    name: str, description: str | None = None, *, exist_ok: bool = False, client: Client | None = None
) -> Dataset:
    """Create an empty dataset (version 0). ``exist_ok`` returns the existing one instead of failing."""
    from spanscope.client import ApiError

    c = _client(client)
    try:
        info = c._request(
            "POST", DATASETS_PATH, {"name": name, "description": description, "created_by": current_user()}
        )
    except ApiError as exc:
        if exc.status == 409 and exist_ok:
            return get(name, client=c)
        raise
    return Dataset(info, c)


def get(name: str, version: int | None = None, *, client: Client | None = None) -> Dataset:
    """The latest version of a dataset, or a pinned read-only ``version``. ApiError(404) if unknown."""
    c = _client(client)
    suffix = f"?version={int(version)}" if version is not None else ""
    return Dataset(c._request("GET", f"{DATASETS_PATH}/{_q(name)}{suffix}"), c, pinned=version is not None)


def list_datasets(*, client: Client | None = None) -> list[Dataset]:
    c = _client(client)
    return [Dataset(d, c) for d in c._request("GET", DATASETS_PATH)["datasets"]]


def delete(name: str, *, client: Client | None = None) -> bool:
    """Delete a dataset with all its versions."""
    return bool(_client(client)._request("DELETE", f"{DATASETS_PATH}/{_q(name)}")["deleted"])


def diff(name: str, a: int, b: int, *, client: Client | None = None) -> dict[str, Any]:
    """What changed in dataset ``name`` from version ``a`` to version ``b``."""
    return _client(client)._request("GET", f"{DATASETS_PATH}/{_q(name)}/diff?from={int(a)}&to={int(b)}")


def from_records(
    name: str, records: Iterable[dict[str, Any]], description: str | None = None, *, dedupe: bool = True,
    client: Client | None = None,
) -> Dataset:  # fmt: skip
    """Create ``name`` holding ``records`` (flat dicts; see :meth:`Dataset.add_records`)."""
    ds = create(name, description, client=client)
    ds.add_records(records, dedupe=dedupe)
    return ds


def from_dataframe(
    name: str, df: pd.DataFrame, description: str | None = None, *, dedupe: bool = True, client: Client | None = None
) -> Dataset:
    """Create ``name`` from a DataFrame: one record per row, a field per column; the columns
    ``record_id``, ``expected``, ``source_trace_id``, ``source_span_id`` are kept as such."""
    return from_records(name, io.rows_from_frame(df), description, dedupe=dedupe, client=client)


def from_csv(
    name: str, path: str | os.PathLike[str], description: str | None = None, *, parse_json: bool = True,
    dedupe: bool = True, client: Client | None = None,
) -> Dataset:  # fmt: skip
    """Create ``name`` from a CSV file (header row = fields; see :mod:`spanscope.datasets.io`)."""
    return from_records(name, io.read_csv(path, parse_json=parse_json), description, dedupe=dedupe, client=client)


def from_jsonl(
    name: str,
    path: str | os.PathLike[str],
    description: str | None = None,
    *,
    dedupe: bool = True,
    client: Client | None = None,
) -> Dataset:
    return from_records(name, io.read_jsonl(path), description, dedupe=dedupe, client=client)


def from_parquet(
    name: str,
    path: str | os.PathLike[str],
    description: str | None = None,
    *,
    dedupe: bool = True,
    client: Client | None = None,
) -> Dataset:
    return from_records(name, io.read_parquet(path), description, dedupe=dedupe, client=client)
