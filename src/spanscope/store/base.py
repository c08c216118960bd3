"""The ``Store`` contract every engine implements (DuckDB, ClickHouse): traces, and the quality loop's
datasets, evaluation runs, finding history and SDK drop reports. ``tests/unit/store/test_store_contract.py``
runs it on every engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from spanscope.ingest.native import IngestBatch
from spanscope.model import Trace

if TYPE_CHECKING:
    from spanscope.store.datasets_core import RecordIn, SampleSpec


@dataclass(slots=True)
class TraceRow:
    """One row of a trace search: the summary plus requested findings and extracted fields."""

    trace_id: str
    name: str | None
    status: str
    start_time_ns: int | None
    duration_ms: float | None
    tags: dict[str, Any]
    request: Any
    response: Any
    findings: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trace_id": self.trace_id,
            "name": self.name,
            "status": self.status,
            "start_time_ns": self.start_time_ns,
            "duration_ms": self.duration_ms,
            "tags": self.tags,
            "request": self.request,
            "response": self.response,
            "findings": self.findings,
            "fields": self.fields,
        }


@dataclass(slots=True)
class SearchResult:
    traces: list[TraceRow]
    next_page_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"traces": [t.to_dict() for t in self.traces], "next_page_token": self.next_page_token}


class Store(Protocol):
    def write(self, project: str, batch: IngestBatch) -> None:
        """Store a validated batch; returns once the data is durable (the caller then acknowledges)."""

    def get_trace(self, project: str, trace_id: str) -> Trace | None: ...

    def search_traces(
        self,
        project: str,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: list[str] | str | None = None,
        page_token: str | None = None,
        extract_fields: list[str] | None = None,
    ) -> SearchResult: ...

    def close(self) -> None: ...

    # ------------------------------------------------------------------ datasets (DatasetError on misuse)
    def create_dataset(
        self, project: str, name: str, description: str | None = None, created_by: str | None = None
    ) -> dict[str, Any]: ...

    def list_datasets(self, project: str) -> list[dict[str, Any]]: ...

    def get_dataset(self, project: str, name: str, version: int | None = None) -> dict[str, Any] | None: ...

    def delete_dataset(self, project: str, name: str) -> bool: ...

    def dataset_versions(self, project: str, name: str) -> list[dict[str, Any]]: ...

    def dataset_records(
        self, project: str, name: str, version: int | None = None, offset: int = 0, limit: int | None = None
    ) -> list[dict[str, Any]]: ...

    def dataset_diff(self, project: str, name: str, a: int, b: int) -> dict[str, Any]: ...

    def commit_dataset_version(
        self,
        project: str,
        name: str,
        *,
        add: list[RecordIn] | tuple[RecordIn, ...] = (),
        expected: list[tuple[str, Any, Any]] | tuple[tuple[str, Any, Any], ...] = (),
        remove: list[str] | tuple[str, ...] = (),
        dedupe: bool = True,
        by: str | None = None,
        message: str | None = None,
        changes: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    def add_dataset_records_from_traces(
        self,
        project: str,
        name: str,
        filter_string: str | None,
        mapping: dict[str, str],
        *,
        sample: SampleSpec | None = None,
        dedupe: bool = True,
        max_traces: int = 10_000,
        required: list[str] | None = None,
        by: str | None = None,
    ) -> dict[str, Any]: ...

    def dataset_trace_contexts(
        self, project: str, trace_ids: list[str], *, spans: bool = True
    ) -> dict[str, dict[str, Any]]: ...

    # ------------------------------------------------------------------ evaluation runs
    def create_run(
        self,
        project: str,
        *,
        name: str,
        dataset: str | None = None,
        dataset_version: int | None = None,
        dataset_hash: str | None = None,
        app: str | None = None,
        scorers: list[str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    def add_run_results(self, project: str, run_id: str, results: list[dict[str, Any]]) -> int: ...

    def finish_run(
        self, project: str, run_id: str, status: str = "finished", aggregates: dict[str, Any] | None = None
    ) -> dict[str, Any] | None: ...

    def get_run(self, project: str, ref: str, *, results: bool = True) -> dict[str, Any] | None: ...

    def list_runs(self, project: str, dataset: str | None = None, limit: int = 100) -> list[dict[str, Any]]: ...

    # ------------------------------------------------------------------ finding history
    def get_finding(self, project: str, finding_id: str) -> dict[str, Any] | None: ...

    def list_findings(
        self,
        project: str,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        include_superseded: bool = False,
        limit: int = 1000,
    ) -> list[dict[str, Any]]: ...

    def current_finding_ids(
        self, project: str, keys: list[tuple[str, str | None, str, str]]
    ) -> dict[tuple[str, str | None, str, str], str]: ...

    def metric_values(self, project: str, field: str, filter_string: str | None = None) -> list[tuple[str, Any]]: ...

    # ------------------------------------------------------------------ SDK health
    def sdk_drop_totals(self, project: str) -> dict[str, Any]:
        """What SDKs reported dropping: ``{"project", "dropped": {reason: n}, "last_report_ns"}``."""
        ...
