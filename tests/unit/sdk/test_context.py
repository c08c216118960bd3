"""The current span crosses asyncio tasks by itself, and threads/executors through wrap()/ContextExecutor."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

from spanscope.sdk import ContextExecutor, current_span, observe, span, trace, wrap, wrap_executor
from spanscope.testing import CaptureExporter


def node(name: str, *children: dict[str, object]) -> dict[str, object]:
    return {"name": name, "kind": "other", "status": "OK", "children": list(children)}


def test_asyncio_create_task_gather_and_taskgroup(cap: CaptureExporter) -> None:
    async def leaf(name: str) -> None:
        with span(name):
            await asyncio.sleep(0)

    async def main() -> None:
        with trace("root"):
            await asyncio.gather(leaf("gathered"), leaf("gathered"))
            await asyncio.create_task(leaf("task"))
            async with asyncio.TaskGroup() as tg:
                tg.create_task(leaf("group"))
            await asyncio.to_thread(lambda: span("to_thread").__enter__().__exit__(None, None, None))

    asyncio.run(main())
    (tree,) = cap.span_tree()
    assert sorted(c["name"] for c in tree["children"]) == ["gathered", "gathered", "group", "task", "to_thread"]


def test_threads_get_the_span_through_wrap(cap: CaptureExporter) -> None:
    def work(i: int) -> None:
        with span(f"work-{i}"):
            pass

    with trace("root"):
        bare = threading.Thread(target=work, args=(0,))  # no propagation: a trace of its own
        wrapped = [threading.Thread(target=wrap(work), args=(i,)) for i in (1, 2)]
        for t in (bare, *wrapped):
            t.start()
        for t in (bare, *wrapped):
            t.join()
    trees = cap.span_tree()
    assert trees[0]["name"] == "root" and sorted(c["name"] for c in trees[0]["children"]) == ["work-1", "work-2"]
    assert [t["name"] for t in trees[1:]] == ["work-0"]


def test_one_wrapped_callable_runs_in_many_threads_at_once(cap: CaptureExporter) -> None:
    barrier = threading.Barrier(4)

    def work() -> None:
        barrier.wait(5)  # all four inside the wrapped call at the same time
        with span("parallel"):
            pass

    with trace("root"):
        fn = wrap(work)
        threads = [threading.Thread(target=fn) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    (tree,) = cap.span_tree()
    assert [c["name"] for c in tree["children"]] == ["parallel"] * 4


def test_context_executor_submit_and_map(cap: CaptureExporter) -> None:
    def score(x: int) -> int:
        with span("score"):
            return x * 2

    with ThreadPoolExecutor(max_workers=3) as inner, trace("batch"):
        pool = ContextExecutor(inner)
        assert wrap_executor(pool) is pool
        assert [f.result() for f in [pool.submit(score, i) for i in range(3)]] == [0, 2, 4]
        assert list(pool.map(score, range(3))) == [0, 2, 4]
        plain = inner.submit(score, 9).result()  # the bare executor: no propagation
    assert plain == 18
    trees = cap.span_tree()
    assert trees[0] == node("batch", *[node("score")] * 6)
    assert [t["name"] for t in trees[1:]] == ["score"]


def test_context_executor_shutdown_reaches_the_inner_executor() -> None:
    inner = ThreadPoolExecutor(max_workers=1)
    with ContextExecutor(inner) as pool:
        assert pool.submit(lambda: 1).result() == 1
    assert inner._shutdown


def test_generators_keep_their_span_across_yields(cap: CaptureExporter) -> None:
    def produce() -> Iterator[int]:
        with span("producer"):
            for i in range(2):
                with span(f"item-{i}"):
                    pass
                yield i

    with trace("consumer"):
        for _ in produce():
            assert current_span() is not None
    assert cap.span_tree() == [node("consumer", node("producer", node("item-0"), node("item-1")))]


def test_async_generators_and_observe(cap: CaptureExporter) -> None:
    @observe(name="stream")
    async def stream() -> AsyncIterator[int]:
        for i in range(2):
            with span(f"chunk-{i}"):
                await asyncio.sleep(0)
            yield i

    async def main() -> list[int]:
        with trace("request"):
            out = [x async for x in stream()]
            results = await asyncio.gather(*(child(i) for i in range(2)))
            return out + results

    async def child(i: int) -> int:
        with span("child"):
            await asyncio.sleep(0)
            return i

    assert asyncio.run(main()) == [0, 1, 0, 1]
    tree = cap.span_tree()
    assert tree == [node("request", node("stream", node("chunk-0"), node("chunk-1")), node("child"), node("child"))]
