"""Check a comparison's literals against its field's type and normalise them for binding.

Rules come from ``grammar.TYPE_RULES``; this module turns a violation into a ``FilterTypeError``
that names the field, what it compares with and what it got.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final

from spanscope.model.conventions import SPAN_KINDS, STATUSES
from spanscope.query.errors import FilterTypeError
from spanscope.query.grammar import OPERATORS, TYPE_RULES, Field, Operator, ValueType
from spanscope.query.nodes import Literal

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SUB_MICRO: Final = re.compile(r"\d{2}:\d{2}:\d{2}[.,]\d{6}(\d{1,3})")
_EQUALITY: Final = (OPERATORS["="], OPERATORS["!="])
TIMESTAMP_HINT: Final = (
    "expected an ISO-8601 date or datetime ('2023-07-01', '2023-07-01T12:00:00Z', "
    "'2023-07-01 12:00:00+02:00') or epoch milliseconds"
)


def describe(lit: Literal) -> str:
    """``the string 'abc'``, ``the number 5``, ``the boolean true``."""
    if isinstance(lit.value, bool):
        return f"the boolean {lit.text.lower()}"
    if lit.is_number:
        return f"the number {lit.text}"
    return f"the string {lit.text}"


def iso_to_ns(text: str) -> int | None:
    """Nanoseconds since the epoch for an ISO-8601 date or datetime (UTC unless it names a zone)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    extra = _SUB_MICRO.search(text)  # datetime keeps microseconds; keep the nanoseconds too
    if extra:
        ns += int(extra.group(1).ljust(3, "0"))
    return ns


def epoch_ms_to_ns(lit: Literal) -> int:
    """Epoch milliseconds (as written, so 1.5 stays exact) to nanoseconds."""
    try:
        return int(Decimal(lit.text) * 1_000_000)
    except InvalidOperation:  # pragma: no cover - the lexer only produces valid numbers
        return int(float(lit.value) * 1_000_000)


def _normalise(field: Field, op: Operator, lit: Literal) -> Literal:
    kind = field.type
    value = lit.value
    if kind is ValueType.TIMESTAMP:
        ns = epoch_ms_to_ns(lit) if lit.is_number else iso_to_ns(str(value))
        if ns is None:
            raise FilterTypeError(f"invalid timestamp {lit.text}", lit.column, TIMESTAMP_HINT)
        value = ns
    elif kind in (ValueType.STATUS, ValueType.KIND):
        allowed = STATUSES if kind is ValueType.STATUS else SPAN_KINDS
        value = str(value).upper() if kind is ValueType.STATUS else str(value).lower()
        if not op.pattern and value not in allowed:
            noun = "status" if kind is ValueType.STATUS else "span kind"
            raise FilterTypeError(f"unknown {noun} {lit.text}", lit.column, f"expected one of {', '.join(allowed)}")
    return Literal(value, lit.text, lit.column)


def _mismatch(field: Field, lit: Literal) -> FilterTypeError:
    message = f"{field.spec.name} compares with {field.type.value}, got {describe(lit)}"
    return FilterTypeError(message, lit.column)


def check_comparison(field: Field, op: Operator, literals: tuple[Literal, ...], op_column: int) -> tuple[Literal, ...]:
    """The literals of ``field op literals``, normalised; raises ``FilterTypeError`` on a mismatch."""
    rule = TYPE_RULES[field.type]
    name = field.spec.name
    # A pattern on a number is the operator's fault; '>' on a status with 5 is the value's (checked below).
    if op.pattern and not rule.pattern:
        raise FilterTypeError(
            f"{op.symbol} does not apply to {name} ({field.type.value})",
            op_column,
            "use =, !=, <, <=, >, >=, IN, NOT IN or IS NULL",
        )
    for lit in literals:
        if isinstance(lit.value, bool):
            if not rule.booleans:
                raise _mismatch(field, lit)
            if op not in _EQUALITY:
                hint = "use = or != with true/false"
                raise FilterTypeError(f"{op.symbol} does not apply to {describe(lit)}", lit.column, hint)
        elif op.pattern and not isinstance(lit.value, str):
            message = f"{op.symbol} needs a string pattern, got {describe(lit)}"
            raise FilterTypeError(message, lit.column, "for example '%refund%'")
        elif not isinstance(lit.value, rule.literals):
            raise _mismatch(field, lit)
    if op.ordering and not rule.ordering:
        raise FilterTypeError(
            f"{op.symbol} does not apply to {name}",
            op_column,
            "use =, !=, IN, NOT IN, LIKE, ILIKE or IS NULL",
        )
    if field.type is ValueType.JSON and literals:
        first = literals[0]
        for lit in literals[1:]:
            if lit.is_number != first.is_number:
                raise FilterTypeError(
                    f"the list mixes numbers and strings ({describe(first)}, {describe(lit)})",
                    lit.column,
                    "use numbers to compare numerically or strings to compare text",
                )
    return tuple(_normalise(field, op, lit) for lit in literals)
