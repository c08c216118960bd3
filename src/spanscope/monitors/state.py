"""Monitor definitions, state and history, in ``<data-dir>/monitors.sqlite``.

SQLite rather than a table in the DuckDB file: the server holds that file (one writer, and no other
process may open it meanwhile), while ``spanscope monitors list|history`` must work whether or not a server
runs; SQLite in WAL mode lets the server write and the CLI read at the same time. It is small: one row per
monitor, one per state change.

Tables::

    monitors        (project, name) -> spec JSON, source ('file' | 'api'), updated_at
    monitor_state   (project, name) -> state ('ok' | 'firing' | 'resolved'), last value, since, last error
    monitor_events  id, project, name, state, at_ns, value, … payload JSON (the notification, offending
                    trace ids, dataset and delivery results)
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spanscope.monitors.spec import MonitorSpec, spec_from_dict

FILENAME = "monitors.sqlite"

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS monitors (
        project TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL, spec TEXT NOT NULL,
        updated_at REAL NOT NULL, PRIMARY KEY (project, name))""",
    """CREATE TABLE IF NOT EXISTS monitor_state (
        project TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'ok', value REAL, baseline REAL,
        samples INTEGER, no_data INTEGER NOT NULL DEFAULT 0, evaluated_at_ns INTEGER, since_ns INTEGER,
        last_error TEXT, PRIMARY KEY (project, name))""",
    """CREATE TABLE IF NOT EXISTS monitor_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL,
        at_ns INTEGER NOT NULL, value REAL, baseline REAL, threshold REAL, window TEXT, rule TEXT,
        payload TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS monitor_events_by_monitor ON monitor_events (project, name, id)",
)
_STATE_COLS = ("state", "value", "baseline", "samples", "no_data", "evaluated_at_ns", "since_ns", "last_error")


class MonitorDB:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            for stmt in _SCHEMA:
                con.execute(stmt)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: cheap for SQLite, and safe from any thread.
        con = sqlite3.connect(self.path, timeout=10)
        try:
            with con:
                yield con
        finally:
            con.close()

    # ------------------------------------------------------------------ definitions
    def put(self, spec: MonitorSpec, source: str) -> None:
        with self._lock, self._connect() as con:
            con.execute(
                "INSERT INTO monitors VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, name) DO UPDATE SET "
                "source = excluded.source, spec = excluded.spec, updated_at = excluded.updated_at",
                [spec.project, spec.name, source, json.dumps(spec.to_dict()), time.time()],
            )

    def delete(self, project: str, name: str) -> bool:
        with self._lock, self._connect() as con:
            cur = con.execute("DELETE FROM monitors WHERE project = ? AND name = ?", [project, name])
            con.execute("DELETE FROM monitor_state WHERE project = ? AND name = ?", [project, name])
            return cur.rowcount > 0

    def sync_file(self, specs: list[MonitorSpec]) -> None:
        """Make the file-declared monitors exactly ``specs`` (API-declared ones with the same name are replaced)."""
        keep = {(s.project, s.name) for s in specs}
        with self._lock, self._connect() as con:
            for project, name in con.execute("SELECT project, name FROM monitors WHERE source = 'file'").fetchall():
                if (project, name) not in keep:
                    con.execute("DELETE FROM monitors WHERE project = ? AND name = ?", [project, name])
            for spec in specs:
                con.execute(
                    "INSERT INTO monitors VALUES (?, ?, 'file', ?, ?) ON CONFLICT (project, name) DO UPDATE SET "
                    "source = 'file', spec = excluded.spec, updated_at = excluded.updated_at",
                    [spec.project, spec.name, json.dumps(spec.to_dict()), time.time()],
                )

    def get(self, project: str, name: str) -> tuple[MonitorSpec, str] | None:
        with self._connect() as con:
            row = con.execute(
                "SELECT spec, source FROM monitors WHERE project = ? AND name = ?", [project, name]
            ).fetchone()
        return None if row is None else (spec_from_dict(json.loads(row[0])), row[1])

    def specs(self, project: str | None = None) -> list[tuple[MonitorSpec, str]]:
        sql = "SELECT spec, source FROM monitors"
        params: list[Any] = []
        if project is not None:
            sql += " WHERE project = ?"
            params.append(project)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY project, name", params).fetchall()
        out = []
        for spec_json, source in rows:
            try:
                out.append((spec_from_dict(json.loads(spec_json)), source))
            except ValueError:
                continue  # written by a newer version with rules this one can't read
        return out

    # ------------------------------------------------------------------ state
    def state(self, project: str, name: str) -> dict[str, Any] | None:
        with self._connect() as con:
            row = con.execute(
                f"SELECT {', '.join(_STATE_COLS)} FROM monitor_state WHERE project = ? AND name = ?", [project, name]
            ).fetchone()
        if row is None:
            return None
        out = dict(zip(_STATE_COLS, row, strict=True))
        out["no_data"] = bool(out["no_data"])
        return out

    def states(self, project: str | None = None) -> dict[tuple[str, str], dict[str, Any]]:
        sql = f"SELECT project, name, {', '.join(_STATE_COLS)} FROM monitor_state"
        params: list[Any] = []
        if project is not None:
            sql += " WHERE project = ?"
            params.append(project)
        with self._connect() as con:
            rows = con.execute(sql, params).fetchall()
        out = {}
        for r in rows:
            st = dict(zip(_STATE_COLS, r[2:], strict=True))
            st["no_data"] = bool(st["no_data"])
            out[(r[0], r[1])] = st
        return out

    def set_state(self, project: str, name: str, **values: Any) -> None:
        cols = [c for c in _STATE_COLS if c in values]
        with self._lock, self._connect() as con:
            con.execute(
                f"INSERT INTO monitor_state (project, name, {', '.join(cols)}) VALUES (?, ?{', ?' * len(cols)}) "
                f"ON CONFLICT (project, name) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in cols)}",
                [project, name, *(values[c] for c in cols)],
            )

    # ------------------------------------------------------------------ history
    def add_event(self, project: str, name: str, state: str, at_ns: int, payload: dict[str, Any]) -> int:
        with self._lock, self._connect() as con:
            cur = con.execute(
                "INSERT INTO monitor_events (project, name, state, at_ns, value, baseline, threshold, window, rule, "
                "payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    project,
                    name,
                    state,
                    at_ns,
                    payload.get("value"),
                    payload.get("baseline"),
                    payload.get("threshold"),
                    payload.get("window"),
                    payload.get("rule"),
                    json.dumps(payload, default=str),
                ],
            )
            return int(cur.lastrowid or 0)

    def update_event(self, event_id: int, payload: dict[str, Any]) -> None:
        with self._lock, self._connect() as con:
            con.execute(
                "UPDATE monitor_events SET payload = ? WHERE id = ?", [json.dumps(payload, default=str), event_id]
            )

    def history(self, project: str | None, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """State changes, newest first."""
        where, params = [], []
        if project is not None:
            where.append("project = ?")
            params.append(project)
        if name is not None:
            where.append("name = ?")
            params.append(name)
        sql = "SELECT id, project, name, state, at_ns, payload FROM monitor_events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._connect() as con:
            rows = con.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, int(limit)]).fetchall()
        return [
            {**json.loads(r[5]), "id": r[0], "project": r[1], "monitor": r[2], "state": r[3], "at_ns": r[4]}
            for r in rows
        ]
