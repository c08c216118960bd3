"""The package's public face, the AST shape, and the dialect seam."""

from __future__ import annotations

import pytest

import spanscope.query as query
from spanscope.query import And, Comparison, Dialect, Not, Or, Sql, compile_filter, parse_filter
from spanscope.query.dialect import duckdb_json_paths
from spanscope.query.paths import JsonPath


def test_exported_members() -> None:
    assert sorted(query.__all__) == [
        "And", "Comparison", "Dialect", "DuckDBDialect", "Expr", "ExtractField", "FilterError",
        "FilterSyntaxError", "FilterTypeError", "Literal", "Not", "Or", "OrderTerm", "PercentileComparison",
        "Related", "SpanQuantifier", "Sql", "UnknownFieldError", "compile_filter", "compile_order_by",
        "json_path_get", "keyset_after", "order_terms", "parse_extract_field", "parse_filter", "render_order",
        "resolve_extract_field",
    ]  # fmt: skip
    for name in query.__all__:
        assert getattr(query, name) is not None


def test_blank_filters_parse_to_none() -> None:
    assert parse_filter(None) is None
    assert parse_filter("  ") is None


def test_precedence_is_not_then_and_then_or() -> None:
    expr = parse_filter("tag.a = 1 OR NOT tag.b = 2 AND tag.c = 3")
    assert isinstance(expr, Or)
    left, right = expr.children
    assert isinstance(left, Comparison) and left.field.path == ("a",)
    assert isinstance(right, And)
    assert isinstance(right.children[0], Not) and isinstance(right.children[1], Comparison)


def test_comparison_carries_normalised_literals_and_columns() -> None:
    expr = parse_filter("trace.status IN ('ok', 'Error')")
    assert isinstance(expr, Comparison)
    assert expr.op.symbol == "IN" and expr.values == ["OK", "ERROR"]
    assert [lit.column for lit in expr.literals] == [18, 24] and expr.column == 14
    assert [lit.text for lit in expr.literals] == ["'ok'", "'Error'"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("span.attributes.usage.total_tokens = 1", "usage.total_tokens"),
        ("span.attributes.`gen_ai.request.model` = 'x'", "gen_ai.request.model"),
        ("span.attributes.gen_ai.`request.model` = 'x'", "gen_ai.request.model"),
        ("tag.`quality score` = 'x'", "quality score"),
        ("metadata.a-b:c/d = 'x'", "a-b:c/d"),
    ],
)
def test_the_rest_after_a_keyed_prefix_is_one_key(text: str, key: str) -> None:
    expr = parse_filter(text)
    assert isinstance(expr, Comparison) and expr.field.path == (key,)


def test_finding_alias_and_path_fields() -> None:
    expr = parse_filter("feedback.`user rating` > 3")
    assert isinstance(expr, Comparison) and expr.field.finding_name == "user rating"
    expr = parse_filter("span.outputs['a b'][-1].c IS NULL")
    assert isinstance(expr, Comparison) and expr.field.path == ("a b", -1, "c")


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ((), ["$"]),
        (("a.b",), ["/a.b"]),
        (("a/b", "~"), ["/a~1b/~0"]),
        (("m", 0, "c"), ["/m/0/c"]),
        (("m", -1, "c"), ["/m", "$[#-1]", "/c"]),
        ((-2, -1), ["$[#-2]", "$[#-1]"]),
    ],
)
def test_duckdb_paths_quote_any_key(path: JsonPath, steps: list[str]) -> None:
    assert duckdb_json_paths(path) == steps


class BracketDialect(Dialect):
    """A stand-in for another engine: proves the planner emits JSON access only through the dialect."""

    name = "bracket"
    placeholder = "$?"

    def json_text(self, column: str, path: JsonPath) -> Sql:
        return Sql(f"TEXT({column}, {self.placeholder})", (list(path),))

    def json_number(self, column: str, path: JsonPath) -> Sql:
        return Sql(f"NUM({column}, {self.placeholder})", (list(path),))


def test_planner_goes_through_the_dialect() -> None:
    sql, params = compile_filter(
        "tag.x > 1 AND span.inputs.messages[-1].content LIKE '%a%' AND finding.f = 'y'", BracketDialect()
    )
    assert "json_extract" not in sql and "TRY_CAST" not in sql and "?" not in sql.replace("$?", "")
    assert "NUM(t.tags, $?) > $?" in sql
    assert "TEXT(s.inputs, $?) LIKE $?" in sql
    assert "TEXT(f.value, $?) = $?" in sql
    assert params == [["x"], 1, ["messages", -1, "content"], "%a%", "f", [], "y"]
    assert compile_filter(None, BracketDialect()) == ("TRUE", [])
