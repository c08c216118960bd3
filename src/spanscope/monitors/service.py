"""The monitor service: evaluates monitors on a schedule, moves their state, records history, notifies.

States: ``ok`` (never fired, or not since it was created), ``firing`` (the condition holds), ``resolved`` (it
fired and the condition no longer holds; stays until it fires again). An evaluation without enough data
(fewer than ``min_samples`` observations in the window or the baseline) leaves the state as it was.

On each change of state (ok/resolved -> firing, firing -> resolved) the service records an event in the
history and notifies the log and the webhook. When a monitor with a ``dataset`` fires, its offending traces
(up to ``max_offending``) are added to that dataset (``monitors/datasets.py``: created on first use, one
record per trace, a new dataset version per firing); their ids are kept in the firing event either way, so
``spanscope monitors history`` shows what fired on.

Time comes from ``clock`` (nanoseconds since the epoch), so tests drive evaluations at chosen instants.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from prometheus_client.core import GaugeMetricFamily, Metric

from spanscope.metrics import names
from spanscope.monitors.datasets import record_only_sink, store_dataset_sink
from spanscope.monitors.evaluate import Evaluation, evaluate, offending
from spanscope.monitors.notify import log_notification, post_webhook
from spanscope.monitors.spec import MonitorSpec, MonitorSpecError, load_file
from spanscope.monitors.state import FILENAME, MonitorDB
from spanscope.settings import resolve

log = logging.getLogger("spanscope.monitors")

# (store, project, dataset name, trace ids, firing event payload) -> what happened, kept in the event.
DatasetSink = Callable[[Any, str, str, list[str], dict[str, Any]], dict[str, Any]]


class MonitorConflict(ValueError):
    """A monitor declared in the monitors file can't be changed through the API."""


@dataclass(slots=True)
class MonitorsConfig:
    """How the server runs monitors. None fields come from the settings table."""

    file: str | Path | None = None
    interval: float | None = None  # seconds; 0 = no background scheduler (evaluate through the API)
    clock: Callable[[], int] | None = None  # nanoseconds since the epoch
    db_path: str | Path | None = None  # default <data-dir>/monitors.sqlite
    public_url: str | None = None
    webhook: str | None = None
    webhook_timeout: float = 5.0
    webhook_attempts: int = 3
    dataset_sink: DatasetSink | None = None


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


def public_url(explicit: str | None = None) -> str:
    """The base URL for links in notifications: the ``public_url`` setting, else http://<host>:<port>."""
    return (resolve("public_url", explicit) or f"http://{resolve('host')}:{resolve('port')}").rstrip("/")


def trace_url(base: str, project: str, trace_id: str) -> str:
    return f"{base}/traces/{trace_id}?{urlencode({'project': project})}"


def data_dir_of(store: Any) -> Path:
    """The store's directory (the embedded store's file lives there), else the server's data dir (where the
    ingest log of a store in front of ClickHouse lives), else the data_dir setting."""
    path = getattr(store, "path", None)
    if path is None:
        log_dir = getattr(getattr(store, "log", None), "dir", None)
        return Path(log_dir).parent if log_dir is not None else Path(resolve("data_dir"))
    p = Path(path)
    return p.parent if p.suffix == ".duckdb" else p


class MonitorService:
    def __init__(self, store: Any, config: MonitorsConfig | None = None) -> None:
        cfg = config or MonitorsConfig()
        self.store = store
        self.config = cfg
        self.file = resolve("monitors_file", str(cfg.file) if cfg.file is not None else None)
        self.interval = float(resolve("monitors_interval", cfg.interval))
        self.clock = cfg.clock or time.time_ns
        self.webhook = resolve("monitors_webhook", cfg.webhook)
        self.public_url = public_url(cfg.public_url)
        self.dataset_sink: DatasetSink = cfg.dataset_sink or store_dataset_sink
        self.db = MonitorDB(cfg.db_path or data_dir_of(store) / FILENAME)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_lock = threading.Lock()  # one evaluation of a monitor at a time (scheduler vs API)
        if self.file:
            self.load_file(self.file)

    # ------------------------------------------------------------------ lifecycle
    def load_file(self, path: str | Path) -> list[MonitorSpec]:
        """(Re)load the monitors file; raises :class:`MonitorSpecError` (the server refuses to start)."""
        specs = load_file(path)
        self.db.sync_file(specs)
        log.info("loaded %d monitor(s) from %s", len(specs), path)
        return specs

    def start(self) -> None:
        if self.interval <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="spanscope-monitors", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        tick = max(0.5, min(5.0, self.interval))
        while not self._stop.wait(tick):
            try:
                self.run_due()
            except Exception:  # noqa: BLE001 - the scheduler must outlive any one bad evaluation
                log.exception("monitor scheduler tick failed")

    def now_ns(self) -> int:
        return int(self.clock())

    @property
    def dialect(self) -> Any:
        """The store's SQL dialect (None: DuckDB's, the default of the evaluation)."""
        return getattr(self.store, "dialect", None)

    def _cursor(self) -> Any:
        # Wait (briefly) until every acknowledged write is in the database, as searches do.
        barrier = getattr(self.store, "barrier", None)
        if callable(barrier):
            barrier()
        return self.store._cursor()

    # ------------------------------------------------------------------ definitions
    def put(self, spec: MonitorSpec) -> MonitorSpec:
        spec.validate()
        existing = self.db.get(spec.project, spec.name)
        if existing is not None and existing[1] == "file":
            raise MonitorConflict(f"monitor {spec.name!r} is declared in the monitors file; change it there")
        self.db.put(spec, "api")
        return spec

    def delete(self, project: str, name: str) -> bool:
        existing = self.db.get(project, name)
        if existing is not None and existing[1] == "file":
            raise MonitorConflict(f"monitor {name!r} is declared in the monitors file; remove it there")
        return self.db.delete(project, name)

    def describe(self, project: str | None = None) -> list[dict[str, Any]]:
        states = self.db.states(project)
        return [
            {**spec.to_dict(), "source": source, "status": states.get((spec.project, spec.name)) or {"state": "ok"}}
            for spec, source in self.db.specs(project)
        ]

    def get(self, project: str, name: str) -> dict[str, Any] | None:
        found = self.db.get(project, name)
        if found is None:
            return None
        spec, source = found
        return {**spec.to_dict(), "source": source, "status": self.db.state(project, name) or {"state": "ok"}}

    # ------------------------------------------------------------------ evaluation
    def test(self, spec: MonitorSpec, at_ns: int | None = None) -> dict[str, Any]:
        """Evaluate without changing state or notifying (``spanscope monitors test``)."""
        spec.validate()
        con = self._cursor()
        try:
            ev = evaluate(
                con,
                spec.parsed(),
                spec.project,
                self.now_ns() if at_ns is None else at_ns,
                min_samples=spec.min_samples,
                examples=max(spec.examples, 1),
                dialect=self.dialect,
            )
        finally:
            con.close()
        return {"monitor": spec.name, **ev.to_dict(), "examples": self._links(ev)}

    def run_due(self) -> list[dict[str, Any]]:
        now = self.now_ns()
        states = self.db.states()
        out = []
        for spec, _ in self.db.specs():
            if not spec.enabled:
                continue
            last = (states.get((spec.project, spec.name)) or {}).get("evaluated_at_ns")
            if last is None or now - last >= spec.every_s(self.interval or 60.0) * 1e9:
                out.append(self.run(spec, now))
        return out

    def run_project(self, project: str, at_ns: int | None = None) -> list[dict[str, Any]]:
        """Evaluate every enabled monitor of ``project`` now (``POST /api/v1/monitors/evaluate``)."""
        return [self.run(spec, at_ns) for spec, _ in self.db.specs(project) if spec.enabled]

    def run(self, spec: MonitorSpec, at_ns: int | None = None) -> dict[str, Any]:
        """Evaluate one monitor, move its state, record and notify a change."""
        now = self.now_ns() if at_ns is None else at_ns
        with self._run_lock:
            prev = self.db.state(spec.project, spec.name) or {}
            prev_state = prev.get("state") or "ok"
            con = self._cursor()
            try:
                ev = evaluate(
                    con,
                    spec.parsed(),
                    spec.project,
                    now,
                    min_samples=spec.min_samples,
                    examples=spec.examples,
                    dialect=self.dialect,
                )
                offenders = [o["trace_id"] for o in offending(con, ev, spec.max_offending)] if ev.firing else []
            except Exception as exc:  # noqa: BLE001 - recorded on the monitor, the scheduler carries on
                log.exception("monitor %s/%s failed to evaluate", spec.project, spec.name)
                self.db.set_state(spec.project, spec.name, state=prev_state, evaluated_at_ns=now, last_error=str(exc))
                return {"monitor": spec.name, "project": spec.project, "state": prev_state, "error": str(exc)}
            finally:
                con.close()
            if ev.no_data:
                state = prev_state
            elif ev.firing:
                state = "firing"
            else:
                state = "resolved" if prev_state in ("firing", "resolved") else "ok"
            changed = state != prev_state
            event = self._transition(spec, ev, state, offenders) if changed else None
            self.db.set_state(
                spec.project,
                spec.name,
                state=state,
                value=ev.value,
                baseline=ev.baseline,
                samples=ev.samples,
                no_data=int(ev.no_data),
                evaluated_at_ns=now,
                since_ns=now if changed or not prev.get("since_ns") else prev["since_ns"],
                last_error=None,
            )
        return {
            "monitor": spec.name,
            "project": spec.project,
            "state": state,
            "previous_state": prev_state,
            "changed": changed,
            "evaluation": {**ev.to_dict(), "examples": self._links(ev)},
            "event": event,
        }

    def _links(self, ev: Evaluation) -> list[dict[str, Any]]:
        return [{**e, "url": self.trace_url(ev.project, e["trace_id"])} for e in ev.examples]

    def trace_url(self, project: str, trace_id: str) -> str:
        return trace_url(self.public_url, project, trace_id)

    def search_url(self, project: str, filter_text: str | None) -> str:
        params = {"project": project}
        if filter_text:
            params["filter"] = filter_text
        return f"{self.public_url}/?{urlencode(params, quote_via=quote)}"

    def _transition(self, spec: MonitorSpec, ev: Evaluation, state: str, offenders: list[str]) -> dict[str, Any]:
        rule = ev.rule
        payload: dict[str, Any] = {
            "monitor": spec.name,
            "project": spec.project,
            "state": state,
            "severity": spec.severity,
            "description": spec.description,
            "rule": rule.text,
            "aggregate": rule.aggregate.text,
            "filter": rule.filter,
            "condition": rule.condition_text,
            "window": rule.window,
            "value": ev.value,
            "threshold": ev.threshold,
            "baseline": ev.baseline,
            "change": ev.change,
            "samples": ev.samples,
            "baseline_samples": ev.baseline_samples if rule.change else None,
            "evaluated_at": _iso(ev.at_ns),
            "window_start": _iso(ev.window_start_ns),
            "window_end": _iso(ev.at_ns),
            "url": self.search_url(spec.project, rule.filter),
            "examples": self._links(ev),
        }
        record = dict(payload)
        if state == "firing":
            payload["offending_traces"] = len(offenders)
            record["offending_trace_ids"] = offenders
            if spec.dataset:
                try:
                    payload["dataset"] = self.dataset_sink(
                        self.store,
                        spec.project,
                        spec.dataset,
                        offenders,
                        {**payload, "dataset_mapping": spec.dataset_mapping},
                    )
                except Exception as exc:  # noqa: BLE001 - the event and notifications still go out
                    log.exception("adding traces to dataset %r failed", spec.dataset)
                    payload["dataset"] = {"name": spec.dataset, "status": "error", "error": str(exc)}
                record["dataset"] = payload["dataset"]
        event_id = self.db.add_event(spec.project, spec.name, state, ev.at_ns, record)
        payload["event_id"] = event_id
        results = [log_notification(payload)]
        webhook = spec.webhook or self.webhook
        if webhook:
            results.append(
                post_webhook(
                    webhook, payload, timeout=self.config.webhook_timeout, attempts=self.config.webhook_attempts
                )
            )
        record["notifications"] = results
        self.db.update_event(event_id, record)
        return {**payload, "notifications": results}

    def history(self, project: str | None, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.db.history(project, name, limit)

    # ------------------------------------------------------------------ metrics
    def collect(self, project: str | None) -> Iterator[Metric]:
        """``spanscope_monitor_firing`` / ``spanscope_monitor_value`` for ``/metrics``."""
        firing = GaugeMetricFamily(
            names.MONITOR_FIRING, "1 while the monitor fires, else 0.", labels=("project", "monitor", "severity")
        )
        value = GaugeMetricFamily(
            names.MONITOR_VALUE, "The monitor's value at its last evaluation.", labels=("project", "monitor")
        )
        states = self.db.states(project)
        for spec, _ in self.db.specs(project):
            st = states.get((spec.project, spec.name)) or {}
            firing.add_metric((spec.project, spec.name, spec.severity), 1.0 if st.get("state") == "firing" else 0.0)
            if st.get("value") is not None:
                value.add_metric((spec.project, spec.name), float(st["value"]))
        yield firing
        yield value


__all__ = [
    "DatasetSink",
    "MonitorConflict",
    "MonitorService",
    "MonitorSpecError",
    "MonitorsConfig",
    "record_only_sink",
]
