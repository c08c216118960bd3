"""Where the read commands (``search``, ``trace``, ``spans``, ``export``, ``stats``) get their answers: the
server when one answers, else the store itself opened read-only (DuckDB allows one process per file, so a
running server is asked over HTTP). :class:`LocalSource` answers the same calls as :class:`Client`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from spanscope.client import ApiError, Client
from spanscope.model import Trace
from spanscope.settings import resolve


class LocalSource:
    """The :class:`Client` calls the CLI uses, answered from a store opened read-only."""

    def __init__(self, data_dir: str, project: str, store_url: str | None = None):
        from spanscope.store import open_store

        self.store = open_store(data_dir, store_url, read_only=True)
        self.project = project

    # search / trace
    def search_trace_rows(self, filter_string, max_results, order_by, extract_fields, page_token=None):  # noqa: ANN001, ANN201
        res = self.store.search_traces(self.project, filter_string, max_results, order_by, None, extract_fields)
        return [r.to_dict() for r in res.traces], res.next_page_token

    def get_trace(self, trace_id: str) -> Trace:
        t = self.store.get_trace(self.project, trace_id)
        if t is None:
            raise ApiError(404, f"trace {trace_id} not found in project {self.project!r}")
        return t

    # spans / export
    def count(self, filter_string: str | None, rows: str) -> int:
        return self.store.count_matching(rows, self.project, filter_string)

    def iter_rows(
        self, rows: str, filter_string: str | None, max_results: int | None, order_by: Any, fields: Any
    ) -> Iterator[list[dict]]:
        return self.store.iter_search(rows, self.project, filter_string, order_by, fields, 5000, max_results)

    def search_rows(
        self, rows: str, filter_string: str | None, max_results: int, order_by: Any, fields: Any
    ) -> tuple[list[dict], None]:
        found, _ = self.store.search_rows(rows, self.project, filter_string, max_results, order_by, None, fields)
        return found, None

    # stats
    def analysis(self, name: str, body: dict[str, Any]) -> Any:
        from spanscope.analysis import engine

        s, p = self.store, self.project
        if name == "latency":
            return engine.latency(s, p, body["filter"], body["by"], body["bucket"])
        if name == "usage":
            return engine.usage(s, None if body["all_projects"] else p, body["filter"], body["by"], body["bucket"])
        if name == "compare":
            return engine.compare(s, p, body["filter_a"], body["filter_b"], body["top"])
        if name == "critical_path":
            if body["trace_id"]:
                found = engine.critical_path_of(s, p, body["trace_id"])
                if found is None:
                    raise ApiError(404, f"trace {body['trace_id']} not found in project {p!r}")
                return found
            return engine.critical_path_summary(s, p, body["filter"], body["max_traces"])
        if name == "correlate":
            return engine.correlate(s, p, body["a"], body["b"], body["filter"], body["agg"])
        raise ValueError(name)


def source(args: argparse.Namespace) -> Client | LocalSource:
    """The server named by ``--endpoint`` or answering at the default one; else the store of ``--data-dir``
    (or ``SPANSCOPE_STORE``), when there is one; else the client (its calls then say no server answers)."""
    client = Client(args.endpoint, args.api_key, args.project)
    if args.endpoint or client.health():
        return client
    data_dir = resolve("data_dir", args.data_dir)
    store_url = resolve("store", getattr(args, "store", None))
    if store_url or (Path(data_dir) / "spanscope.duckdb").exists():
        return LocalSource(data_dir, client.project, store_url)
    return client
