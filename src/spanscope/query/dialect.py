"""SQL dialects: everything engine-specific the planner emits goes through one of these.

The planner is engine-neutral: it asks the dialect for a JSON value's text or number, an ORDER BY term,
and the placeholder to bind with. ``DuckDBDialect`` is the embedded default; a ClickHouse dialect
implements the same methods (``JSONExtractString(col, 'a', 1)`` and ``toFloat64OrNull`` there).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from spanscope.query.errors import FilterError
from spanscope.query.grammar import Operator
from spanscope.query.paths import EVERY, JsonPath, Where


@dataclass(frozen=True)
class Sql:
    """A fragment of SQL with the values its placeholders bind, in order."""

    text: str
    params: tuple[Any, ...] = ()

    @staticmethod
    def join(separator: str, parts: Iterable[Sql]) -> Sql:
        items = list(parts)
        return Sql(separator.join(p.text for p in items), tuple(v for p in items for v in p.params))

    def wrap(self, template: str) -> Sql:
        """``template`` with ``{}`` replaced by this fragment's text; same params."""
        return Sql(template.format(self.text), self.params)


class Dialect(ABC):
    """How one engine spells the parts of a filter that SQL engines disagree on.

    ``hot_columns`` maps attribute keys to typed columns of ``spans`` that hold exactly what
    :meth:`json_text` (``VARCHAR``) or :meth:`json_number` (``DOUBLE``) would extract for that key; the
    planner reads them instead of the JSON (the store passes its layout; none by default).
    """

    name: str = "abstract"
    placeholder: str = "?"
    true: str = "TRUE"
    false: str = "FALSE"

    def __init__(self, hot_columns: dict[str, tuple[str, str]] | None = None) -> None:
        self.hot_columns = dict(hot_columns or {})

    def hot_column(self, key: str, numeric: bool) -> str | None:
        """The typed column holding attribute ``key`` as a number (``numeric``) or as text, if there is one."""
        hot = self.hot_columns.get(key)
        if hot is None or (hot[1] == "DOUBLE") != numeric:
            return None
        return hot[0]

    @abstractmethod
    def json_text(self, column: str, path: JsonPath) -> Sql:
        """The text of the JSON value at ``path`` in ``column``: a string unquoted, anything else its
        JSON text; SQL NULL when the path is absent or the value is JSON null. ``path == ()`` is the
        whole value."""

    @abstractmethod
    def json_number(self, column: str, path: JsonPath) -> Sql:
        """The JSON value at ``path`` as a double: numbers and numeric strings; SQL NULL otherwise."""

    def not_null_false(self, expr: str) -> str:
        """``expr`` with unknown (NULL) read as false, so NOT flips a two-valued result."""
        return f"COALESCE({expr}, {self.false})"

    def render_operator(self, op: Operator, lhs: str, count: int) -> str:
        """``lhs <op>`` with ``count`` placeholders, from the operator table's template."""
        return op.render(lhs, [self.placeholder] * count)

    def compare(self, op: Operator, lhs: Sql, values: Sequence[Any]) -> Sql:
        """``lhs <op> values`` with the values bound (an engine may rewrite an operator it runs slowly)."""
        return Sql(self.render_operator(op, lhs.text, len(values)), lhs.params + tuple(values))

    def compare_many(self, op: Operator, column: str, path: JsonPath, numeric: bool, values: Sequence[Any]) -> Sql:
        """True when *any* value a ``[*]``/``[?…]`` path selects satisfies ``<op> values``."""
        raise FilterError(f"JSON paths with [*] or [?…] are not supported on the {self.name} engine yet", 1)

    def quantile(self, expr: str, q: float) -> str:
        """The exact ``q``-quantile (0 < q < 1) of ``expr`` over a group, interpolated linearly."""
        return f"quantile_cont({expr}, {float(q)!r})"

    def same_name_quantile(self, table: str, ref: str, alias: str, value: Sql, q: float, bounds: Sql) -> Sql:
        """The ``q``-quantile of ``value`` (an expression on ``ref``) over the rows of ``table`` (``spans`` or
        ``traces``) with the project and name of the row ``alias`` and the time ``bounds`` (conditions on
        ``ref``); NULL when there are none: a correlated scalar subquery."""
        where = f"{ref}.project = {alias}.project AND {ref}.name = {alias}.name{bounds.text}"
        return Sql(
            f"(SELECT {self.quantile(value.text, q)} FROM {table} {ref} WHERE {where})", value.params + bounds.params
        )

    def quantiles(self, expr: str, qs: Sequence[float]) -> str:
        """A list of the exact ``qs``-quantiles of ``expr`` over a group (one sort for all of them)."""
        return f"quantile_cont({expr}, [{', '.join(repr(float(q)) for q in qs)}])"

    def count_if(self, condition: str) -> str:
        """How many rows of a group satisfy ``condition``."""
        return f"count_if({condition})"

    def bucket(self, expr_ns: str, width_ns: int) -> str:
        """``expr_ns`` (nanoseconds) rounded down to a multiple of ``width_ns``."""
        return f"(({expr_ns}) // {int(width_ns)}) * {int(width_ns)}"

    def span_tokens(self, alias: str) -> str:
        """A span's tokens: its total, else its input plus output tokens (hot columns of ``spans``)."""
        return f"COALESCE({alias}.attr_total_tokens, {alias}.attr_input_tokens + {alias}.attr_output_tokens)"

    def stable_hash(self, expr: str) -> str:
        """A hash of ``expr`` that is the same for the same value (for repeatable samples)."""
        return f"hash({expr})"

    def in_list(self, column: str) -> str:
        """True when ``column`` is one of the values of one bound list parameter."""
        return f"{column} IN (SELECT unnest({self.placeholder}))"

    def int_div(self, dividend: str, divisor: str) -> str:
        """Integer division of two integer expressions (exact for nanosecond values; no double in between)."""
        return f"(({dividend}) // ({divisor}))"

    def try_double(self, text: str) -> str:
        """The text expression ``text`` as a double, SQL NULL when it is not a number."""
        return f"TRY_CAST({text} AS DOUBLE)"

    def stored_text(self, column: str) -> str:
        """The JSON text stored in ``column`` as text, as it is stored (NULL stays NULL)."""
        return f"CAST({column} AS VARCHAR)"

    def md5_hex(self, text: str) -> str:
        """The MD5 digest of the text expression ``text`` as 32 lowercase hex digits."""
        return f"md5({text})"

    def json_keys(self, column: str) -> str:
        """One row per top-level key of the JSON object in ``column`` (a set-returning select item)."""
        return f"unnest(json_keys({column}))"

    def json_key_is_number(self, column: str, key: str) -> str:
        """True when the value under the top-level key ``key`` (an SQL expression) of the JSON object in
        ``column`` is a number or a boolean."""
        pointer = f"'/' || replace(replace({key}, '~', '~0'), '/', '~1')"
        return f"json_type({column}, {pointer}) IN ('DOUBLE', 'UBIGINT', 'BIGINT', 'BOOLEAN')"

    def outer_joins(self, sql: str) -> str:
        """``sql`` (a whole statement) with standard outer joins: a row without a match gets NULLs."""
        return sql

    def count(self, table: str, alias: str, keys: Sequence[str], condition: Sql, outer: str = "t") -> Sql:
        """How many rows of ``table`` sharing ``keys`` with the ``outer`` row satisfy ``condition``."""
        where = [f"{alias}.{key} = {outer}.{key}" for key in keys] + [condition.text]
        return Sql(f"(SELECT count(*) FROM {table} {alias} WHERE {' AND '.join(where)})", condition.params)

    def related_spans(self, relation: str, name: str, alias: str, condition: Sql) -> Sql:
        """A query of ``(project, trace_id, span_id)``: the spans that have a proper descendant
        (``relation='descendant'``) or ancestor (``'ancestor'``) among the spans satisfying ``condition``
        (written over ``spans <alias>``). ``name`` is a fresh name the query may use. Standard SQL: a
        recursive CTE walking ``parent_span_id``; ``UNION`` keeps it finite if parents form a cycle."""
        u, p = f"{name}_u", f"{name}_p"
        if relation == "descendant":  # walk up from the matching spans: their proper ancestors
            anchor = (
                f"SELECT {alias}.project, {alias}.trace_id, {alias}.parent_span_id FROM spans {alias} "
                f"WHERE {alias}.parent_span_id IS NOT NULL AND ({condition.text})"
            )
            step = (
                f"SELECT {p}.project, {p}.trace_id, {p}.parent_span_id FROM {name} {u} JOIN spans {p} "
                f"ON {p}.project = {u}.project AND {p}.trace_id = {u}.trace_id AND {p}.span_id = {u}.span_id "
                f"WHERE {p}.parent_span_id IS NOT NULL"
            )
        else:  # walk down from the matching spans: their proper descendants
            anchor = (
                f"SELECT {p}.project, {p}.trace_id, {p}.span_id FROM spans {alias} JOIN spans {p} "
                f"ON {p}.project = {alias}.project AND {p}.trace_id = {alias}.trace_id "
                f"AND {p}.parent_span_id = {alias}.span_id WHERE ({condition.text})"
            )
            step = (
                f"SELECT {p}.project, {p}.trace_id, {p}.span_id FROM {name} {u} JOIN spans {p} "
                f"ON {p}.project = {u}.project AND {p}.trace_id = {u}.trace_id AND {p}.parent_span_id = {u}.span_id"
            )
        text = (
            f"WITH RECURSIVE {name}(project, trace_id, span_id) AS ({anchor} UNION {step}) "
            f"SELECT project, trace_id, span_id FROM {name}"
        )
        return Sql(text, condition.params)

    def latest_finding_value(self, outer: str = "t", value: str = "f.value") -> str:
        """``value`` (an expression over ``findings_current f``, by default its JSON value) of the latest
        trace-level finding named by one bound parameter, else of the latest one on any span of the ``outer``
        trace (the finding search results show in ``findings``)."""
        rank = "f.time_ns + CASE WHEN f.span_id IS NULL THEN 4611686018427387904 ELSE 0 END"
        return (
            f"(SELECT arg_max({value}, {rank}) FROM findings_current f WHERE f.project = {outer}.project "
            f"AND f.trace_id = {outer}.trace_id AND f.name = {self.placeholder})"
        )

    def order_term(self, expr: str, descending: bool) -> str:
        """One ORDER BY term; NULLs always last so pages are stable whatever the engine's default."""
        return f"{expr} {'DESC' if descending else 'ASC'} NULLS LAST"

    def exists(self, table: str, alias: str, keys: Sequence[str], condition: Sql, outer: str = "t") -> Sql:
        """True when a row of ``table`` sharing ``keys`` with the ``outer`` row satisfies ``condition``.

        Here a correlated ``EXISTS (SELECT 1 FROM spans s WHERE s.project = t.project AND … AND <cond>)``;
        an engine without correlated subqueries can emit ``(t.project, t.trace_id) IN (SELECT …)``.
        """
        return Sql(self.semi_join(table, alias, keys, outer, condition.text), condition.params)

    def semi_join(self, source: str, alias: str, keys: Sequence[str], outer: str, where: str | None = None) -> str:
        """True when a row of ``source`` (as ``alias``) shares ``keys`` with the ``outer`` row (and satisfies
        ``where``): a correlated ``EXISTS`` here."""
        match = [f"{alias}.{key} = {outer}.{key}" for key in keys] + ([where] if where else [])
        return f"EXISTS (SELECT 1 FROM {source} {alias} WHERE {' AND '.join(match)})"


def _pointer_token(segment: str | int) -> str:
    # RFC 6901: '~' and '/' are the only characters a JSON pointer escapes, so any key is safe.
    return str(segment).replace("~", "~0").replace("/", "~1")


def duckdb_json_paths(path: JsonPath) -> list[str]:
    """The DuckDB path strings that, applied one after another, select ``path``.

    Keys and non-negative indexes go in JSON pointers (``/usage.total_tokens``, ``/messages/0``), which
    quote every key exactly; DuckDB pointers have no negative index, so each negative index is its own
    ``$[#-N]`` step. ``()`` is ``['$']``, the whole value.

    Example:
        >>> duckdb_json_paths(("messages", -1, "content"))
        ['/messages', '$[#-1]', '/content']
    """
    steps: list[str] = []
    run: list[str] = []
    for segment in path:
        if not isinstance(segment, str | int):
            raise FilterError(
                "[*] and [?…] select many values: use them in filter comparisons (and extract_fields), "
                "not in order_by or group-by fields",
                1,
            )
        if isinstance(segment, int) and segment < 0:
            if run:
                steps.append("/" + "/".join(run))
                run = []
            steps.append(f"$[#{segment}]")
        else:
            run.append(_pointer_token(segment))
    if run:
        steps.append("/" + "/".join(run))
    return steps or ["$"]


class DuckDBDialect(Dialect):
    """DuckDB: ``json_extract`` / ``json_extract_string`` with bound paths, ``TRY_CAST`` for numbers."""

    name = "duckdb"

    def _extract(self, column: str, path: JsonPath, final: str) -> Sql:
        steps = duckdb_json_paths(path)
        expr = column
        for _ in steps[:-1]:
            expr = f"json_extract({expr}, {self.placeholder})"
        return Sql(f"{final}({expr}, {self.placeholder})", tuple(steps))

    def json_text(self, column: str, path: JsonPath) -> Sql:
        if not path:
            # The whole value: a JSON string unquoted, anything else its JSON text as stored. Reading the
            # stored text avoids parsing and re-serialising every document (a substring search over all
            # inputs is a plain scan then).
            text = f"CAST({column} AS VARCHAR)"
            return Sql(f"CASE WHEN starts_with({text}, '\"') THEN json_extract_string({column}, '$') ELSE {text} END")
        return self._extract(column, path, "json_extract_string")

    def json_number(self, column: str, path: JsonPath) -> Sql:
        return self.json_text(column, path).wrap("TRY_CAST({} AS DOUBLE)")

    def compare_many(self, op: Operator, column: str, path: JsonPath, numeric: bool, values: Sequence[Any]) -> Sql:
        expr, params, multi = column, [], False
        depth = 0
        run: list[Any] = []

        def flush_run(e: str, ps: list[Any], many: bool) -> str:
            if not run:
                return e
            steps = duckdb_json_paths(tuple(run))
            run.clear()
            if not many:
                for _ in steps:
                    e = f"json_extract({e}, {self.placeholder})"
                ps.extend(steps)
                return e
            x = f"x{next_var()}"
            inner = x
            for _ in steps:
                inner = f"json_extract({inner}, {self.placeholder})"
            ps.extend(steps)
            return f"list_transform({e}, lambda {x}: {inner})"

        counter = iter(range(10_000))

        def next_var() -> int:
            return next(counter)

        for segment in path:
            if segment is EVERY or isinstance(segment, Where):
                expr = flush_run(expr, params, multi)
                if multi:
                    x = f"x{next_var()}"
                    expr = f"flatten(list_transform({expr}, lambda {x}: TRY_CAST({x} AS JSON[])))"
                else:
                    expr = f"TRY_CAST({expr} AS JSON[])"
                multi = True
                if isinstance(segment, Where):
                    x = f"x{next_var()}"
                    key_text = f"json_extract_string({x}, {self.placeholder})"
                    params.append("/" + _pointer_token(segment.key))
                    value = segment.value
                    if isinstance(value, bool):
                        value = "true" if value else "false"
                    lhs = f"TRY_CAST({key_text} AS DOUBLE)" if isinstance(value, int | float) else key_text
                    sym = "=" if segment.op == "=" else "<>"
                    expr = f"list_filter({expr}, lambda {x}: {lhs} {sym} {self.placeholder})"
                    params.append(value)
                depth += 1
            elif multi and isinstance(segment, int) and not run:
                # an index right after [*]/[?…] picks among the selected values (DuckDB lists are 1-based)
                expr = f"({expr})[{self.placeholder}]"
                params.append(segment + 1 if segment >= 0 else segment)
                multi = False
            else:
                run.append(segment)
        expr = flush_run(expr, params, multi)
        if not multi:
            text = f"json_extract_string({expr}, '$')"
            lhs = Sql(f"TRY_CAST({text} AS DOUBLE)" if numeric else text, tuple(params))
            return self.compare(op, lhs, values)
        v = f"v{next_var()}"
        if op.symbol in ("IS NULL", "IS NOT NULL"):
            cond = Sql(f"{v} IS NOT NULL AND json_type({v}) <> 'NULL'")
            cmp = ">" if op.symbol == "IS NOT NULL" else "="
            return Sql(f"coalesce(len(list_filter({expr}, lambda {v}: {cond.text})), 0) {cmp} 0", tuple(params))
        text = f"json_extract_string({v}, '$')"
        element = self.compare(op, Sql(f"TRY_CAST({text} AS DOUBLE)" if numeric else text), values)
        return Sql(f"coalesce(len(list_filter({expr}, lambda {v}: {element.text})), 0) > 0", (*params, *element.params))

    def compare(self, op: Operator, lhs: Sql, values: Sequence[Any]) -> Sql:
        # DuckDB's ILIKE lower-cases every string it scans, ~4x the cost of LIKE; RE2's case-insensitive
        # search gives the same answer at a fraction of it.
        if op.symbol in ("ILIKE", "NOT ILIKE") and len(values) == 1 and isinstance(values[0], str):
            negate = "NOT " if op.symbol == "NOT ILIKE" else ""
            return Sql(
                f"{negate}regexp_matches({lhs.text}, {self.placeholder})", (*lhs.params, like_to_regex(values[0]))
            )
        return super().compare(op, lhs, values)


def like_to_regex(pattern: str) -> str:
    """An RE2 pattern (case-insensitive, ``.`` matching newlines) that matches what ``ILIKE pattern`` matches.

    Example:
        >>> like_to_regex("%refund_%")
        '(?si)refund.'
    """
    parts: list[str] = []
    for ch in pattern:
        parts.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
    body = "".join(parts)
    prefix, suffix = "^", "$"
    while body.startswith(".*"):
        body, prefix = body[2:], ""
    while body.endswith(".*"):
        body, suffix = body[:-2], ""
    return f"(?si){prefix}{body}{suffix}"
