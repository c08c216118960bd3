"""Finding history and finding values for comparisons (every engine: engine-neutral SQL over ``findings`` and
``findings_current``, tables and a view on DuckDB, views on ClickHouse).

A finding is never changed in place: an update is a new finding whose metadata names the one it replaces
(``spanscope.supersedes``). It travels through the ingest log like any finding, so it is as durable and
replay-safe as the original. The view ``findings_current`` (DuckDB migration ``0102_findings_history``) hides
every finding some other finding of the same trace supersedes; the filter language's ``finding.<name>``
reads that view, so a superseded value no longer matches a search while the history stays readable here.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from spanscope.query import compile_filter, parse_extract_field
from spanscope.query.extract import Source
from spanscope.store.datasets_core import QualityEngine

SUPERSEDES: Final = "spanscope.supersedes"

_decode = msgspec.json.decode
_COLS: Final = "finding_id, trace_id, span_id, name, value, source, rationale, time_ns, metadata"


def _loads(text: str | None) -> Any:
    return None if text is None else _decode(text)


def _finding(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "finding_id": r[0],
        "trace_id": r[1],
        "span_id": r[2],
        "name": r[3],
        "value": _loads(r[4]),
        "source": r[5],
        "rationale": r[6],
        "time_ns": r[7],
        "metadata": _loads(r[8]) or {},
    }


def _with_links(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add ``supersedes`` and ``superseded_by`` to findings of one or more whole traces."""
    successor = {}
    for f in findings:
        old = f["metadata"].get(SUPERSEDES)
        if isinstance(old, str):
            successor[old] = f["finding_id"]
    for f in findings:
        old = f["metadata"].get(SUPERSEDES)
        f["supersedes"] = old if isinstance(old, str) else None
        f["superseded_by"] = successor.get(f["finding_id"])
    return findings


class FindingsMixin(QualityEngine):
    """The findings half of the quality methods of a store."""

    def _trace_findings(self, con: Any, project: str, trace_id: str) -> list[dict[str, Any]]:
        rows = con.execute(
            f"SELECT {_COLS} FROM findings WHERE project = ? AND trace_id = ? ORDER BY time_ns, finding_id",
            [project, trace_id],
        ).fetchall()
        return _with_links([_finding(r) for r in rows])

    def get_finding(self, project: str, finding_id: str) -> dict[str, Any] | None:
        """One finding with ``supersedes``/``superseded_by`` and its ``history`` (oldest first, all of the
        chain it belongs to) and the chain's ``current_id``."""
        con = self._cursor()
        try:
            row = con.execute(
                "SELECT trace_id FROM findings WHERE project = ? AND finding_id = ?", [project, finding_id]
            ).fetchone()
            if row is None:
                return None
            findings = self._trace_findings(con, project, row[0])
        finally:
            con.close()
        by_id = {f["finding_id"]: f for f in findings}
        this = by_id[finding_id]
        first = this
        seen = {first["finding_id"]}
        while first["supersedes"] in by_id and first["supersedes"] not in seen:
            first = by_id[first["supersedes"]]
            seen.add(first["finding_id"])
        chain = [first]
        visited = {first["finding_id"]}
        while chain[-1]["superseded_by"] in by_id and chain[-1]["superseded_by"] not in visited:
            chain.append(by_id[chain[-1]["superseded_by"]])
            visited.add(chain[-1]["finding_id"])
        return {**this, "history": chain, "current_id": chain[-1]["finding_id"]}

    def list_findings(
        self,
        project: str,
        *,
        trace_id: str | None = None,
        name: str | None = None,
        include_superseded: bool = False,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        limit = max(0, min(int(limit), 100_000))
        sql = "SELECT DISTINCT trace_id FROM findings WHERE project = ?"
        params: list[Any] = [project]
        if trace_id is not None:
            sql += " AND trace_id = ?"
            params.append(trace_id)
        if name is not None:
            sql += " AND name = ?"
            params.append(name)
        con = self._cursor()
        try:
            traces = [r[0] for r in con.execute(sql + " LIMIT ?", [*params, limit]).fetchall()]
            # Links are resolved within whole traces, so read every finding of the traces concerned.
            rows = con.execute(
                f"SELECT {_COLS} FROM findings WHERE project = ? AND {self.IN_LIST.format(column='trace_id')} "
                "ORDER BY time_ns, finding_id",
                [project, traces],
            ).fetchall()
        finally:
            con.close()
        out = _with_links([_finding(r) for r in rows])
        out = [f for f in out if (name is None or f["name"] == name) and (include_superseded or not f["superseded_by"])]
        return out[-limit:] if limit else []

    def current_finding_ids(
        self, project: str, keys: list[tuple[str, str | None, str, str]]
    ) -> dict[tuple[str, str | None, str, str], str]:
        """The latest current finding for each ``(trace_id, span_id, name, source)``."""
        if not keys:
            return {}
        con = self._cursor()
        try:
            rows = con.execute(
                "SELECT trace_id, span_id, name, source, finding_id FROM findings_current "
                f"WHERE project = ? AND {self.IN_LIST.format(column='trace_id')} ORDER BY time_ns, finding_id",
                [project, sorted({k[0] for k in keys})],
            ).fetchall()
        finally:
            con.close()
        wanted = set(keys)
        out = {}
        for tid, sid, name, source, fid in rows:
            key = (tid, sid, name, source)
            if key in wanted:
                out[key] = fid  # later rows win: the latest
        return out

    def metric_values(self, project: str, field: str, filter_string: str | None = None) -> list[tuple[str, Any]]:
        """``(trace_id, value)`` of a finding (``finding.<name>``, ``feedback.<name>`` or a bare name: the
        latest current trace-level one, else the latest on a span) or a tag (``tag.<key>``), for the traces
        matching ``filter_string``."""
        text = field.strip()
        prefixed = text.lower().startswith(("tag.", "tags.", "finding.", "feedback."))
        parsed = parse_extract_field(text if prefixed else "finding.`" + text.replace("`", "``") + "`")
        if parsed.source not in (Source.TAG, Source.FINDING):
            raise ValueError(f"compare a finding (finding.<name>) or a tag (tag.<key>), not {field!r}")
        where, params = compile_filter(filter_string, self.dialect)
        con = self._cursor()
        try:
            if parsed.source is Source.TAG:
                rows = con.execute(
                    f"SELECT t.trace_id, t.tags FROM traces t WHERE t.project = ? AND ({where})", [project, *params]
                ).fetchall()
                out = []
                for tid, tags in rows:
                    value = (_loads(tags) or {}).get(parsed.key)
                    if value is not None:
                        out.append((tid, value))
                return out
            # The traces as a search selects them (the filter compiles over ``traces t``), then their findings.
            rows = con.execute(
                "SELECT trace_id, span_id, value, time_ns FROM findings_current WHERE project = ? AND name = ? "
                f"AND trace_id IN (SELECT t.trace_id FROM traces t WHERE t.project = ? AND ({where})) "
                "ORDER BY time_ns, finding_id",
                [project, parsed.key, project, *params],
            ).fetchall()
        finally:
            con.close()
        best: dict[str, tuple[int, Any]] = {}
        for tid, sid, value, _ in rows:
            rank = 1 if sid is None else 0
            cur = best.get(tid)
            if cur is None or rank >= cur[0]:
                best[tid] = (rank, _loads(value))
        return [(tid, v[1]) for tid, v in best.items()]
