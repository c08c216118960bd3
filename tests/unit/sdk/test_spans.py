from __future__ import annotations

import asyncio
import contextvars
import threading

import msgspec
import pytest

from spanscope.sdk import current_span, span, trace
from spanscope.testing import CaptureExporter

T0 = 1_700_000_000_000_000_000
MS = 1_000_000


def tid(n: int) -> str:
    return f"{n:032x}"


def sid(n: int) -> str:
    return f"{n:016x}"


def test_nested_spans_as_a_tree(cap: CaptureExporter) -> None:
    with trace("chatbot.turn", kind="chain"):
        with span("llm.generate", kind="llm"):
            pass
        with span("tools.get_order", kind="tool"), span("db.query", kind="db"):
            pass
    with span("background", kind="other"):
        pass

    assert cap.span_tree() == [
        {"name": "chatbot.turn", "kind": "chain", "status": "OK", "children": [
            {"name": "llm.generate", "kind": "llm", "status": "OK", "children": []},
            {"name": "tools.get_order", "kind": "tool", "status": "OK", "children": [
                {"name": "db.query", "kind": "db", "status": "OK", "children": []},
            ]},
        ]},
        {"name": "background", "kind": "other", "status": "OK", "children": []},
    ]  # fmt: skip


def test_whole_records_are_deterministic(cap: CaptureExporter) -> None:
    with trace("root") as t:
        with span("child", attributes={"a": 1}) as s:
            s.set_inputs({"q": "hi"})
            s.set_outputs(["answer"])
            s.add_event("retry", {"attempt": 2})
        assert (t.trace_id, t.span_id, t.parent_span_id) == (tid(1), sid(1), None)
        assert (s.trace_id, s.span_id, s.parent_span_id, s.name) == (tid(1), sid(2), sid(1), "child")

    child, root = cap.spans  # exported in the order they ended
    assert msgspec.to_builtins(child) == {
        "trace_id": tid(1), "span_id": sid(2), "parent_span_id": sid(1), "name": "child",
        "start_time_ns": T0 + 1 * MS, "end_time_ns": T0 + 3 * MS, "status": "OK",
        "attributes": {"a": 1}, "inputs": {"q": "hi"}, "outputs": ["answer"],
        "events": [{"name": "retry", "time_ns": T0 + 2 * MS, "attributes": {"attempt": 2}}],
    }  # fmt: skip
    assert root.parent_span_id is None and root.start_time_ns == T0 and root.end_time_ns == T0 + 4 * MS
    assert root.duration_ms == 4.0


def test_spans_are_exported_as_they_end(cap: CaptureExporter) -> None:
    with trace("root"):
        with span("child"):
            pass
        assert [s.name for s in cap.spans] == ["child"]
    assert [s.name for s in cap.spans] == ["child", "root"]


def test_trace_tags_metadata_session_user_and_findings(cap: CaptureExporter) -> None:
    with trace("turn", tags={"channel": "web"}, metadata={"intent": "refund"}, session_id="s1", user_id="u1") as t:
        t.set_tag("quality", 0.9)
        t.set_tags({"model": "m", "weird": object})
        t.set_metadata("locale", "de-DE")
        with span("check") as s:
            s.set_tag("checked", True)  # a span's tags go to its trace
            s.add_finding("safe", 0.97, source="llm", rationale="no policy hit", metadata={"judge": "j1"})
        t.add_finding("helpful", True, source="human")
        t.add_finding("odd", 1, source="nonsense")

    (info,) = cap.traces
    assert info.trace_id == t.trace_id
    assert info.tags == {"channel": "web", "quality": 0.9, "model": "m", "weird": "<class 'object'>", "checked": True}
    assert info.metadata == {"intent": "refund", "locale": "de-DE"}
    assert (info.session_id, info.user_id) == ("s1", "u1")

    safe, helpful, odd = cap.findings
    assert (safe.span_id, safe.name, safe.value, safe.source) == (s.span_id, "safe", 0.97, "llm")
    assert (safe.rationale, safe.metadata, safe.trace_id) == ("no policy hit", {"judge": "j1"}, t.trace_id)
    assert (helpful.span_id, helpful.value, helpful.source) == (None, True, "human")
    assert odd.source == "code"
    assert len({safe.finding_id, helpful.finding_id, odd.finding_id}) == 3
    assert all(f.time_ns is not None for f in cap.findings)


def test_tag_after_the_root_ended_sends_another_trace_item(cap: CaptureExporter) -> None:
    with trace("turn", tags={"a": 1}) as t:
        pass
    t.set_tag("late", "yes")
    t.add_finding("late_score", 0.5)
    assert [i.tags for i in cap.traces] == [{"a": 1}, {"late": "yes"}]
    assert cap.trace_info(t.trace_id)["tags"] == {"a": 1, "late": "yes"}
    assert cap.findings[0].name == "late_score"


def test_span_outside_a_trace_is_a_root(cap: CaptureExporter) -> None:
    with span("one") as a:
        pass
    with span("two") as b:
        pass
    assert a.parent_span_id is None and b.parent_span_id is None
    assert a.trace_id != b.trace_id
    assert cap.traces == []  # nothing trace-level was set on a plain span


def test_trace_inside_a_span_is_a_child_and_tags_the_enclosing_trace(cap: CaptureExporter) -> None:
    with span("request") as outer:
        outer.set_tag("route", "/chat")
        with trace("turn", tags={"channel": "web"}, user_id="u9") as t:
            t.add_finding("good", True)
    assert t.trace_id == outer.trace_id and t.parent_span_id == outer.span_id
    assert cap.span_tree() == [
        {
            "name": "request",
            "kind": "other",
            "status": "OK",
            "children": [{"name": "turn", "kind": "other", "status": "OK", "children": []}],
        }
    ]
    assert cap.trace_info(outer.trace_id) == {
        "tags": {"route": "/chat", "channel": "web"},
        "metadata": {},
        "session_id": None,
        "user_id": "u9",
    }
    (finding,) = cap.findings
    assert finding.trace_id == outer.trace_id and finding.span_id is None


class Boom(ValueError):
    pass


def test_exception_marks_error_records_event_and_propagates_unchanged(cap: CaptureExporter) -> None:
    error = Boom("it broke")
    with pytest.raises(Boom) as caught, trace("root"), span("child"):
        raise error
    assert caught.value is error

    child, root = cap.spans
    for s in (child, root):  # recorded on every span it passes through
        assert (s.status, s.status_message) == ("ERROR", "it broke")
        (event,) = s.events
        assert event.name == "exception"
        assert event.attributes["exception.type"] == f"{__name__}.Boom"
        assert event.attributes["exception.message"] == "it broke"
        assert "Traceback" in event.attributes["exception.stacktrace"]
        assert "raise error" in event.attributes["exception.stacktrace"]


def test_builtin_exception_type_is_unqualified(cap: CaptureExporter) -> None:
    with pytest.raises(KeyError), span("x"):
        raise KeyError("k")
    assert cap.spans[0].events[0].attributes["exception.type"] == "KeyError"


def test_set_status(cap: CaptureExporter) -> None:
    with span("explicit-error") as s:
        s.set_status("error", "bad answer")
    with span("explicit-unset") as s:
        s.set_status("UNSET")
    with span("ignored") as s:
        s.set_status("MAYBE")
    with pytest.raises(RuntimeError), span("exception-wins") as s:
        s.set_status("OK")
        raise RuntimeError("late")
    statuses = [(s.name, s.status, s.status_message) for s in cap.spans]
    assert statuses == [
        ("explicit-error", "ERROR", "bad answer"),
        ("explicit-unset", "UNSET", None),
        ("ignored", "OK", None),
        ("exception-wins", "ERROR", "late"),
    ]


def test_current_span(cap: CaptureExporter) -> None:
    assert current_span() is None
    with trace("root") as t:
        assert current_span() is t
        with span("child") as s:
            assert current_span() is s
        assert current_span() is t
    assert current_span() is None


def test_asyncio_tasks_inherit_the_current_span(cap: CaptureExporter) -> None:
    async def child(name: str) -> str | None:
        async with span(name) as s:
            await asyncio.sleep(0)
            return s.parent_span_id

    async def main() -> tuple[str, list[str | None]]:
        async with trace("root") as t:
            parents = await asyncio.gather(child("a"), child("b"))
            assert current_span() is t
            return t.span_id, parents

    root_id, parents = asyncio.run(main())
    assert parents == [root_id, root_id]
    (tree,) = cap.span_tree()
    assert sorted(c["name"] for c in tree["children"]) == ["a", "b"]


def test_kinds_attributes_and_late_setters(cap: CaptureExporter) -> None:
    with span(
        "x",
        kind="nonsense",
        attributes={"n": 1, "t": (1, "a"), "o": object, "nan": float("nan"), "nested": [[1], {"k": 2}]},
    ) as s:
        s.set_attributes({"f": 1.5, 3: "int key"})
    s.set_attribute("after", 1)
    s.set_inputs("ignored")
    s.add_event("ignored")
    s.set_status("ERROR")
    (record,) = cap.spans
    assert record.kind == "other" and record.status == "OK" and record.inputs is None and record.events == []
    assert record.attributes == {
        "n": 1,
        "t": [1, "a"],
        "o": "<class 'object'>",
        "nan": "nan",
        "nested": ["[1]", "{'k': 2}"],
        "f": 1.5,
        "3": "int key",
    }


def test_span_tree_extra_fields(cap: CaptureExporter) -> None:
    with span("x", attributes={"a": 1}) as s:
        s.set_inputs({"q": 1})
    assert cap.span_tree(fields=("attributes", "inputs")) == [
        {"name": "x", "kind": "other", "status": "OK", "attributes": {"a": 1}, "inputs": {"q": 1}, "children": []}
    ]


def test_generator_exit_is_not_an_error(cap: CaptureExporter) -> None:
    def gen():  # type: ignore[no-untyped-def]
        with span("inside-gen"):
            yield 1
            yield 2

    g = gen()
    next(g)
    g.close()
    assert cap.spans[0].status == "OK"


def test_exit_in_another_context_does_not_break(cap: CaptureExporter) -> None:
    s = span("moved")
    contextvars.copy_context().run(s.__enter__)
    assert current_span() is None  # entered in the copy only
    s.__exit__(None, None, None)  # the token belongs to the other context
    assert current_span() is None
    assert [x.name for x in cap.spans] == ["moved"]


def test_threads_start_their_own_traces(cap: CaptureExporter) -> None:
    def work(i: int) -> None:
        with trace(f"t{i}", tags={"i": i}):
            for j in range(50):
                with span(f"s{j}"):
                    pass

    with span("main") as main:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    spans = cap.spans
    assert len(spans) == 8 * 51 + 1
    roots = [s for s in spans if s.parent_span_id is None]
    assert len(roots) == 9 and len({s.trace_id for s in roots}) == 9
    assert main.trace_id not in {s.trace_id for s in spans if s.name.startswith("s")}
    assert len(cap.traces) == 8
