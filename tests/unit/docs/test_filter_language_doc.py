"""docs/filter-language.md documents every operator and every field of the grammar, and its examples parse."""

from __future__ import annotations

import re
from pathlib import Path

from spanscope.query import compile_filter
from spanscope.query.grammar import CANONICAL_NAMES, OPERATOR_ALIASES, OPERATORS

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
