"""docs/filter-language.md documents every operator and every field of the grammar, and its examples parse."""

from __future__ import annotations

import re
from pathlib import Path

from spanscope.query import compile_filter
from spanscope.query.grammar import CANONICAL_NAMES, OPERATOR_ALIASES, OPERATORS, QUANTIFIERS, RELATIONS

DOC = (Path(__file__).resolve().parents[3] / "docs" / "filter-language.md").read_text()


def test_every_operator_is_documented() -> None:
    for symbol in [*OPERATORS, *OPERATOR_ALIASES, "AND", "OR", "NOT"]:
        assert f"`{symbol}`" in DOC, symbol


def test_every_field_is_documented() -> None:
    for name in CANONICAL_NAMES:
        base = name.split("[")[0].replace("<key>", "").replace("<name>", "")
        assert f"`{base}" in DOC, name


def test_examples_compile() -> None:
    block = DOC.split("```text", 1)[1].split("```", 1)[0]
    examples = [line for line in block.splitlines() if line.strip()]
    assert len(examples) >= 5
    for ex in examples:
        compile_filter(ex)
    for ex in re.findall(r"\| `([^`|]+ (?:=|!=|<|<=|>|>=|LIKE|ILIKE|IN|IS) [^`|]+)` \|", DOC):
        compile_filter(ex)


def test_tree_forms_and_percentiles_are_documented() -> None:
    for quantifier in QUANTIFIERS:
        assert f"`{quantifier} span(" in DOC, quantifier
    for relation in RELATIONS:
        assert f"`{relation}(" in DOC, relation
    for level in ("p50", "p90", "p95", "p99"):
        assert f"`{level}`" in DOC, level
    assert "time range of the search" in DOC


def test_table_examples_of_tree_forms_compile() -> None:
    examples = re.findall(r"\| `((?:ANY|ALL|COUNT) span\([^`]+)` \|", DOC)
    examples += re.findall(r"\| `([^`|]*(?:ancestor|descendant)\([^`]+)` \|", DOC)
    examples = [ex for ex in examples if "…" not in ex]  # the form column, not an example
    assert len(examples) >= 5
    for ex in examples:
        compile_filter(ex)
