"""The LLM judge against a local OpenAI-compatible server: scores, rationales, labels, and failures as errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from spanscope.evals import Score, ScorerError, llm_judge
from spanscope.evals.judge import build_messages, parse_reply
from tests.unit.evals.chat_server import ChatServer, chat_server


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with chat_server() as srv:
        yield srv


def test_judge_scores_with_a_rationale(chat: ChatServer) -> None:
    judge = llm_judge("Is the answer correct?", model="judge-1", base_url=chat.base_url, api_key="sk-test")
    assert (judge.name, judge.source) == ("llm_judge", "llm")
    good = judge.score(inputs={"input": "where?"}, outputs="It shipped today.", expected="It shipped today", trace=None)
    assert good == Score(5, "graded 5", {"model": "judge-1"})
    bad = judge.score(inputs={"input": "where?"}, outputs="No idea.", expected="It shipped", trace=None)
    assert bad.value == 2
    req = chat.requests[0]
    assert req["model"] == "judge-1" and req["temperature"] == 0.0
    assert [m["role"] for m in req["messages"]] == ["system", "user"]
    assert "Criteria:\nIs the answer correct?" in req["messages"][1]["content"]
    assert chat.headers[0]["Authorization"] == "Bearer sk-test"
    assert judge.describe()["options"]["model"] == "judge-1"


def test_judge_labels_and_json_mode(chat: ChatServer) -> None:
    judge = llm_judge("tone", "m", chat.base_url, labels=["good", "bad"], name="tone", json_mode=True)
    assert judge.score(inputs=None, outputs="LABEL", expected=None, trace=None).value == "good"
    assert chat.requests[-1]["response_format"] == {"type": "json_object"}
    assert "Expected" not in chat.requests[-1]["messages"][1]["content"]


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("FAIL500", "after 2 attempt"),
        ("FAIL400", "HTTP 400"),
        ("GARBAGE", "not a JSON object"),
        ("OFFSCALE", "outside the scale"),
    ],
)
def test_judge_failures_raise_scorer_errors(chat: ChatServer, output: str, message: str) -> None:
    judge = llm_judge("c", "m", chat.base_url, max_retries=1)
    with pytest.raises(ScorerError, match=message):
        judge.score(inputs=None, outputs=output, expected=None, trace=None)
    if output == "FAIL500":
        assert len(chat.requests) == 2  # retried once


def test_unreachable_judge_is_a_scorer_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    judge = llm_judge("c", "m", f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2)
    with pytest.raises(ScorerError, match="cannot reach"):
        judge.score(inputs=None, outputs="x", expected=None, trace=None)
    with pytest.raises(ScorerError, match="invalid judge base_url"):
        llm_judge("c", "m", "ftp://x").score(inputs=None, outputs="x", expected=None, trace=None)


def test_reply_parsing_and_prompt() -> None:
    assert parse_reply('{"score": "4", "rationale": 7}', (1, 5), None) == Score(4.0, "7")
    assert parse_reply('noise {"score": 1} noise', (1, 5), None).value == 1
    with pytest.raises(ScorerError, match="no numeric"):
        parse_reply('{"score": true}', (1, 5), None)
    with pytest.raises(ScorerError, match="not one of"):
        parse_reply('{"label": "meh"}', (1, 5), ["good", "bad"])
    messages = build_messages("crit", {"q": 1}, "out", None, (0, 1), None)
    assert "from 0 (worst) to 1 (best)" in messages[0]["content"]
    assert messages[1]["content"] == 'Criteria:\ncrit\n\nInput:\n{"q": 1}\n\nOutput:\nout'
    with pytest.raises(ValueError, match="scale"):
        llm_judge("c", "m", "http://127.0.0.1:1/v1", scale=(5, 1))
