from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import AsyncIterator, Iterator

import pytest

from spanscope.sdk import current_span, observe, span
from spanscope.testing import CaptureExporter


@observe
def add(a: int, b: int = 10, *rest: int, scale: int = 1, **extra: object) -> int:
    return (a + b + sum(rest)) * scale


@observe(name="retrieve", kind="retriever")
def search(query: str, k: int = 3) -> list[str]:
    return [f"{query}-{i}" for i in range(k)]


@observe(kind="nonsense", capture_inputs=False, capture_outputs=False)
def secret(password: str) -> str:
    return password[::-1]


class Agent:
    def __init__(self, name: str) -> None:
        self.name = name

    @observe(kind="agent")
    def run(self, task: str) -> str:
        return f"{self.name}:{task}"

    @observe
    @classmethod
    def build(cls, name: str) -> Agent:
        return cls(name)

    @observe
    @staticmethod
    def helper(x: int) -> int:
        return x * 2


def test_sync_function_inputs_are_the_bound_arguments(cap: CaptureExporter) -> None:
    assert add(1) == 11
    assert add(1, 2, 3, 4, scale=2, note="hi") == 20
    first, second = cap.spans
    assert first.name == "add" and first.kind == "other" and first.status == "OK"
    assert first.inputs == {"a": 1, "b": 10, "rest": [], "scale": 1, "extra": {}}
    assert first.outputs == 11
    assert second.inputs == {"a": 1, "b": 2, "rest": [3, 4], "scale": 2, "extra": {"note": "hi"}}


def test_name_kind_and_capture_flags(cap: CaptureExporter) -> None:
    assert search("q", k=2) == ["q-0", "q-1"]
    assert secret("abc") == "cba"
    s1, s2 = cap.spans
    assert (s1.name, s1.kind, s1.inputs, s1.outputs) == (
        "retrieve",
        "retriever",
        {"query": "q", "k": 2},
        ["q-0", "q-1"],
    )
    assert (s2.name, s2.kind, s2.inputs, s2.outputs) == ("secret", "other", None, None)
    assert search.__name__ == "search" and inspect.signature(search).parameters["k"].default == 3


def test_methods_skip_self_and_cls(cap: CaptureExporter) -> None:
    agent = Agent.build("ava")
    assert agent.run("refund") == "ava:refund"
    assert Agent.helper(4) == 8
    build, run, helper = cap.spans
    assert (build.name, build.inputs) == ("Agent.build", {"name": "ava"})
    assert (run.name, run.kind, run.inputs, run.outputs) == ("Agent.run", "agent", {"task": "refund"}, "ava:refund")
    assert (helper.name, helper.inputs, helper.outputs) == ("Agent.helper", {"x": 4}, 8)
    assert "Agent object at" in build.outputs  # not JSON-able: its repr


def test_nested_observed_calls_form_a_tree(cap: CaptureExporter) -> None:
    @observe(kind="chain")
    def outer() -> int:
        return add(1) + add(2)

    outer()
    assert cap.span_tree() == [
        {
            "name": test_nested_observed_calls_form_a_tree.__name__ + ".<locals>.outer",
            "kind": "chain",
            "status": "OK",
            "children": [
                {"name": "add", "kind": "other", "status": "OK", "children": []},
                {"name": "add", "kind": "other", "status": "OK", "children": []},
            ],
        }
    ]


def test_exception_propagates_and_marks_error(cap: CaptureExporter) -> None:
    error = ZeroDivisionError("nope")

    @observe
    def fails(x: int) -> int:
        raise error

    with pytest.raises(ZeroDivisionError) as caught:
        fails(1)
    assert caught.value is error
    (s,) = cap.spans
    assert (s.status, s.status_message, s.inputs, s.outputs) == ("ERROR", "nope", {"x": 1}, None)
    assert s.events[0].attributes["exception.type"] == "ZeroDivisionError"


def test_user_set_outputs_win(cap: CaptureExporter) -> None:
    @observe
    def annotated() -> str:
        s = current_span()
        assert s is not None
        s.set_outputs({"summary": "short"})
        return "a very long answer"

    assert annotated() == "a very long answer"
    assert cap.spans[0].outputs == {"summary": "short"}


def test_async_function(cap: CaptureExporter) -> None:
    @observe(kind="llm")
    async def generate(prompt: str) -> str:
        await asyncio.sleep(0)
        with span("inner"):
            pass
        return prompt.upper()

    assert inspect.iscoroutinefunction(generate)
    assert asyncio.run(generate("hi")) == "HI"
    inner, outer = cap.spans
    assert (outer.kind, outer.inputs, outer.outputs) == ("llm", {"prompt": "hi"}, "HI")
    assert inner.parent_span_id == outer.span_id


def test_generator_span_covers_the_iteration(cap: CaptureExporter) -> None:
    @observe(kind="retriever")
    def stream(n: int) -> Iterator[int]:
        for i in range(n):
            with span(f"chunk-{i}"):
                pass
            yield i
        return None

    assert inspect.isgeneratorfunction(stream)
    with span("consumer"):
        seen = []
        for item in stream(2):
            with span("consumer-work"):  # the consumer's spans are not children of the generator's
                seen.append(item)
    assert seen == [0, 1]
    assert cap.span_tree() == [{"name": "consumer", "kind": "other", "status": "OK", "children": [
        {"name": test_generator_span_covers_the_iteration.__name__ + ".<locals>.stream", "kind": "retriever",
         "status": "OK", "children": [
             {"name": "chunk-0", "kind": "other", "status": "OK", "children": []},
             {"name": "chunk-1", "kind": "other", "status": "OK", "children": []}]},
        {"name": "consumer-work", "kind": "other", "status": "OK", "children": []},
        {"name": "consumer-work", "kind": "other", "status": "OK", "children": []},
    ]}]  # fmt: skip
    gen_span = next(s for s in cap.spans if s.kind == "retriever")
    work = [s for s in cap.spans if s.name == "consumer-work"]
    assert gen_span.start_time_ns < work[0].start_time_ns and gen_span.end_time_ns > work[1].end_time_ns
    assert (gen_span.inputs, gen_span.outputs) == ({"n": 2}, [0, 1])


def test_generator_close_exception_send_throw_and_return_value(cap: CaptureExporter) -> None:
    @observe
    def numbers() -> Iterator[int]:
        yield 1
        yield 2
        yield 3

    g = numbers()
    assert next(g) == 1
    g.close()

    @observe
    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("bad chunk")

    with pytest.raises(ValueError, match="bad chunk"):
        list(broken())

    @observe
    def echo() -> Iterator[int]:
        total = 0
        while True:
            try:
                received = yield total
            except KeyError:
                received = 100
            if received is None:
                return total
            total += received

    e = echo()
    assert next(e) == 0
    assert e.send(5) == 5
    assert e.throw(KeyError("x")) == 105
    with pytest.raises(StopIteration) as stop:
        e.send(None)
    assert stop.value.value == 105

    closed, failed, echoed = cap.spans
    assert (closed.status, closed.outputs) == ("OK", [1])
    assert (failed.status, failed.status_message, failed.outputs) == ("ERROR", "bad chunk", [1])
    assert (echoed.status, echoed.outputs) == ("OK", [0, 5, 105])


def test_async_generator(cap: CaptureExporter) -> None:
    @observe(kind="llm")
    async def tokens(text: str) -> AsyncIterator[str]:
        for word in text.split():
            await asyncio.sleep(0)
            s = current_span()
            assert s is not None and s.kind == "llm"
            yield word

    async def main() -> list[str]:
        out = []
        async with span("consumer") as consumer:
            async for word in tokens("hello big world"):
                assert current_span() is consumer
                out.append(word)
            agen = tokens("a b c")
            out.append(await agen.__anext__())
            await agen.aclose()
        return out

    assert inspect.isasyncgenfunction(tokens)
    assert asyncio.run(main()) == ["hello", "big", "world", "a"]
    full, partial, consumer = cap.spans
    assert (full.inputs, full.status) == ({"text": "hello big world"}, "OK")
    assert full.outputs == ["hello", "big", "world"]
    assert (partial.outputs, partial.status) == (["a"], "OK")
    assert full.parent_span_id == consumer.span_id == partial.parent_span_id


def test_async_generator_exception(cap: CaptureExporter) -> None:
    @observe
    async def failing() -> AsyncIterator[int]:
        yield 1
        raise RuntimeError("stream cut")

    async def main() -> list[int]:
        return [x async for x in failing()]

    with pytest.raises(RuntimeError, match="stream cut"):
        asyncio.run(main())
    (s,) = cap.spans
    assert (s.status, s.outputs) == ("ERROR", [1])


@dataclasses.dataclass
class Query:
    text: str
    filters: tuple[str, ...] = ()


def test_inputs_that_are_not_json(cap: CaptureExporter) -> None:
    @observe
    def run(q: Query, blob: bytes, tags: set[str], odd: dict[tuple[int, int], int]) -> object:
        return object()

    run(Query("hi", ("a",)), b"\x00\x01", {"x"}, {(1, 2): 3})
    (s,) = cap.spans
    assert s.inputs == {"q": {"text": "hi", "filters": ["a"]}, "blob": "AAE=", "tags": ["x"], "odd": {"[1, 2]": 3}}
    assert s.outputs.startswith("<object object at")


def test_observe_before_configure_calls_through_and_traces_after() -> None:
    from spanscope.testing import capture

    assert add(2) == 12  # not configured: plain call
    with capture() as cap:
        assert add(3) == 13
    assert [s.inputs for s in cap.spans] == [{"a": 3, "b": 10, "rest": [], "scale": 1, "extra": {}}]
