"""The ClickHouse dialect of the filter compiler (a server or cluster, or chDB in-process).

Same planner, same SQL shape as DuckDB; what differs is spelled here:

- JSON values are read with ``JSONExtractRaw(col, k1, k2, …)``: every key is a bound ``String`` and every
  index a bound ``Int64`` (ClickHouse indexes are 1-based, negative from the end, so ``i >= 0`` binds
  ``i + 1``). A missing key gives ``''`` and JSON null gives ``'null'``; both read as SQL NULL, a JSON
  string is unquoted with ``JSONExtractString``, anything else is its JSON text (what DuckDB's
  ``json_extract_string`` gives).
- Numbers: ``toFloat64OrNull`` (DuckDB's ``TRY_CAST(… AS DOUBLE)``).
- Aggregates: ``quantileExactInclusive`` (linear interpolation, like ``quantile_cont``), ``countIf``,
  ``argMax``, ``cityHash64``.

Placeholders stay ``?``: the ClickHouse executor (``spanscope.store.clickhouse.executor``) rewrites each
into a typed query parameter ``{p0:String}`` and binds the value server-side, so no value is ever
interpolated into SQL. Correlated ``EXISTS`` and ``WITH RECURSIVE`` (tree predicates) run on ClickHouse
25.x+ with the analyzer (chDB 4.x embeds 26.9).
"""

from __future__ import annotations

from collections.abc import Sequence

from spanscope.query.dialect import Dialect, Sql
from spanscope.query.paths import JsonPath

MAX_TREE_DEPTH = 512  # ancestor/descendant walks stop here (a cycle of parents would loop for ever)


def clickhouse_json_args(path: JsonPath) -> list[str | int]:
    """The bound arguments of ``JSONExtract*(col, …)`` that select ``path``.

    Example:
        >>> clickhouse_json_args(("messages", -1, "content"))
        ['messages', -1, 'content']
        >>> clickhouse_json_args(("a", 0))
        ['a', 1]
    """
    args: list[str | int] = []
    for segment in path:
        if isinstance(segment, int):
            args.append(segment + 1 if segment >= 0 else segment)
        else:
            args.append(str(segment))
    return args


class ClickHouseDialect(Dialect):
    """ClickHouse: ``JSONExtractRaw`` with bound keys, ``toFloat64OrNull`` for numbers."""

    name = "clickhouse"
    true = "true"
    false = "false"

    def json_text(self, column: str, path: JsonPath) -> Sql:
        if not path:
            # The whole stored text, a JSON string unquoted (no parse of other documents).
            return Sql(f"if(startsWith({column}, '\"'), JSONExtractString({column}), {column})")
        args = clickhouse_json_args(path)
        raw = f"JSONExtractRaw({column}, {', '.join([self.placeholder] * len(args))})"
        # The same extraction four times, with the same bound constants: ClickHouse computes a repeated
        # subexpression once, so each document is parsed once.
        text = f"multiIf({raw} IN ('', 'null'), NULL, startsWith({raw}, '\"'), JSONExtractString({raw}), {raw})"
        return Sql(text, tuple(args) * 4)

    def json_number(self, column: str, path: JsonPath) -> Sql:
        return self.json_text(column, path).wrap("toFloat64OrNull({})")

    def quantile(self, expr: str, q: float) -> str:
        return f"quantileExactInclusive({float(q)!r})({expr})"

    def quantiles(self, expr: str, qs: Sequence[float]) -> str:
        return f"quantilesExactInclusive({', '.join(repr(float(q)) for q in qs)})({expr})"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def bucket(self, expr_ns: str, width_ns: int) -> str:
        return f"intDiv({expr_ns}, {int(width_ns)}) * {int(width_ns)}"

    def stable_hash(self, expr: str) -> str:
        return f"cityHash64({expr})"

    def latest_finding_value(self, outer: str = "t", value: str = "f.value") -> str:
        # ClickHouse runs no correlated subquery in ORDER BY, so the latest value of every trace is computed
        # once (a map keyed by project and trace id) and each row looks its trace up; no value is NULL then.
        rank = "f.time_ns + if(f.span_id IS NULL, 4611686018427387904, 0)"
        latest = (
            f"SELECT concat(f.project, '\\0', f.trace_id) AS k, argMax({value}, {rank}) AS v "
            f"FROM findings_current f WHERE f.name = {self.placeholder} GROUP BY f.project, f.trace_id "
            "HAVING v IS NOT NULL"
        )
        table = f"(SELECT mapFromArrays(groupArray(k), groupArray([v])) FROM ({latest}))"
        # A missing key reads as the default value ([]), whose first element is NULL.
        return f"arrayElementOrNull({table}[concat({outer}.project, '\\0', {outer}.trace_id)], 1)"

    def related_spans(self, relation: str, name: str, alias: str, condition: Sql) -> Sql:
        """As :meth:`Dialect.related_spans`, walking ``parent_span_id`` with ``UNION ALL`` (the only union a
        ClickHouse recursive CTE takes); a depth column bounds the walk so parents forming a cycle end it."""
        u, p = f"{name}_u", f"{name}_p"
        if relation == "descendant":  # walk up from the matching spans: their proper ancestors
            anchor = (
                f"SELECT {alias}.project, {alias}.trace_id, {alias}.parent_span_id, 1 FROM spans {alias} "
                f"WHERE {alias}.parent_span_id IS NOT NULL AND ({condition.text})"
            )
            step = (
                f"SELECT {p}.project, {p}.trace_id, {p}.parent_span_id, {u}.depth + 1 FROM {name} {u} JOIN spans {p} "
                f"ON {p}.project = {u}.project AND {p}.trace_id = {u}.trace_id AND {p}.span_id = {u}.span_id "
                f"WHERE {p}.parent_span_id IS NOT NULL AND {u}.depth < {MAX_TREE_DEPTH}"
            )
        else:  # walk down from the matching spans: their proper descendants
            anchor = (
                f"SELECT {p}.project, {p}.trace_id, {p}.span_id, 1 FROM spans {alias} JOIN spans {p} "
                f"ON {p}.project = {alias}.project AND {p}.trace_id = {alias}.trace_id "
                f"AND {p}.parent_span_id = {alias}.span_id WHERE ({condition.text})"
            )
            step = (
                f"SELECT {p}.project, {p}.trace_id, {p}.span_id, {u}.depth + 1 FROM {name} {u} JOIN spans {p} "
                f"ON {p}.project = {u}.project AND {p}.trace_id = {u}.trace_id AND {p}.parent_span_id = {u}.span_id "
                f"WHERE {u}.depth < {MAX_TREE_DEPTH}"
            )
        text = (
            f"WITH RECURSIVE {name}(project, trace_id, span_id, depth) AS ({anchor} UNION ALL {step}) "
            f"SELECT DISTINCT project, trace_id, span_id FROM {name}"
        )
        return Sql(text, condition.params)

    def count(self, table: str, alias: str, keys: Sequence[str], condition: Sql, outer: str = "t") -> Sql:
        # A correlated count over no rows comes back NULL from ClickHouse's decorrelating join, not 0.
        return super().count(table, alias, keys, condition, outer).wrap("coalesce({}, 0)")
