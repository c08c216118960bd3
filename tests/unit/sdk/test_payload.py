"""Payload control: capture switches, built-in redaction, the redact hook, size limits (worker side)."""

from __future__ import annotations

from typing import Any

import pytest

from spanscope.sdk import observe, span
from spanscope.sdk.encode import TRUNCATED_KEY, PayloadPolicy, truncate
from spanscope.sdk.redaction import bytes_may_hold_secrets, redact_text
from spanscope.testing import capture

SECRETS = {
    "email": ("write to jane.doe+test@example.co.uk today", "write to [REDACTED:email] today"),
    "card": ("card 4111 1111 1111 1111 exp 12/29", "card [REDACTED:card] exp 12/29"),
    "card_dashes": ("5555-5555-5555-4444", "[REDACTED:card]"),
    "openai": ("key=sk-proj-abcDEF1234567890ghijKLMN5678opqr", "key=[REDACTED:api_key]"),
    "anthropic": ("sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "[REDACTED:api_key]"),
    "aws": ("AKIAIOSFODNN7EXAMPLE", "[REDACTED:api_key]"),
    "github": ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token [REDACTED:api_key]"),
    "bearer": ("Authorization: Bearer 9f8e7d6c5b4a39281706AbCdEf", "Authorization: Bearer [REDACTED:bearer]"),
    "jwt": (
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "[REDACTED:bearer]",
    ),
}

CLEAN = [
    "order 1234567890123 shipped",  # 13 digits, not a card (leading 1, fails Luhn)
    "timestamp 1700000000000000000",
    "the internationalization team",
    "id 3f2c1a9e-7b4d-4c1e-9a2b-1c3d5e7f9a0b",  # a UUID
    "gen_ai.usage.input_tokens and completion_tokens_details",
    "4111 1111 1111 1112",  # card-shaped, bad checksum
]


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_builtin_patterns(name: str) -> None:
    text, expected = SECRETS[name]
    assert redact_text(text) == expected
    assert bytes_may_hold_secrets(f'["{text}"]'.encode())


@pytest.mark.parametrize("text", CLEAN)
def test_no_false_positives(text: str) -> None:
    assert redact_text(text) == text
    assert not bytes_may_hold_secrets(f'{{"x": "{text}", "n": 42}}'.encode())


def test_redaction_applies_to_every_field_and_keeps_the_shape() -> None:
    with capture() as cap, span("llm", attributes={"user.email": "bob@example.com", "n": 4111111111111111}) as s:
        s.set_inputs({"messages": [{"role": "user", "content": "I am bob@example.com, key sk-proj-" + "a1" * 20}]})
        s.set_outputs("Call me: Bearer abcdefghijklmnopqrstuvwxyz")
        s.add_event("note", {"to": "eve@example.org"})
        s.set_status("ERROR", "failed for bob@example.com")
    (rec,) = cap.spans
    assert rec.attributes == {"user.email": "[REDACTED:email]", "n": "[REDACTED:card]"}
    assert rec.inputs == {"messages": [{"role": "user", "content": "I am [REDACTED:email], key [REDACTED:api_key]"}]}
    assert rec.outputs == "Call me: Bearer [REDACTED:bearer]"
    assert rec.events[0].attributes == {"to": "[REDACTED:email]"}
    assert rec.status_message == "failed for [REDACTED:email]"


def test_trace_metadata_tags_and_findings_are_redacted() -> None:
    from spanscope.sdk import trace

    with capture() as cap, trace("t", tags={"who": "a@b.io"}, metadata={"contact": "a@b.io"}) as t:
        t.add_finding("ok", True, rationale="mailed a@b.io", metadata={"to": "a@b.io"})
    (info,) = cap.traces
    assert info.tags == {"who": "[REDACTED:email]"} and info.metadata == {"contact": "[REDACTED:email]"}
    (finding,) = cap.findings
    assert finding.rationale == "mailed [REDACTED:email]" and finding.metadata == {"to": "[REDACTED:email]"}


def test_builtins_can_be_turned_off() -> None:
    with capture(redact_builtins=False) as cap, span("x") as s:
        s.set_inputs("bob@example.com")
    assert cap.spans[0].inputs == "bob@example.com"


def test_user_redact_hook_sees_fields_and_can_drop_keys() -> None:
    seen: list[str] = []

    def redact(field: str, value: Any) -> Any:
        seen.append(field)
        if field == "inputs" and isinstance(value, dict):
            return {k: v for k, v in value.items() if k != "password"}
        if field == "outputs":
            return value.replace("secret", "******")
        return value

    with capture(redact=redact) as cap, span("login", attributes={"user": "u1"}) as s:
        s.set_inputs({"user": "u1", "password": "hunter2"})
        s.set_outputs("the secret is out")
    rec = cap.spans[0]
    assert rec.inputs == {"user": "u1"} and rec.outputs == "the ****** is out"
    assert sorted(seen) == ["attributes", "inputs", "outputs"]


def test_a_failing_redact_hook_drops_the_field(caplog: pytest.LogCaptureFixture) -> None:
    def redact(field: str, value: Any) -> Any:
        if field == "inputs":
            raise RuntimeError("hook bug")
        return value

    with capture(redact=redact) as cap, span("x") as s:
        s.set_inputs("private")
        s.set_outputs("fine")
    rec = cap.spans[0]
    assert rec.inputs is None and rec.outputs == "fine"  # privacy first: never send what the hook choked on
    assert "redact hook raised" in caplog.text


def test_capture_switches_global_and_per_observe() -> None:
    @observe
    def f(x: int) -> int:
        return x * 2

    @observe(capture_inputs=False)
    def g(x: int) -> int:
        return x * 3

    with capture(capture_inputs=False) as cap:
        assert f(2) == 4
        with span("manual") as s:
            s.set_inputs("ignored too")
            s.set_outputs("kept")
    assert [(r.inputs, r.outputs) for r in cap.spans] == [(None, 4), (None, "kept")]

    with capture(capture_outputs=False) as cap:
        assert g(1) == 3 and f(1) == 2
    assert [(r.inputs, r.outputs) for r in cap.spans] == [(None, None), ({"x": 1}, None)]


def test_size_limit_truncates_with_a_marker() -> None:
    with capture(max_field_bytes=1024) as cap, span("big", attributes={"doc": "y" * 5000}) as s:
        s.set_inputs("x" * 5000)
        s.set_outputs({"messages": [{"role": "user", "content": "z" * 5000}], "n": 1})
    rec = cap.spans[0]
    assert rec.inputs.startswith("x" * 100) and rec.inputs.endswith("…[truncated by spanscope: 5000 chars]")
    assert len(rec.inputs) < 1100
    content = rec.outputs["messages"][0]["content"]  # the structure survives: only the long string is cut
    assert content.endswith("…[truncated by spanscope: 5000 chars]") and rec.outputs["n"] == 1
    assert rec.attributes["doc"].endswith("…[truncated by spanscope: 5000 chars]")


def test_truncate_falls_back_to_a_preview_object() -> None:
    many = [{"k": i} for i in range(2000)]  # no long string to cut
    out = truncate(many, 1024)
    assert set(out) == {TRUNCATED_KEY} and out[TRUNCATED_KEY]["bytes"] > 1024
    assert out[TRUNCATED_KEY]["preview"].startswith('[{"k":0}')
    assert truncate("short", 1024) == "short"


def test_policy_rejects_a_non_callable_hook() -> None:
    with pytest.raises(TypeError):
        PayloadPolicy(redact="nope")  # type: ignore[arg-type]


def test_values_msgspec_cannot_encode_still_arrive() -> None:
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    with capture() as cap, span("odd") as s:
        s.set_inputs({(1, 2): "tuple key", "cyc": cyclic})
        s.set_outputs(object())
    rec = cap.spans[0]
    assert rec.inputs["(1, 2)"] == "tuple key" and rec.inputs["cyc"][0] == 1
    assert rec.outputs.startswith("<object object at")
