"""An LLM-as-judge scorer speaking the OpenAI chat-completions wire format (standard library HTTP).

    judge = llm_judge(
        "Is the answer correct, polite and free of invented order details?",
        model="gpt-4o-mini", base_url="http://127.0.0.1:8000/v1", api_key="…",
    )
    spanscope.evaluate(ds, app=answer, scorers=[judge])

The judge posts ``{base_url}/chat/completions`` with a system prompt asking for a JSON object
``{"score": <number in the scale>, "rationale": "…"}`` (or ``{"label": …}`` when ``labels`` are given) and
returns that as a :class:`~spanscope.evals.scorers.Score`. Any failure (unreachable endpoint, HTTP error
after ``max_retries`` retries of 429/5xx, a reply without a usable score) raises
:class:`~spanscope.evals.scorers.ScorerError`, which an evaluation records as an error on that record
instead of stopping the run.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.parse
from collections.abc import Sequence
from typing import Any

from spanscope.evals.scorers import Score, Scorer, ScorerError, as_text

_DEFAULT_BASE_URL = "https://api.openai.com/v1"
_MAX_FIELD_CHARS = 20_000


def _clip(text: str | None) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= _MAX_FIELD_CHARS else text[:_MAX_FIELD_CHARS] + " […cut]"


def build_messages(
    criteria: str, inputs: Any, outputs: Any, expected: Any, scale: tuple[float, float], labels: Sequence[str] | None
) -> list[dict[str, str]]:
    if labels:
        answer = f'{{"label": one of {json.dumps(list(labels))}, "rationale": "<one or two sentences>"}}'
    else:
        number = f"<a number from {scale[0]:g} (worst) to {scale[1]:g} (best)>"
        answer = f'{{"score": {number}, "rationale": "<one or two sentences>"}}'
    system = (
        "You are an impartial evaluator of an AI application's output. Judge the output against the criteria. "
        f"Reply with only a JSON object: {answer}"
    )
    parts = [f"Criteria:\n{criteria}", f"Input:\n{_clip(as_text(inputs))}", f"Output:\n{_clip(as_text(outputs))}"]
    if expected is not None:
        parts.append(f"Expected (reference) output:\n{_clip(as_text(expected))}")
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(parts)}]


def parse_reply(content: str, scale: tuple[float, float], labels: Sequence[str] | None) -> Score:
    """The judge's message text as a Score; ScorerError when it holds no usable score."""
    data: Any = None
    try:
        data = json.loads(content)
    except (TypeError, ValueError):
        m = re.search(r"\{.*\}", content or "", re.S)
        if m:
            try:
                data = json.loads(m.group(0))
            except ValueError:
                data = None
    if not isinstance(data, dict):
        raise ScorerError(f"judge reply is not a JSON object: {str(content)[:200]!r}")
    rationale = data.get("rationale")
    rationale = None if rationale is None else str(rationale)
    if labels:
        label = data.get("label", data.get("score"))
        if label not in labels:
            raise ScorerError(f"judge label {label!r} is not one of {list(labels)}")
        return Score(label, rationale)
    score = data.get("score")
    if isinstance(score, str):
        try:
            score = float(score)
        except ValueError:
            score = None
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise ScorerError(f"judge reply has no numeric 'score': {str(content)[:200]!r}")
    if not scale[0] <= score <= scale[1]:
        raise ScorerError(f"judge score {score!r} is outside the scale {scale[0]:g}..{scale[1]:g}")
    return Score(score, rationale)


def chat_completion(
    base_url: str, api_key: str | None, body: dict[str, Any], *, timeout: float, max_retries: int
) -> dict[str, Any]:
    """POST ``{base_url}/chat/completions``; retries 429 and 5xx answers and connection errors."""
    url = base_url.rstrip("/") + "/chat/completions"
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ScorerError(f"invalid judge base_url {base_url!r}; expected e.g. http://127.0.0.1:8000/v1")
    conn_cls = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    error = "no attempt made"
    for attempt in range(max_retries + 1):
        if attempt:
            time.sleep(min(4.0, 0.25 * 2 ** (attempt - 1)))
        conn = conn_cls(parsed.hostname, parsed.port, timeout=timeout)
        try:
            conn.request("POST", parsed.path + (f"?{parsed.query}" if parsed.query else ""), body=data, headers=headers)
            resp = conn.getresponse()
            status, payload = resp.status, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            error = f"cannot reach {url}: {exc}"
            continue
        finally:
            conn.close()
        if status >= 400:
            error = f"HTTP {status} from {url}: {payload[:300].decode(errors='replace')}"
            if status == 429 or status >= 500:
                continue
            raise ScorerError(f"judge call failed: {error}")
        try:
            decoded = json.loads(payload)
        except ValueError:
            raise ScorerError(f"judge endpoint answered non-JSON: {payload[:200]!r}") from None
        if not isinstance(decoded, dict):
            raise ScorerError(f"judge endpoint answered {type(decoded).__name__}, expected an object")
        return decoded
    raise ScorerError(f"judge call failed after {max_retries + 1} attempt(s): {error}")


def llm_judge(
    criteria: str,
    model: str,
    base_url: str | None = None,
    api_key: str | None = None,
    *,
    name: str = "llm_judge",
    scale: tuple[float, float] = (1, 5),
    labels: Sequence[str] | None = None,
    timeout: float = 60.0,
    max_retries: int = 2,
    temperature: float = 0.0,
    json_mode: bool = False,
) -> Scorer:
    """A scorer that asks a chat model to grade each output against ``criteria``.

    ``base_url`` (e.g. ``http://127.0.0.1:8000/v1``) and ``api_key`` default to ``OPENAI_BASE_URL`` and
    ``OPENAI_API_KEY``. The value is a number in ``scale`` (default 1-5, higher is better), or one of
    ``labels`` when given; the model's explanation is the rationale. ``json_mode`` adds
    ``response_format={"type": "json_object"}`` for endpoints that support it.
    """
    url = base_url or os.environ.get("OPENAI_BASE_URL") or _DEFAULT_BASE_URL
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if scale[0] >= scale[1]:
        raise ValueError(f"scale must be (low, high) with low < high, got {scale!r}")

    def judge(inputs: Any, outputs: Any, expected: Any) -> Score:
        body: dict[str, Any] = {
            "model": model,
            "messages": build_messages(criteria, inputs, outputs, expected, scale, labels),
            "temperature": temperature,
        }
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        reply = chat_completion(url, key, body, timeout=timeout, max_retries=max_retries)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ScorerError(f"judge reply has no choices[0].message.content: {str(reply)[:200]}") from None
        score = parse_reply(content, scale, labels)
        return Score(score.value, score.rationale, {"model": model})

    judge.__name__ = name
    scorer = Scorer(judge, name, source="llm", higher_is_better=True)
    scorer.describe = lambda: {  # type: ignore[method-assign]
        "name": name, "source": "llm", "higher_is_better": True, "builtin": "llm_judge",
        "options": {"criteria": criteria, "model": model, "scale": list(scale), "labels": list(labels or [])},
    }  # fmt: skip
    return scorer
