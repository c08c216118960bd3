"""The ``Store`` contract every engine implements (DuckDB now, ClickHouse later)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from spanscope.ingest.native import IngestBatch
from spanscope.model import Trace


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
