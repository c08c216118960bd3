"""SQL dialects: everything engine-specific the planner emits goes through one of these.

The planner is engine-neutral: it asks the dialect for a JSON value's text or number, an ORDER BY term,
and the placeholder to bind with. ``DuckDBDialect`` is the embedded default; a ClickHouse dialect
implements the same methods (``JSONExtractString(col, 'a', 1)`` and ``toFloat64OrNull`` there).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from spanscope.query.grammar import Operator
from spanscope.query.paths import JsonPath


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
    """How one engine spells the parts of a filter that SQL engines disagree on."""

    name: str = "abstract"
    placeholder: str = "?"
    true: str = "TRUE"
    false: str = "FALSE"

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

    def order_term(self, expr: str, descending: bool) -> str:
        """One ORDER BY term; NULLs always last so pages are stable whatever the engine's default."""
        return f"{expr} {'DESC' if descending else 'ASC'} NULLS LAST"

    def exists(self, table: str, alias: str, keys: Sequence[str], condition: Sql, outer: str = "t") -> Sql:
        """True when a row of ``table`` sharing ``keys`` with the ``outer`` row satisfies ``condition``.

        Here a correlated ``EXISTS (SELECT 1 FROM spans s WHERE s.project = t.project AND … AND <cond>)``;
        an engine without correlated subqueries can emit ``(t.project, t.trace_id) IN (SELECT …)``.
        """
        where = [f"{alias}.{key} = {outer}.{key}" for key in keys] + [condition.text]
        return Sql(f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {' AND '.join(where)})", condition.params)


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
        return self._extract(column, path, "json_extract_string")

    def json_number(self, column: str, path: JsonPath) -> Sql:
        return self.json_text(column, path).wrap("TRY_CAST({} AS DOUBLE)")
