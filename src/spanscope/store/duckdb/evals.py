"""Evaluation runs (every engine; DuckDB migration ``0101_eval_runs``, ClickHouse views of the same names).

``eval_runs`` holds one row per run: its name, the dataset version it ran over (number and content hash),
the app and scorers it used, its status and, once finished, its aggregates. ``eval_results`` holds one row
per record: the trace of the app call, the inputs it got, its outputs, the expected value, every scorer's
value, rationale and error, the app's own error and the call's latency. The scores themselves are also
stored as findings on the run's traces (written by the server through the ingest log).

Writes go through the engine's primitives (:class:`~spanscope.store.datasets_core.QualityEngine`). A
result is keyed by ``(project, run_id, record_id)``, so sending results again replaces them; a run's
``record_count`` is recounted from its stored results by every ``add_run_results`` and by ``finish_run``,
so an interrupted update is mended by the next one.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import msgspec

from spanscope.store.datasets_core import QualityEngine

_encode = msgspec.json.encode
_decode = msgspec.json.decode

# A run's row is read, changed and written again on engines without UPDATE: one change at a time per process.
_LOCK = threading.Lock()
_RUN_COLUMNS = (
    "run_id, name, dataset, dataset_version, dataset_hash, app, scorers, params, status, created_at_ns, "
    "finished_at_ns, record_count, aggregates"
)


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else _encode(value).decode()


def _result_count(con: Any, project: str, run_id: str) -> int:
    row = con.execute("SELECT count(*) FROM eval_results WHERE project = ? AND run_id = ?", [project, run_id])
    return int(row.fetchone()[0])


def _run_dict(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "run_id": r[0],
        "name": r[1],
        "dataset": r[2],
        "dataset_version": r[3],
        "dataset_hash": r[4],
        "app": r[5],
        "scorers": _loads(r[6]) or [],
        "params": _loads(r[7]) or {},
        "status": r[8],
        "created_at_ns": r[9],
        "finished_at_ns": r[10],
        "record_count": r[11],
        "aggregates": _loads(r[12]) or {},
    }


class EvalRunMixin(QualityEngine):
    """The evaluation-run half of the quality methods of a store."""

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
    ) -> dict[str, Any]:
        run_id = os.urandom(8).hex()
        with self._write_op() as con:
            self._put_rows(
                con,
                "eval_runs",
                [(project, run_id, name, dataset, dataset_version, dataset_hash, app, _dumps(scorers or []),
                  _dumps(params or {}), "running", time.time_ns(), None, 0, None)],
            )  # fmt: skip
        run = self.get_run(project, run_id, results=False)
        assert run is not None
        return run

    def add_run_results(self, project: str, run_id: str, results: list[dict[str, Any]]) -> int:
        if not results:
            return 0
        rows = []
        for i, r in enumerate(results):
            rows.append(
                (project, run_id, str(r["record_id"]), int(r.get("position", i)), r.get("trace_id"),
                 _dumps(r.get("inputs")), _dumps(r.get("outputs")), _dumps(r.get("expected")),
                 _dumps(r.get("scores") or {}), _dumps(r.get("rationales") or {}), _dumps(r.get("errors") or {}),
                 r.get("error"), r.get("latency_ms"), r.get("source_trace_id"))
            )  # fmt: skip
        with _LOCK, self._write_op() as con:
            self._put_rows(con, "eval_results", rows, "replace")
            self._set_row(con, "eval_runs", {"project": project, "run_id": run_id},
                          {"record_count": _result_count(con, project, run_id)})  # fmt: skip
        return len(rows)

    def finish_run(
        self, project: str, run_id: str, status: str = "finished", aggregates: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        with _LOCK, self._write_op() as con:
            self._set_row(
                con,
                "eval_runs",
                {"project": project, "run_id": run_id},
                {"status": status, "aggregates": _dumps(aggregates or {}), "finished_at_ns": time.time_ns(),
                 "record_count": _result_count(con, project, run_id)},
            )  # fmt: skip
        return self.get_run(project, run_id, results=False)

    def resolve_run_id(self, project: str, ref: str) -> str | None:
        """A run id from an id or a name (the latest run of that name)."""
        con = self._cursor()
        try:
            row = con.execute(
                "SELECT run_id FROM eval_runs WHERE project = ? AND (run_id = ? OR name = ?) "
                "ORDER BY (run_id = ?) DESC, created_at_ns DESC LIMIT 1",
                [project, ref, ref, ref],
            ).fetchone()
        finally:
            con.close()
        return row[0] if row else None

    def get_run(self, project: str, ref: str, *, results: bool = True) -> dict[str, Any] | None:
        run_id = self.resolve_run_id(project, ref)
        if run_id is None:
            return None
        con = self._cursor()
        try:
            row = con.execute(
                f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE project = ? AND run_id = ?", [project, run_id]
            ).fetchone()
            rows = (
                con.execute(
                    "SELECT record_id, position, trace_id, inputs, outputs, expected, scores, rationales, errors, "
                    "error, latency_ms, source_trace_id FROM eval_results WHERE project = ? AND run_id = ? "
                    "ORDER BY position, record_id",
                    [project, run_id],
                ).fetchall()
                if results
                else []
            )
        finally:
            con.close()
        if row is None:
            return None
        run = _run_dict(row)
        if results:
            run["results"] = [
                {
                    "record_id": r[0],
                    "position": r[1],
                    "trace_id": r[2],
                    "inputs": _loads(r[3]),
                    "outputs": _loads(r[4]),
                    "expected": _loads(r[5]),
                    "scores": _loads(r[6]) or {},
                    "rationales": _loads(r[7]) or {},
                    "errors": _loads(r[8]) or {},
                    "error": r[9],
                    "latency_ms": r[10],
                    "source_trace_id": r[11],
                }
                for r in rows
            ]
        return run

    def list_runs(self, project: str, dataset: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        con = self._cursor()
        try:
            sql = f"SELECT {_RUN_COLUMNS} FROM eval_runs WHERE project = ?"
            params: list[Any] = [project]
            if dataset is not None:
                sql += " AND dataset = ?"
                params.append(dataset)
            sql += " ORDER BY created_at_ns DESC LIMIT ?"
            params.append(max(0, min(int(limit), 10_000)))
            rows = con.execute(sql, params).fetchall()
        finally:
            con.close()
        return [_run_dict(r) for r in rows]
