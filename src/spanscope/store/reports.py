"""SDK drop reports (a request body's ``sdk_stats``) as rows of ``sdk_reports``, keyed so that none counts twice.

An SDK sends ``{"dropped": {reason: n}, "sdk": ..., "version": ...}`` with a batch: what it dropped since its last
report. The server's ingest log stamps the report with an id and its arrival time (:func:`stamp`) before it
acknowledges the request, so replaying the log after a crash writes the same rows again under the same key
(``project, report_id, reason``): DuckDB ignores them (a unique index), ClickHouse's ``ReplacingMergeTree`` keeps
one. A report written straight to a store (no ingest log) is keyed by a hash of the batch it came with (its span,
finding, trace and event keys and the report), so the same batch written twice also counts once; with no items,
by ``fallback`` (the write).
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Any, Final

import msgspec

from spanscope.ingest.native import IngestBatch

REPORT_ID: Final = "spanscope.report_id"  # set by the ingest log, never taken from a client
RECEIVED_NS: Final = "spanscope.received_ns"


def stamp(stats: dict[str, Any], now_ns: int) -> dict[str, Any]:
    """``stats`` with a fresh report id and its arrival time (what the ingest log records)."""
    return {**stats, REPORT_ID: os.urandom(16).hex(), RECEIVED_NS: now_ns}


def report_id(project: str, batch: IngestBatch, fallback: object) -> str:
    """The key of the drop report sent with ``batch``: the stamped id, else a hash of the batch (module doc)."""
    stats = batch.sdk_stats or {}
    stamped = stats.get(REPORT_ID)
    if isinstance(stamped, str) and stamped:
        return stamped
    items = (
        [[s.trace_id, s.span_id] for s in batch.spans]
        + [[f.trace_id, f.finding_id] for f in batch.findings]
        + [[i.trace_id] for i in batch.traces]
        + [[e.trace_id, e.span_id, e.time_ns, e.name] for e in batch.events]
    )
    # Finding ids are fixed before the ingest log, so they are stable too; no items: nothing stable but the write.
    ident = [project, stats, items] if items else [project, stats, fallback]
    return hashlib.blake2b(msgspec.json.encode(ident), digest_size=16).hexdigest()


def report_rows(project: str, batch: IngestBatch, fallback: object) -> list[tuple[Any, ...]]:
    """``(project, report_id, reason, time_ns, sdk, version, dropped)`` for each reason with a count in
    ``batch.sdk_stats``; none when there is no report."""
    stats = batch.sdk_stats
    if not stats or not isinstance(stats.get("dropped"), dict):
        return []
    received = stats.get(RECEIVED_NS)
    now = received if isinstance(received, int) and not isinstance(received, bool) else time.time_ns()
    sdk, version = stats.get("sdk"), stats.get("version")
    sdk = str(sdk) if sdk is not None else None
    version = str(version) if version is not None else None
    rid = report_id(project, batch, fallback)
    return [
        (project, rid, str(reason)[:64], now, sdk, version, int(n))
        for reason, n in stats["dropped"].items()
        if isinstance(n, int) and not isinstance(n, bool) and 0 < n < 2**62
    ]
