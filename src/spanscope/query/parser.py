"""Recursive-descent parser: filter text -> typed AST (``nodes.Expr``).

filter     := or_expr END
or_expr    := and_expr ("OR" and_expr)*
and_expr   := not_expr ("AND" not_expr)*
not_expr   := "NOT" not_expr | "(" or_expr ")" | quantified | related | comparison
quantified := ("ANY" | "ALL") "span" "(" or_expr ")"
            | "COUNT" "span" "(" [or_expr] ")" CMP NUMBER          -- or_expr: span-level conditions only
related    := ("ancestor" | "descendant") "(" or_expr ")"          -- span-level conditions only
comparison := FIELD CMP PERCENTILE                                 -- p50, p95, p99.9 …
            | FIELD ( CMP value
                    | ["NOT"] ("LIKE" | "ILIKE") value
                    | ["NOT"] "IN" "(" value ("," value)* ")"
                    | "IS" ["NOT"] "NULL" )
CMP        := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
value      := STRING | NUMBER | "TRUE" | "FALSE"
"""

from __future__ import annotations

import re

from spanscope.query.errors import FilterSyntaxError, FilterTypeError
from spanscope.query.grammar import (
    OPERATOR_ALIASES,
    OPERATOR_LIST,
    OPERATORS,
    PERCENTILE_HINT,
    PERCENTILE_SPECS,
    RELATIONS,
    Arity,
    Operator,
    resolve_field,
)
from spanscope.query.lexer import Tok, Token, tokenize
from spanscope.query.nodes import (
    And,
    Comparison,
    Expr,
    Literal,
    Not,
    Or,
    PercentileComparison,
    Related,
    SpanQuantifier,
    comparisons,
    is_span_level,
)
from spanscope.query.values import check_comparison

_CONDITION_HINT = "a condition starts with a field, e.g. trace.status = 'ERROR'"
_PERCENTILE = re.compile(r"^[pP](\d{1,2}(?:\.\d+)?)$")
_SPAN_ONLY_HINT = "only span.* conditions, ancestor(…) and descendant(…) go inside {where}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    # -- token helpers -------------------------------------------------------------------------
    def current(self) -> Token:  # a method, not a property: it changes as tokens are consumed
        return self.tokens[self.pos]

    @property
    def previous(self) -> Token:
        return self.tokens[self.pos - 1]

    def peek(self) -> Token:
        return self.tokens[min(self.pos + 1, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind is not Tok.END:
            self.pos += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current().kind is Tok.KEYWORD and self.current().text in words

    def fail(self, message: str, hint: str = "", token: Token | None = None) -> FilterSyntaxError:
        return FilterSyntaxError(message, (token or self.current()).column, hint)

    # -- grammar -------------------------------------------------------------------------------
    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.current().kind is not Tok.END:
            token = self.current()
            if token.kind is Tok.RPAREN:
                raise self.fail("unexpected ')' without a matching '('")
            raise self.fail(f"unexpected {token.describe()}", "expected AND, OR or the end of the filter")
        return expr

    def or_expr(self) -> Expr:
        children = [self.and_expr()]
        while self.at_keyword("OR"):
            self.advance()
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Expr:
        children = [self.not_expr()]
        while self.at_keyword("AND"):
            self.advance()
            children.append(self.not_expr())
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_expr(self) -> Expr:
        token = self.current()
        if self.at_keyword("NOT"):
            self.advance()
            return Not(self.not_expr())
        if token.kind is Tok.LPAREN:
            self.advance()
            if self.current().kind is Tok.RPAREN:
                raise self.fail("expected a condition inside '()'", _CONDITION_HINT)
            expr = self.or_expr()
            if self.current().kind is not Tok.RPAREN:
                raise self.fail("expected ')'", f"to close the '(' at column {token.column}")
            self.advance()
            return expr
        if token.kind is Tok.KEYWORD and token.text in ("ANY", "ALL", "COUNT"):
            return self.quantified()
        if token.kind is Tok.FIELD and token.text.lower() in RELATIONS and self.peek().kind is Tok.LPAREN:
            return self.related()
        if token.kind is Tok.FIELD:
            return self.comparison()
        after = f" after {self.previous.describe()}" if self.pos else ""
        if token.kind is Tok.END:
            raise self.fail(f"expected a condition{after}", _CONDITION_HINT)
        raise self.fail(f"expected a condition{after}, got {token.describe()}", _CONDITION_HINT)

    def span_condition(self, where: str, opener: Token, allow_empty: bool = False) -> Expr | None:
        """``"(" or_expr ")"`` holding span-level conditions only; ``opener`` names the construct."""
        if self.current().kind is not Tok.LPAREN:
            raise self.fail(f"expected '(' after {opener.text!r}", f"for example {where}(span.status = 'ERROR')")
        paren = self.advance()
        if self.current().kind is Tok.RPAREN:
            if allow_empty:
                self.advance()
                return None
            raise self.fail(f"expected a condition inside {where}()", "for example span.status = 'ERROR'")
        expr = self.or_expr()
        if self.current().kind is not Tok.RPAREN:
            raise self.fail("expected ')'", f"to close the '(' at column {paren.column}")
        self.advance()
        for leaf in comparisons(expr):
            if not is_span_level(leaf):
                column = leaf.column if isinstance(leaf, SpanQuantifier) else _leaf_column(leaf)
                what = f"{leaf.quantifier} span(…)" if isinstance(leaf, SpanQuantifier) else leaf.field.spec.name
                raise FilterSyntaxError(
                    f"{what} cannot be used inside {where}(…)", column, _SPAN_ONLY_HINT.format(where=f"{where}(…)")
                )
        return expr

    def quantified(self) -> SpanQuantifier:
        keyword = self.advance()
        target = self.current()
        if target.kind is not Tok.FIELD or target.text.lower() != "span":
            raise self.fail(
                f"expected 'span' after {keyword.text}", f"for example {keyword.text} span(span.status = 'ERROR')"
            )
        self.advance()
        where = f"{keyword.text} span"
        condition = self.span_condition(where, target, allow_empty=keyword.text == "COUNT")
        if keyword.text != "COUNT":
            return SpanQuantifier(keyword.text, condition, keyword.column)
        op_token = self.current()
        if op_token.kind is not Tok.OP:
            raise self.fail(
                f"expected a comparison after COUNT span(…), got {op_token.describe()}",
                "for example COUNT span(span.kind = 'llm') > 3",
            )
        self.advance()
        op = OPERATORS[OPERATOR_ALIASES.get(op_token.text, op_token.text)]
        number = self.current()
        if number.kind is not Tok.NUMBER or not isinstance(number.value, int) or number.value < 0:
            raise self.fail(
                f"expected a whole number after {op_token.text!r}", "COUNT span(…) compares with a count such as 3"
            )
        self.advance()
        return SpanQuantifier("COUNT", condition, keyword.column, op, int(number.value))

    def related(self) -> Related:
        name = self.advance()
        relation = name.text.lower()
        condition = self.span_condition(relation, name)
        assert condition is not None
        return Related(relation, condition, name.column)

    def percentile(self, field_token: Token, op: Operator, op_token: Token) -> PercentileComparison:
        token = self.advance()
        match = _PERCENTILE.match(token.text)
        assert match is not None
        level = float(match.group(1))
        if not 0 < level < 100:
            raise FilterTypeError(f"invalid percentile {token.text!r}", token.column, "use p1 … p99, p99.9")
        field = resolve_field(field_token.text, field_token.column)
        if field.spec not in PERCENTILE_SPECS:
            raise FilterTypeError(f"{field.spec.name} cannot compare with a percentile", token.column, PERCENTILE_HINT)
        if not op.ordering:
            raise FilterTypeError(
                f"{op.symbol} does not apply to a percentile", op_token.column, "use <, <=, > or >= with p95"
            )
        return PercentileComparison(field, op, level / 100, token.text, op_token.column)

    def comparison(self) -> Comparison | PercentileComparison:
        field_token = self.advance()
        field = resolve_field(field_token.text, field_token.column)
        op_token = self.current()
        op = self.operator(field_token)
        if op.arity is Arity.ONE and self.current().kind is Tok.FIELD and _PERCENTILE.match(self.current().text):
            return self.percentile(field_token, op, op_token)
        if op.arity is Arity.NONE:
            literals: tuple[Literal, ...] = ()
        elif op.arity is Arity.LIST:
            literals = self.value_list(op)
        else:
            written = op_token.text if op_token.kind is Tok.OP else op.symbol
            literals = (self.value(f"after {written!r}"),)
        literals = check_comparison(field, op, literals, op_token.column)
        return Comparison(field, op, literals, op_token.column)

    def operator(self, field_token: Token) -> Operator:
        token = self.advance()
        if token.kind is Tok.OP:
            return OPERATORS[OPERATOR_ALIASES.get(token.text, token.text)]
        if token.kind is Tok.KEYWORD and token.text in ("LIKE", "ILIKE", "IN"):
            return OPERATORS[token.text]
        if token.kind is Tok.KEYWORD and token.text == "NOT":
            following = self.advance()
            if following.kind is Tok.KEYWORD and following.text in ("LIKE", "ILIKE", "IN"):
                return OPERATORS[f"NOT {following.text}"]
            raise self.fail("expected LIKE, ILIKE or IN after NOT", token=following)
        if token.kind is Tok.KEYWORD and token.text == "IS":
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
            if not self.at_keyword("NULL"):
                raise self.fail(f"expected NULL after {'IS NOT' if negated else 'IS'}")
            self.advance()
            return OPERATORS["IS NOT NULL" if negated else "IS NULL"]
        got = "nothing" if token.kind is Tok.END else token.describe()
        raise self.fail(f"expected an operator after {field_token.text!r}, got {got}", f"one of {OPERATOR_LIST}", token)

    def value(self, where: str) -> Literal:
        token = self.current()
        if token.kind in (Tok.STRING, Tok.NUMBER):
            self.advance()
            assert token.value is not None
            return Literal(token.value, token.text, token.column)
        if token.kind is Tok.KEYWORD and token.text in ("TRUE", "FALSE"):
            self.advance()
            return Literal(token.text == "TRUE", token.text, token.column)
        hint = "a quoted string, a number, true or false"
        if token.kind is Tok.FIELD:
            hint = f"strings are quoted: '{token.text}'"
        elif token.kind is Tok.KEYWORD and token.text == "NULL":
            hint = "test for absence with IS NULL or IS NOT NULL"
        raise self.fail(f"expected a value {where}", hint)

    def value_list(self, op: Operator) -> tuple[Literal, ...]:
        if self.current().kind is not Tok.LPAREN:
            raise self.fail(f"expected '(' after {op.symbol}", "for example IN ('a', 'b')")
        self.advance()
        if self.current().kind is Tok.RPAREN:
            raise self.fail(f"expected a value in the {op.symbol} list", "the list cannot be empty")
        values = [self.value(f"in the {op.symbol} list")]
        while self.current().kind is Tok.COMMA:
            self.advance()
            values.append(self.value(f"after ',' in the {op.symbol} list"))
        if self.current().kind is not Tok.RPAREN:
            raise self.fail(f"expected ',' or ')' in the {op.symbol} list, got {self.current().describe()}")
        self.advance()
        return tuple(values)


def _leaf_column(leaf: Comparison | PercentileComparison) -> int:
    return leaf.field.column


def parse_filter(text: str | None) -> Expr | None:
    """Parse filter text into a typed AST; None or blank text gives None (no filter).

    Raises:
        FilterError: with the 1-based column and what was expected there.

    Example:
        >>> parse_filter("span.name = 'db.query' AND span.duration_ms > 500") is not None
        True
    """
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()
