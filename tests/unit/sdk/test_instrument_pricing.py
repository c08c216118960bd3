"""The price table: lookups, the cost formula, overrides, and docs/instrumentation.md showing the same table."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from spanscope.sdk.instrument import pricing
from spanscope.sdk.instrument.pricing import PRICES, estimate_cost, price_for, register_price

DOC = (Path(__file__).resolve().parents[3] / "docs" / "instrumentation.md").read_text()


@pytest.fixture
def restore_prices() -> Iterator[None]:
    saved = dict(PRICES)
    yield
    PRICES.clear()
    PRICES.update(saved)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", "gpt-4o"),
        ("GPT-4o-2024-08-06", "gpt-4o"),
        ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
        ("openai/gpt-4.1-mini", "gpt-4.1-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("anthropic/claude-haiku-4-5-20251001", "claude-haiku-4-5"),
    ],
)
def test_dated_and_prefixed_names_find_their_family(model: str, expected: str) -> None:
    assert price_for(model) is PRICES[expected]


@pytest.mark.parametrize("model", ["gpt-4o-turbo-preview-x", "claude-opus-4-6", "my-llama", "", None])
def test_unknown_models_have_no_price(model: str | None) -> None:
    assert price_for(model) is None
    assert estimate_cost(model, 1000, 1000) is None


def test_cost_formula() -> None:
    assert estimate_cost("gpt-4o-mini", 1_000_000, 0) == 0.15
    assert estimate_cost("gpt-4o-mini", 0, 1_000_000) == 0.6
    assert estimate_cost("gpt-4o", 1000, 500) == round((1000 * 2.5 + 500 * 10) / 1e6, 10)
    # cached prompt tokens at the cache-read price; cache writes at the cache-write price (Anthropic)
    assert estimate_cost("gpt-4o", 1000, 0, cache_read_tokens=400) == round((600 * 2.5 + 400 * 1.25) / 1e6, 10)
    assert estimate_cost("claude-sonnet-4-5", 1000, 100, cache_read_tokens=500, cache_write_tokens=200) == round(
        (300 * 3 + 500 * 0.3 + 200 * 3.75 + 100 * 15) / 1e6, 10
    )
    # no separate cache price: the input price applies
    assert estimate_cost("gpt-4", 1000, 0, cache_read_tokens=1000) == estimate_cost("gpt-4", 1000, 0)
    assert estimate_cost("gpt-4o", None, None) is None
    assert estimate_cost("gpt-4o", None, 1_000_000) == 10.0


def test_register_price(restore_prices: None) -> None:
    register_price("ft:gpt-4o-mini:acme::x1", 0.3, 1.2, cache_read_per_1m=0.15)
    assert estimate_cost("FT:gpt-4o-mini:acme::x1", 1_000_000, 1_000_000) == 1.5
    register_price("gpt-4o", 2.0, 8.0)  # a negotiated rate overrides the list price
    assert estimate_cost("gpt-4o-2024-11-20", 1_000_000, 0) == 2.0


def _doc_rows() -> dict[str, tuple[str, float, float, float | None, float | None]]:
    rows = {}
    for line in DOC.splitlines():
        m = re.match(r"^\| `([^`]+)` \| (\w+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+|—) \| ([\d.]+|—) \|$", line)
        if m:
            read, write = (None if v == "—" else float(v) for v in m.group(5, 6))
            rows[m.group(1)] = (m.group(2), float(m.group(3)), float(m.group(4)), read, write)
    return rows


def test_docs_show_the_price_table() -> None:
    expected = {k: (p.provider, p.input, p.output, p.cache_read, p.cache_write) for k, p in PRICES.items()}
    assert _doc_rows() == expected
    assert f"as of {pricing.PRICES_AS_OF}" in DOC
