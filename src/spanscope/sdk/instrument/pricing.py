"""Estimated cost of an LLM call: a price table in US dollars per million tokens.

The table lists list prices (standard tier, no batch discount) as published by the providers; it is an
estimate, not a bill. ``docs/instrumentation.md`` shows the same table (a test keeps the two in step).

A model name is looked up as given (lowercased), then without a provider prefix (``openai/``), a
``-latest`` suffix or a date suffix (``-2024-08-06``, ``-20241022``), so dated snapshots cost what their
family costs. A model that still isn't found gets no cost at all (no ``spanscope.cost_usd`` attribute):
a wrong number is worse than none. Add or override prices with :func:`register_price`.

Cached input tokens are billed at ``cache_read`` (OpenAI cached input, Anthropic cache reads) and tokens
written to the cache at ``cache_write`` (Anthropic, 5-minute cache); either falls back to ``input`` when
the provider doesn't price it separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PRICES", "ModelPrice", "estimate_cost", "price_for", "register_price"]

PRICES_AS_OF = "2025-11"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per 1M tokens."""

    provider: str
    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None


def _p(provider: str, inp: float, out: float, read: float | None = None, write: float | None = None) -> ModelPrice:
    return ModelPrice(provider, inp, out, read, write)


PRICES: dict[str, ModelPrice] = {
    # OpenAI (https://openai.com/api/pricing)
    "gpt-5": _p("openai", 1.25, 10.00, 0.125),
    "gpt-5-mini": _p("openai", 0.25, 2.00, 0.025),
    "gpt-5-nano": _p("openai", 0.05, 0.40, 0.005),
    "gpt-4.1": _p("openai", 2.00, 8.00, 0.50),
    "gpt-4.1-mini": _p("openai", 0.40, 1.60, 0.10),
    "gpt-4.1-nano": _p("openai", 0.10, 0.40, 0.025),
    "gpt-4o": _p("openai", 2.50, 10.00, 1.25),
    "gpt-4o-mini": _p("openai", 0.15, 0.60, 0.075),
    "gpt-4-turbo": _p("openai", 10.00, 30.00),
    "gpt-4": _p("openai", 30.00, 60.00),
    "gpt-3.5-turbo": _p("openai", 0.50, 1.50),
    "o1": _p("openai", 15.00, 60.00, 7.50),
    "o1-mini": _p("openai", 1.10, 4.40, 0.55),
    "o3": _p("openai", 2.00, 8.00, 0.50),
    "o3-mini": _p("openai", 1.10, 4.40, 0.55),
    "o4-mini": _p("openai", 1.10, 4.40, 0.275),
    # Anthropic (https://www.anthropic.com/pricing#api)
    "claude-opus-4-5": _p("anthropic", 5.00, 25.00, 0.50, 6.25),
    "claude-opus-4-1": _p("anthropic", 15.00, 75.00, 1.50, 18.75),
    "claude-opus-4": _p("anthropic", 15.00, 75.00, 1.50, 18.75),
    "claude-opus-4-0": _p("anthropic", 15.00, 75.00, 1.50, 18.75),
    "claude-sonnet-4-5": _p("anthropic", 3.00, 15.00, 0.30, 3.75),
    "claude-sonnet-4": _p("anthropic", 3.00, 15.00, 0.30, 3.75),
    "claude-sonnet-4-0": _p("anthropic", 3.00, 15.00, 0.30, 3.75),
    "claude-3-7-sonnet": _p("anthropic", 3.00, 15.00, 0.30, 3.75),
    "claude-3-5-sonnet": _p("anthropic", 3.00, 15.00, 0.30, 3.75),
    "claude-haiku-4-5": _p("anthropic", 1.00, 5.00, 0.10, 1.25),
    "claude-3-5-haiku": _p("anthropic", 0.80, 4.00, 0.08, 1.00),
    "claude-3-opus": _p("anthropic", 15.00, 75.00, 1.50, 18.75),
    "claude-3-haiku": _p("anthropic", 0.25, 1.25, 0.03, 0.30),
}

_DATE_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8})$")


def _candidates(model: str) -> list[str]:
    name = model.strip().lower()
    out = [name]
    if "/" in name:
        name = name.rsplit("/", 1)[1]
        out.append(name)
    for suffix in ("-latest",):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            out.append(name)
    stripped = _DATE_SUFFIX.sub("", name)
    if stripped != name:
        out.append(stripped)
    return out


def price_for(model: str | None) -> ModelPrice | None:
    """The price entry for ``model``, or None when the model isn't in the table.

    >>> price_for("gpt-4o-2024-08-06").input
    2.5
    """
    if not model or not isinstance(model, str):
        return None
    for name in _candidates(model):
        price = PRICES.get(name)
        if price is not None:
            return price
    return None


def estimate_cost(
    model: str | None, input_tokens: int | None, output_tokens: int | None, *,
    cache_read_tokens: int | None = 0, cache_write_tokens: int | None = 0,
) -> float | None:  # fmt: skip
    """Estimated USD cost of one call, or None when the model is unknown or no token count is known.

    ``input_tokens`` counts every prompt token, cached ones included (as ``gen_ai.usage.input_tokens``
    does); ``cache_read_tokens`` and ``cache_write_tokens`` say how many of them were read from or written
    to the prompt cache.

    >>> estimate_cost("gpt-4o-mini", 1_000_000, 0)
    0.15
    """
    price = price_for(model)
    if price is None or (input_tokens is None and output_tokens is None):
        return None
    read = max(int(cache_read_tokens or 0), 0)
    write = max(int(cache_write_tokens or 0), 0)
    uncached = max(int(input_tokens or 0) - read - write, 0)
    read_rate = price.cache_read if price.cache_read is not None else price.input
    write_rate = price.cache_write if price.cache_write is not None else price.input
    total = uncached * price.input + read * read_rate + write * write_rate + int(output_tokens or 0) * price.output
    return round(total / 1_000_000, 10)


def register_price(
    model: str, input_per_1m: float, output_per_1m: float, *, cache_read_per_1m: float | None = None,
    cache_write_per_1m: float | None = None, provider: str = "custom",
) -> None:  # fmt: skip
    """Add a model to the table, or override a price (negotiated rates, fine-tuned or self-hosted models).

    >>> register_price("ft:gpt-4o-mini-2024-07-18:acme::abc123", 0.30, 1.20)
    """
    entry = ModelPrice(provider, float(input_per_1m), float(output_per_1m), cache_read_per_1m, cache_write_per_1m)
    PRICES[model.strip().lower()] = entry  # one dict store: atomic, so lookups on other threads need no lock
