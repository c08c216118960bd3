"""Errors raised while reading a filter, an order-by entry or an extract-field path.

Every error knows the 1-based column in the text it was read from and says what was expected, so a user
can fix the filter without reading the grammar. ``str(err)`` reads
``expected a value after '<' at column 21``.
"""

from __future__ import annotations


class FilterError(ValueError):
    """A filter, order-by entry or extract-field path that cannot be used.

    Attributes:
        message: what went wrong, without the position (``expected a value after '<'``).
        column: the 1-based column in the text where it went wrong.
        hint: what would have been accepted there, when that is worth saying (may be empty).
    """

    def __init__(self, message: str, column: int, hint: str = "") -> None:
        self.message = message
        self.column = column
        self.hint = hint
        text = f"{message} at column {column}"
        if hint:
            text += f"; {hint}"
        super().__init__(text)

    @classmethod
    def from_server(cls, text: str, column: int) -> FilterError:
        """Rebuild an error from a server's 400 answer (its ``str(err)`` and ``column``), same text."""
        head, marker, tail = text.partition(f" at column {column}")
        if marker and (not tail or tail.startswith("; ")):
            return cls(head, column, tail.removeprefix("; "))
        return cls(text, column)

    def shifted(self, offset: int) -> FilterError:
        """The same error with its column moved ``offset`` places to the right (same class)."""
        return type(self)(self.message, self.column + offset, self.hint)


class FilterSyntaxError(FilterError):
    """The text does not follow the grammar: a missing value, an unbalanced parenthesis, a stray word."""


class UnknownFieldError(FilterError):
    """A field name the grammar does not know (``trace.nope``, ``foo.bar``, ``span.bogus``)."""


class FilterTypeError(FilterError):
    """A field compared with a value or an operator that does not suit its type.

    For example ``trace.duration_ms > 'abc'``, ``trace.status > 5`` or ``tag.x LIKE 5``.
    """
