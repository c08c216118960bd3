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
class And:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    child: Expr


Expr = Comparison | And | Or | Not


def comparisons(expr: Expr) -> Iterator[Comparison]:
    """Every leaf of ``expr``, left to right."""
    if isinstance(expr, Comparison):
        yield expr
    elif isinstance(expr, Not):
        yield from comparisons(expr.child)
    else:
        for child in expr.children:
            yield from comparisons(child)


def is_span_only(expr: Expr) -> bool:
    """True when every leaf of ``expr`` is a ``span.*`` field (so it can be evaluated per span)."""
    return all(leaf.field.scope is Scope.SPAN for leaf in comparisons(expr))


def conjuncts(expr: Expr) -> list[Expr]:
    """The operands of ``expr`` seen as one AND (nested ANDs flattened; a non-AND is one operand)."""
    if isinstance(expr, And):
        return [item for child in expr.children for item in conjuncts(child)]
    return [expr]
