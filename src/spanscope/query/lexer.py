"""Split filter text into tokens, each with its 1-based column.

A field token is one run of name characters, backtick-quoted parts and ``[…]`` indexes
(``span.inputs.messages[-1].content``, ``tag.`quality score` ``); keywords are case-insensitive words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Final

from spanscope.query.errors import FilterSyntaxError
from spanscope.query.paths import read_backticked, read_quoted


class Tok(Enum):
    FIELD = "field"
    STRING = "string"
    NUMBER = "number"
    KEYWORD = "keyword"
    OP = "operator"
    LPAREN = "'('"
    RPAREN = "')'"
    COMMA = "','"
    END = "end of filter"


KEYWORDS: Final = frozenset(
    {"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE", "ANY", "ALL", "COUNT"}
)
COMPARISON_OPS: Final = ("<=", ">=", "!=", "<>", "==", "=", "<", ">")

_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# Characters that end a field token; the rest (letters, digits, '_', '.', '-', ':', '/', …) belong to it.
_NUMERIC: Final = frozenset("0123456789.")  # may follow a leading "-" or "."
_FIELD_STOP: Final = frozenset(" \t\r\n()=!<>,'\"")


@dataclass(frozen=True)
class Token:
    kind: Tok
    text: str  # as written (for keywords: upper-cased)
    column: int  # 1-based
    value: str | int | float | None = None  # strings unescaped, numbers parsed

    def describe(self) -> str:
        """How the token is named in an error message."""
        if self.kind is Tok.END:
            return "the end of the filter"
        return self.text if self.kind is Tok.STRING else repr(self.text)  # a string shows its own quotes


def _read_field(text: str, start: int) -> int:
    """The index just past the field token starting at ``text[start]``."""
    i = start
    while i < len(text) and text[i] not in _FIELD_STOP:
        if text[i] == "`":
            _, i = read_backticked(text, i)
        elif text[i] == "[":
            i = _skip_bracket(text, i)
        else:
            i += 1
    return i


def _skip_bracket(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] in ("'", '"'):
            _, i = read_quoted(text, i)
        elif text[i] == "]":
            return i + 1
        else:
            i += 1
    raise FilterSyntaxError("unterminated '[' starting", start + 1, "close it with ']'")


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text``, always ending with an END token."""
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            value, end = read_quoted(text, i)
            tokens.append(Token(Tok.STRING, text[i:end], column, value))
            i = end
        elif ch == "(":
            tokens.append(Token(Tok.LPAREN, ch, column))
            i += 1
        elif ch == ")":
            tokens.append(Token(Tok.RPAREN, ch, column))
            i += 1
        elif ch == ",":
            tokens.append(Token(Tok.COMMA, ch, column))
            i += 1
        elif ch in "=!<>":
            op = next((o for o in COMPARISON_OPS if text.startswith(o, i)), None)
            if op is None:
                raise FilterSyntaxError(f"unexpected {ch!r}", column, "did you mean '!='?")
            tokens.append(Token(Tok.OP, op, column))
            i += len(op)
        elif ch.isdigit() or (ch in "-." and text[i + 1 : i + 2] in _NUMERIC):
            i = _read_number(text, i, tokens)
        elif ch.isalpha() or ch in "_`":
            end = _read_field(text, i)
            word = text[i:end]
            if word.upper() in KEYWORDS:
                tokens.append(Token(Tok.KEYWORD, word.upper(), column))
            else:
                tokens.append(Token(Tok.FIELD, word, column))
            i = end
        else:
            raise FilterSyntaxError(f"unexpected {ch!r}", column)
    tokens.append(Token(Tok.END, "", len(text) + 1))
    return tokens


def _read_number(text: str, start: int, tokens: list[Token]) -> int:
    match = _NUMBER.match(text, start)
    end = _read_field(text, start)
    if match is None or match.end() != end:
        raise FilterSyntaxError(
            f"unexpected {text[start:end]!r}", start + 1, "expected a number such as 42, -1.5 or 1e3"
        )
    literal = match.group()
    value: int | float = float(literal) if any(c in literal for c in ".eE") else int(literal)
    tokens.append(Token(Tok.NUMBER, literal, start + 1, value))
    return end
