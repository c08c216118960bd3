"""OpenTelemetry GenAI semantic-convention attributes shared by the integrations, and the cost estimate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from spanscope.model.conventions import (
    COST_USD,
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    USAGE_TOTAL_TOKENS,
)
from spanscope.sdk.instrument.patching import given
from spanscope.sdk.instrument.pricing import estimate_cost

RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
CACHE_WRITE_TOKENS = "gen_ai.usage.cache_creation.input_tokens"
MAX_TOKENS = "gen_ai.request.max_tokens"
STOP_SEQUENCES = "gen_ai.request.stop_sequences"
CHOICE_COUNT = "gen_ai.request.choice.count"


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def base_attributes(provider: str, model: Any) -> dict[str, Any]:
    attributes: dict[str, Any] = {GEN_AI_OPERATION_NAME: "chat", GEN_AI_PROVIDER_NAME: provider}
    if isinstance(model, str):
        attributes[GEN_AI_REQUEST_MODEL] = model
    return attributes


def numeric_parameters(kwargs: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """``gen_ai.request.<name>`` for each numeric request parameter given (``temperature``, ``top_p``…)."""
    out: dict[str, Any] = {}
    for name in names:
        value = kwargs.get(name)
        if is_number(value):
            out[f"gen_ai.request.{name}"] = value
    return out


def stop_sequences(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if given(value) and isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def server_attributes(resource: Any) -> dict[str, Any]:
    """``server.address``/``server.port`` from the client's base URL (tells api.openai.com from a proxy)."""
    url = getattr(getattr(resource, "_client", None), "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return {}
    out: dict[str, Any] = {"server.address": host}
    port = getattr(url, "port", None)
    if isinstance(port, int):
        out["server.port"] = port
    return out


def response_attributes(
    provider: str, model: Any, response_id: Any, finish_reasons: list[str], input_tokens: Any, output_tokens: Any,
    cache_read: Any = None, cache_write: Any = None, request_model: Any = None,
) -> dict[str, Any]:  # fmt: skip
    """Response model and id, finish reasons, token usage and the estimated cost.

    ``input_tokens`` counts every prompt token, cached ones included.
    """
    out: dict[str, Any] = {}
    if isinstance(model, str) and model:
        out[GEN_AI_RESPONSE_MODEL] = model
    if isinstance(response_id, str) and response_id:
        out[RESPONSE_ID] = response_id
    if finish_reasons:
        out[FINISH_REASONS] = finish_reasons
    if is_number(input_tokens):
        out[GEN_AI_USAGE_INPUT_TOKENS] = int(input_tokens)
    if is_number(output_tokens):
        out[GEN_AI_USAGE_OUTPUT_TOKENS] = int(output_tokens)
    if is_number(input_tokens) and is_number(output_tokens):
        out[USAGE_TOTAL_TOKENS] = int(input_tokens) + int(output_tokens)
    if is_number(cache_read) and cache_read:
        out[CACHE_READ_TOKENS] = int(cache_read)
    if is_number(cache_write) and cache_write:
        out[CACHE_WRITE_TOKENS] = int(cache_write)
    if is_number(input_tokens) or is_number(output_tokens):
        # Price the model that answered (a dated snapshot); fall back to the one asked for.
        for candidate in (model, request_model):
            cost = estimate_cost(
                candidate,
                int(input_tokens) if is_number(input_tokens) else None,
                int(output_tokens) if is_number(output_tokens) else None,
                cache_read_tokens=int(cache_read) if is_number(cache_read) else 0,
                cache_write_tokens=int(cache_write) if is_number(cache_write) else 0,
            )
            if cost is not None:
                out[COST_USD] = cost
                break
    return out
