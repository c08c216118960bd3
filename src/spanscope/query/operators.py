"""The comparison operators, as data: each described once, with its SQL template and its human text.

Templates are engine-neutral SQL; ``{lhs}`` is the field's expression and ``{rhs}`` the bound
placeholder(s). A dialect may override one (``Dialect.render_operator``) but none needs to today.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from spanscope.query.fields import ValueType


class Arity(Enum):
    ONE = "one value"
    LIST = "a parenthesised list of values"
    NONE = "no value"


@dataclass(frozen=True)
class Operator:
    symbol: str  # canonical spelling, as shown in messages
    template: str  # engine-neutral SQL
    arity: Arity
    text: str  # what it means, for docs and messages
    ordering: bool = False  # compares order (<, <=, >, >=)
    pattern: bool = False  # LIKE family: the value is a string pattern

    def render(self, lhs: str, placeholders: list[str]) -> str:
        return self.template.format(lhs=lhs, rhs=", ".join(placeholders))


OPERATORS: Final[dict[str, Operator]] = {
    op.symbol: op
    for op in (
        Operator("=", "{lhs} = {rhs}", Arity.ONE, "equals"),
        Operator("!=", "{lhs} <> {rhs}", Arity.ONE, "is present and differs from"),
        Operator("<", "{lhs} < {rhs}", Arity.ONE, "is less than", ordering=True),
        Operator("<=", "{lhs} <= {rhs}", Arity.ONE, "is at most", ordering=True),
        Operator(">", "{lhs} > {rhs}", Arity.ONE, "is greater than", ordering=True),
        Operator(">=", "{lhs} >= {rhs}", Arity.ONE, "is at least", ordering=True),
        Operator("LIKE", "{lhs} LIKE {rhs}", Arity.ONE, "matches the pattern (% and _)", pattern=True),
        Operator("ILIKE", "{lhs} ILIKE {rhs}", Arity.ONE, "matches the pattern, any case", pattern=True),
        Operator("NOT LIKE", "{lhs} NOT LIKE {rhs}", Arity.ONE, "is present, no match", pattern=True),
        Operator("NOT ILIKE", "{lhs} NOT ILIKE {rhs}", Arity.ONE, "is present, no match", pattern=True),
        Operator("IN", "{lhs} IN ({rhs})", Arity.LIST, "equals one of"),
        Operator("NOT IN", "{lhs} NOT IN ({rhs})", Arity.LIST, "is present and equals none of"),
        Operator("IS NULL", "{lhs} IS NULL", Arity.NONE, "is absent (or JSON null)"),
        Operator("IS NOT NULL", "{lhs} IS NOT NULL", Arity.NONE, "is present"),
    )
}

# Other spellings accepted in filter text.
OPERATOR_ALIASES: Final[dict[str, str]] = {"<>": "!=", "==": "="}

OPERATOR_LIST: Final = ", ".join(OPERATORS)


@dataclass(frozen=True)
class TypeRule:
    """What a field type accepts: literal kinds, and whether ordering and patterns make sense."""

    literals: tuple[type, ...]  # accepted Python types of literal values (bool is checked apart)
    ordering: bool
    pattern: bool
    booleans: bool = False  # true/false with = and !=


TYPE_RULES: Final[dict[ValueType, TypeRule]] = {
    ValueType.STRING: TypeRule((str,), ordering=True, pattern=True),
    ValueType.NUMBER: TypeRule((int, float), ordering=True, pattern=False),
    ValueType.TIMESTAMP: TypeRule((str, int, float), ordering=True, pattern=False),
    ValueType.STATUS: TypeRule((str,), ordering=False, pattern=True),
    ValueType.KIND: TypeRule((str,), ordering=False, pattern=True),
    ValueType.JSON: TypeRule((str, int, float), ordering=True, pattern=True, booleans=True),
}
