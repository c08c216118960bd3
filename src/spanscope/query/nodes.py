"""The typed filter AST: engine-neutral, produced by the parser and consumed by the planner.

Every node remembers the column it came from. Comparisons hold literals that are already checked
against the field's type and normalised (timestamps in nanoseconds, statuses upper-cased, kinds
lower-cased), so a planner never needs to re-validate.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from spanscope.query.grammar import Field, Operator, Scope

LiteralValue = str | int | float | bool


@dataclass(frozen=True)
class Literal:
    value: LiteralValue  # normalised value to bind
    text: str  # as written
    column: int

    @property
    def is_number(self) -> bool:
        return isinstance(self.value, int | float) and not isinstance(self.value, bool)


@dataclass(frozen=True)
class Comparison:
    """``<field> <op> <values>``: one leaf of the filter."""

    field: Field
    op: Operator
    literals: tuple[Literal, ...]
    column: int  # of the operator

    @property
    def values(self) -> list[LiteralValue]:
        return [lit.value for lit in self.literals]

    @property
    def numeric(self) -> bool:
        """True when the comparison is numeric (its literals are numbers)."""
        return bool(self.literals) and all(lit.is_number for lit in self.literals)


@dataclass(frozen=True)
class PercentileComparison:
    """``<field> <op> p95``: compare with a percentile of the same field over comparable rows.

    For a span field the reference rows are the spans with the same name, for ``trace.duration_ms`` the
    traces with the same name, in both cases of the same project and within the filter's time range (the
    ``trace.timestamp`` bounds of the filter's top-level conjunction; all time without them).
    """

    field: Field
    op: Operator
    quantile: float  # 0.95 for p95
    text: str  # as written ("p95")
    column: int  # of the operator


@dataclass(frozen=True)
class SpanQuantifier:
    """``ANY span(…)``, ``ALL span(…)`` or ``COUNT span(…) <op> n`` over the spans of a trace."""

    quantifier: str  # "ANY" | "ALL" | "COUNT"
    condition: Expr | None  # None: every span (COUNT span() only)
    column: int  # of the keyword
    op: Operator | None = None  # COUNT only
    count: int | None = None  # COUNT only


@dataclass(frozen=True)
class Related:
    """``ancestor(…)`` / ``descendant(…)``: the span has a proper ancestor / descendant satisfying the condition."""

    relation: str  # "ancestor" | "descendant"
    condition: Expr
    column: int


@dataclass(frozen=True)
class And:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    child: Expr


Expr = Comparison | PercentileComparison | SpanQuantifier | Related | And | Or | Not
Leaf = Comparison | PercentileComparison | SpanQuantifier | Related


def comparisons(expr: Expr) -> Iterator[Leaf]:
    """Every leaf of ``expr`` at this level, left to right (the inside of a quantifier or of
    ancestor()/descendant() is not this level)."""
    if isinstance(expr, Not):
        yield from comparisons(expr.child)
    elif isinstance(expr, And | Or):
        for child in expr.children:
            yield from comparisons(child)
    else:
        yield expr


def is_span_level(leaf: Leaf) -> bool:
    """True for a leaf that is evaluated on one span: a ``span.*`` comparison, ancestor() or descendant()."""
    if isinstance(leaf, Related):
        return True
    if isinstance(leaf, SpanQuantifier):
        return False
    return leaf.field.scope is Scope.SPAN


def is_span_only(expr: Expr) -> bool:
    """True when every leaf of ``expr`` is span-level (so it can be evaluated per span)."""
    return all(is_span_level(leaf) for leaf in comparisons(expr))


def conjuncts(expr: Expr) -> list[Expr]:
    """The operands of ``expr`` seen as one AND (nested ANDs flattened; a non-AND is one operand)."""
    if isinstance(expr, And):
        return [item for child in expr.children for item in conjuncts(child)]
    return [expr]
