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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from spanscope.query.dialect import Dialect, Sql
from spanscope.query.grammar import Operator
from spanscope.query.paths import EVERY, JsonPath, Where

MAX_TREE_DEPTH = 512  # ancestor/descendant walks stop here (a cycle of parents would loop for ever)
# Columns of ``spans`` whose whole-document text carries an n-gram index (ClickHouse schema ``0500_query_perf``:
# ngrambf_v1 over ``lower(<json_text>)``, 3-grams).
TEXT_INDEXED: Final = frozenset({"inputs", "outputs"})
NGRAM: Final = 3
# ASCII letters that a case-insensitive match also finds as another character (the Kelvin sign, the long s).
_FOLDS_BEYOND_ASCII: Final = frozenset("kKsS")


@dataclass(frozen=True)
class DocumentText(Sql):
    """``json_text`` of a whole document that has an n-gram index: :meth:`ClickHouseDialect.compare` adds the
    pre-filter that lets ClickHouse skip granules for a substring search on it."""


def index_pattern(pattern: str, case_insensitive: bool) -> str | None:
    """A ``LIKE`` pattern over the lower-cased text that every value matching ``pattern`` also matches, or None
    when it holds no run of 3 plain characters (an n-gram index could skip nothing with it).

    Wildcards stay wildcards (``_`` widens to ``%``: ClickHouse's ``LIKE`` takes ``_`` as one byte), an
    escape and the character after it become ``%``, ASCII letters are lower-cased. For ``ILIKE`` a character
    that matches something ``lower()`` does not map to it (non-ASCII letters, ``k`` and ``s``) becomes ``%``.

    Example:
        >>> index_pattern("%Refunds for%", case_insensitive=True)
        '%refund% for%'
        >>> index_pattern("%ab_c%", case_insensitive=False) is None
        True
    """
    out: list[str] = []
    run = longest = 0
    chars = iter(pattern)
    for ch in chars:
        literal = None
        if ch == "\\":
            next(chars, None)
        elif ch not in "%_" and not (case_insensitive and (ch in _FOLDS_BEYOND_ASCII or not ch.isascii())):
            literal = ch.lower() if ch.isascii() else ch
        if literal is None:
            if not out or out[-1] != "%":
                out.append("%")
            run = 0
        else:
            out.append(literal)
            run += 1
            longest = max(longest, run)
    return "".join(out) if longest >= NGRAM else None


def clickhouse_index(index: int) -> int:
    """A JSON path's list index (0-based, negative from the end) as ClickHouse's (1-based, negative from the end)."""
    return index + 1 if index >= 0 else index


def raw_at(expr: Sql, path: JsonPath, placeholder: str = "?", names: Iterator[int] | None = None) -> Sql:
    """The raw JSON text (``JSONExtractRaw``: ``''`` when absent) at ``path`` inside the raw JSON ``expr``.

    Keys go in one ``JSONExtractRaw(expr, k1, k2, …)`` with bound arguments. A list index selects only in a list:
    ClickHouse's ``JSONExtractRaw(doc, 1)`` on an object gives its first member, where DuckDB's JSON pointer (and
    the Python side) find nothing. A key of digits indexes a list and names a member of an object, as a JSON pointer
    does. So each index step checks ``JSONType`` of the value it steps into (bound once by a one-element
    ``arrayMap``).

    Example:
        >>> raw_at(Sql("c"), ("messages", -1, "content")).params
        (-1, 'messages', 'content')
    """
    names = names if names is not None else iter(range(10_000))
    out, run = expr, []

    def flush() -> None:
        nonlocal out
        if run:
            out = Sql(f"JSONExtractRaw({out.text}, {', '.join([placeholder] * len(run))})", (*out.params, *run))
            run.clear()

    for segment in path:
        digits = isinstance(segment, str) and segment.isascii() and segment.isdigit()
        if not isinstance(segment, int) and not digits:
            run.append(str(segment))
            continue
        flush()
        x = f"x{next(names)}"
        if isinstance(segment, int):
            step, params = (
                f"if(JSONType({x}) = 'Array', JSONExtractRaw({x}, {placeholder}), '')",
                (clickhouse_index(segment),),
            )
        else:
            step = (
                f"if(JSONType({x}) = 'Array', JSONExtractRaw({x}, {placeholder}), JSONExtractRaw({x}, {placeholder}))"
            )
            params = (int(segment) + 1, segment)
        out = Sql(f"arrayMap({x} -> {step}, [{out.text}])[1]", (*params, *out.params))
    flush()
    return out


def raw_text(raw: str) -> str:
    """The text of the raw JSON value ``raw`` (what ``JSONExtractRaw`` gives): a string unquoted, anything else its
    JSON text, SQL NULL for a missing value (``''``) or JSON null (DuckDB's ``json_extract_string``)."""
    return f"multiIf({raw} IN ('', 'null'), NULL, startsWith({raw}, '\"'), JSONExtractString({raw}), {raw})"


class ClickHouseDialect(Dialect):
    """ClickHouse: ``JSONExtractRaw`` with bound keys, ``toFloat64OrNull`` for numbers."""

    name = "clickhouse"
    true = "true"
    false = "false"
    # The operator that tests a value against a subquery's set (a cluster's sets are GLOBAL: see below).
    set_in = "IN"

    def json_text(self, column: str, path: JsonPath) -> Sql:
        if not path:
            # The whole stored text, a JSON string unquoted (no parse of other documents).
            text = f"if(startsWith({column}, '\"'), JSONExtractString({column}), {column})"
            return DocumentText(text) if column.rpartition(".")[2] in TEXT_INDEXED else Sql(text)
        raw = raw_at(Sql(column), path, self.placeholder)
        # The extraction once, bound to ``r`` by a one-element arrayMap: written four times, ClickHouse computed
        # it once per row on a plain read but four times above ``FINAL`` (a tag filter over 2M traces through
        # the ``traces`` view: 1,280 -> 560 ms).
        return raw.wrap(f"arrayMap(r -> {raw_text('r')}, [{{}}])[1]")

    def json_number(self, column: str, path: JsonPath) -> Sql:
        return self.json_text(column, path).wrap("toFloat64OrNull({})")

    def compare_many(self, op: Operator, column: str, path: JsonPath, numeric: bool, values: Sequence[Any]) -> Sql:
        """As DuckDB's: the values a ``[*]``/``[?…]`` path selects as an ``Array(String)`` of raw JSON
        (``JSONExtractArrayRaw``, ``arrayMap``/``arrayFilter``/``arrayFlatten``), true when ``arrayExists`` finds one
        that satisfies the comparison. An index right after ``[*]``/``[?…]`` picks among the selected values."""
        names = iter(range(10_000))
        expr, many = Sql(f"ifNull({column}, '')"), False
        run: list[Any] = []

        def extract(e: Sql, is_many: bool) -> Sql:  # the pending run of keys/indexes, applied to one or each value
            if not run:
                return e
            steps = tuple(run)
            run.clear()
            if not is_many:
                return raw_at(e, steps, self.placeholder, names)
            x = f"x{next(names)}"
            inner = raw_at(Sql(x), steps, self.placeholder, names)
            return Sql(f"arrayMap({x} -> {inner.text}, {e.text})", (*inner.params, *e.params))

        for segment in path:
            if segment is EVERY or isinstance(segment, Where):
                expr = extract(expr, many)
                if many:
                    x = f"x{next(names)}"
                    expr = expr.wrap(f"arrayFlatten(arrayMap({x} -> JSONExtractArrayRaw({x}), {{}}))")
                else:
                    expr = expr.wrap("JSONExtractArrayRaw({})")
                many = True
                if isinstance(segment, Where):
                    x = f"x{next(names)}"
                    value = segment.value
                    if isinstance(value, bool):
                        value = "true" if value else "false"
                    r = f"x{next(names)}"
                    raw = raw_at(Sql(x), (segment.key,), self.placeholder, names)
                    key = f"arrayMap({r} -> {raw_text(r)}, [{raw.text}])[1]"
                    lhs = f"toFloat64OrNull({key})" if isinstance(value, int | float) else key
                    sym = "=" if segment.op == "=" else "!="
                    expr = Sql(
                        f"arrayFilter({x} -> ifNull({lhs} {sym} {self.placeholder}, 0), {expr.text})",
                        (*raw.params, value, *expr.params),
                    )
            elif many and isinstance(segment, int) and not run:
                # ClickHouse arrays are 1-based, negative from the end; out of range gives '' (missing)
                expr = Sql(f"arrayElement({expr.text}, {self.placeholder})", (*expr.params, clickhouse_index(segment)))
                many = False
            else:
                run.append(segment)
        expr = extract(expr, many)
        if not many:
            text = expr.wrap(f"arrayMap(r -> {raw_text('r')}, [{{}}])[1]")
            return self.compare(op, text.wrap("toFloat64OrNull({})") if numeric else text, values)
        x = f"x{next(names)}"
        if op.symbol in ("IS NULL", "IS NOT NULL"):
            found = expr.wrap(f"arrayExists({x} -> {x} NOT IN ('', 'null'), {{}})")
            return found if op.symbol == "IS NOT NULL" else found.wrap("NOT {}")
        element = raw_text(x)
        condition = self.compare(op, Sql(f"toFloat64OrNull({element})" if numeric else element), values)
        return Sql(f"arrayExists({x} -> ifNull({condition.text}, 0), {expr.text})", (*condition.params, *expr.params))

    def compare(self, op: Operator, lhs: Sql, values: Sequence[Any]) -> Sql:
        """As :meth:`Dialect.compare`; ``LIKE``/``ILIKE`` on an indexed whole document also get a pre-filter,
        ``lower(<text>) LIKE <index_pattern>``, true whenever the comparison is: the spelling of the n-gram index
        (schema ``span_text_index_expr``), so ClickHouse skips the granules whose index rules the words out.
        The comparison itself still decides, so results are those of the comparison alone."""
        exact = super().compare(op, lhs, values)
        if not isinstance(lhs, DocumentText) or op.symbol not in ("LIKE", "ILIKE") or not isinstance(values[0], str):
            return exact
        pattern = index_pattern(values[0], case_insensitive=op.symbol == "ILIKE")
        if pattern is None:
            return exact
        prefilter = f"lower(ifNull({lhs.text}, '')) LIKE {self.placeholder}"
        return Sql(f"({prefilter} AND {exact.text})", (*lhs.params, pattern, *exact.params))

    def quantile(self, expr: str, q: float) -> str:
        return f"quantileExactInclusive({float(q)!r})({expr})"

    def same_name_quantile(self, table: str, ref: str, alias: str, value: Sql, q: float, bounds: Sql) -> Sql:
        """As :meth:`Dialect.same_name_quantile`, computed once for every (project, name) by a scalar subquery
        (a map) and looked up per row: ClickHouse runs the correlated form as a join per row, ~6x slower
        (measured at 2M spans, with the aggregation itself the same). Span reference rows are read from
        ``spans_data`` without ``FINAL``: a span written twice counts twice until a merge (rare: SDKs write a
        span once; retries and replays are the cases), 3x cheaper at 10M spans (docs/scale-out.md)."""
        source = "spans_data" if table == "spans" else table
        groups = (
            f"SELECT toString(({ref}.project, {ref}.name)) AS k, {self.quantile(value.text, q)} AS v "
            f"FROM {source} {ref} WHERE {ref}.name IS NOT NULL{bounds.text} GROUP BY {ref}.project, {ref}.name"
        )
        # (a group without a value and a missing group both read NULL)
        lookup = (
            f"(SELECT CAST((groupArray(k), groupArray(v)), 'Map(String, Nullable(Float64))') FROM ({groups}) "
            "WHERE v IS NOT NULL)"
        )
        text = f"if({alias}.name IS NULL, NULL, {lookup}[toString(({alias}.project, {alias}.name))])"
        return Sql(text, value.params + bounds.params)

    def quantiles(self, expr: str, qs: Sequence[float]) -> str:
        return f"quantilesExactInclusive({', '.join(repr(float(q)) for q in qs)})({expr})"

    def count_if(self, condition: str) -> str:
        return f"countIf({condition})"

    def bucket(self, expr_ns: str, width_ns: int) -> str:
        return f"intDiv({expr_ns}, {int(width_ns)}) * {int(width_ns)}"

    def stable_hash(self, expr: str) -> str:
        return f"cityHash64({expr})"

    def span_tokens(self, alias: str) -> str:
        # The same sum, computed on insert (schema 0900): one column read instead of three.
        return f"{alias}.attr_tokens"

    def in_list(self, column: str) -> str:
        return f"has({self.placeholder}, {column})"

    def int_div(self, dividend: str, divisor: str) -> str:
        return f"intDiv({dividend}, {divisor})"

    def try_double(self, text: str) -> str:
        return f"toFloat64OrNull({text})"

    def stored_text(self, column: str) -> str:
        return column  # JSON columns are String already (a CAST of a NULL to String would fail)

    def md5_hex(self, text: str) -> str:
        return f"lower(hex(MD5({text})))"

    def json_keys(self, column: str) -> str:
        return f"arrayJoin(JSONExtractKeys(ifNull({column}, '')))"  # an array can't be Nullable

    def json_key_is_number(self, column: str, key: str) -> str:
        return f"JSONType({column}, {key}) IN ('Int64', 'UInt64', 'Double', 'Bool')"

    def outer_joins(self, sql: str) -> str:
        # ClickHouse fills an outer join's missing side with each type's default (0, ''), not NULL, unless told.
        return f"{sql} SETTINGS join_use_nulls = 1"

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

    def materialized_cte(self, name: str, body: str) -> tuple[str, str]:
        """The ``WITH`` item that computes ``name`` once however often the statement reads it (ClickHouse inlines a
        plain CTE at every reference), and the ``SETTINGS`` the statement must end with. ClickHouse 26.3+ only: an
        older server rejects both, so callers check first (``analysis.engine``)."""
        return f"{name} AS MATERIALIZED ({body})", " SETTINGS enable_materialized_cte = 1"

    def member_of(self, table: str, flag: str, column: str, value: str) -> str:
        """True where ``value`` is the ``column`` of a row of ``table`` that has ``flag`` (a materialized CTE:
        ``materialized_cte``), tested in a set of 64-bit hashes of the ids: cheaper to build and probe than a join
        (the strings hashed once and no payload carried; compare()'s statement at 10M spans: 1.39 -> 1.24 s).
        Two ids share a hash with probability 2^-64: with 2M member traces, a query counts a span of one other
        trace as a member's about once in 10^7 queries."""
        return f"{self.stable_hash(value)} {self.set_in} (SELECT {self.stable_hash(column)} FROM {table} WHERE {flag})"


class ClusterClickHouseDialect(ClickHouseDialect):
    """ClickHouse behind ``Distributed`` tables (a cluster: ``spanscope cluster-ddl``), where a query over a remote
    table may hold no correlated subquery (code 48, "Correlated subqueries are not supported with remote
    tables"). What the planner correlates is decorrelated here: ``EXISTS`` as ``(t.project, t.trace_id) GLOBAL IN
    (SELECT …)``, a count as a lookup in a map of counts per trace computed once. Same answers as the
    single-node form (``tests/integration/test_cluster_layout.py`` checks them against a single-node store);
    each subquery reads every shard."""

    # GLOBAL: a set is computed once, over every shard, and sent to each (a plain IN over a Distributed table on
    # several shards is refused, or read once per shard; compare's materialized members exist on this node only)
    set_in = "GLOBAL IN"

    def semi_join(self, source: str, alias: str, keys: Sequence[str], outer: str, where: str | None = None) -> str:
        inner = ", ".join(f"{alias}.{key}" for key in keys)
        filtered = f" WHERE {where}" if where else ""
        outer_keys = ", ".join(f"{outer}.{key}" for key in keys)
        return f"({outer_keys}) {self.set_in} (SELECT {inner} FROM {source} {alias}{filtered})"

    def count(self, table: str, alias: str, keys: Sequence[str], condition: Sql, outer: str = "t") -> Sql:
        inner = f"toString(({', '.join(f'{alias}.{key}' for key in keys)}))"
        counts = (
            f"(SELECT CAST((groupArray(k), groupArray(c)), 'Map(String, UInt64)') FROM (SELECT {inner} AS k, "
            f"count() AS c FROM {table} {alias} WHERE {condition.text} GROUP BY k))"
        )
        return Sql(f"{counts}[toString(({', '.join(f'{outer}.{key}' for key in keys)}))]", condition.params)
