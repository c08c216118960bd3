"""``evaluate``: run an app over a dataset's records, trace every call, score it, store the run.

    run = spanscope.evaluate(ds, app=answer, scorers=[exact_match, latency_under(2000)], name="prompt-v2")
    run.to_pandas()      # one row per record: inputs, outputs, expected, a column per scorer
    run.aggregates       # per scorer: mean (or category counts), errors, n/a; latency; app errors

Each record's fields are the app's keyword arguments (``{"input": "…", "expected": "…"}`` -> ``app(input=…)``;
``expected`` is never passed). By default the app gets the fields its signature names (all of them with
``**kwargs``; a one-parameter app gets ``input``); ``inputs=["question"]`` picks fields, and
``inputs={"question": "input"}`` renames them. Sync apps run in ``max_workers`` threads; ``async def`` apps
run concurrently on an event loop (at most ``max_workers`` at once).

Every call is a trace ``eval.<app>`` tagged ``spanscope.run_id``, ``spanscope.dataset``,
``spanscope.dataset_version``, ``spanscope.record_id`` and ``spanscope.source_trace_id`` (the production
trace the record came from), with the app's own spans inside. Scorers then get ``inputs`` (the keyword
arguments), ``outputs`` (the return value as is), ``expected`` and ``trace`` (the stored trace, fetched
when first read). Scores are stored as findings on those traces; the run (per-record rows and aggregates)
is stored server-side. An app that raises is an error on its record; a scorer that raises (an LLM judge
that cannot be reached…) is an error on that record and scorer; neither stops the run.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from spanscope.client import ApiError, Client
from spanscope.evals.run import RUNS_PATH, EvalRun, aggregate, client_or_default
from spanscope.evals.scorers import Scorer, ScorerError, as_scorer

log = logging.getLogger("spanscope.evals")

_POST_CHUNK = 200
RUN_TAG = "spanscope.run_id"


def jsonable(value: Any) -> Any:
    """``value`` as JSON-able builtins (anything unknown as its repr), to store outputs as they were."""
    try:
        return msgspec.to_builtins(value, str_keys=True, enc_hook=repr)
    except Exception:  # noqa: BLE001 - any value must be storable
        return repr(value)


def app_name(app: Any) -> str:
    module = getattr(app, "__module__", None) or ""
    qual = getattr(app, "__qualname__", None) or getattr(app, "__name__", None) or type(app).__name__
    return f"{module}:{qual}" if module else qual


def argument_plan(
    app: Callable[..., Any], fields: list[str], inputs: list[str] | dict[str, str] | None
) -> list[tuple[str, str]]:
    """``(parameter, field)`` pairs: which record field goes to which keyword argument."""
    if isinstance(inputs, dict):
        return [(str(p), str(f)) for p, f in inputs.items()]
    if inputs is not None:
        return [(str(f), str(f)) for f in inputs]
    candidates = [f for f in fields if f != "expected"]
    try:
        params = inspect.signature(app).parameters
    except (TypeError, ValueError):
        return [(f, f) for f in candidates]
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return [(f, f) for f in candidates]
    named = [f for f in candidates if f in params and params[f].kind is not inspect.Parameter.POSITIONAL_ONLY]
    if named:
        return [(f, f) for f in named]
    required = [p for p in params.values() if p.default is inspect.Parameter.empty and p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)]  # fmt: skip
    if len(required) == 1 and "input" in candidates:
        return [(required[0].name, "input")]
    raise ValueError(
        f"cannot tell which record fields {candidates} to pass to {app_name(app)}{inspect.signature(app)}; "
        "name them with inputs=[...] or inputs={'parameter': 'field'}"
    )


def _load_records(
    dataset: Any, version: int | None, client: Client | None
) -> tuple[list[dict[str, Any]], dict[str, Any], Client]:
    from spanscope.datasets.handle import Dataset, get
    from spanscope.store.datasets_core import record_from_row

    if isinstance(dataset, str):
        dataset = get(dataset, version=version, client=client)
    elif isinstance(dataset, Dataset) and version is not None and version != dataset.version:
        dataset = dataset.at(version)
    if isinstance(dataset, Dataset):
        # An unpinned handle stands for the dataset: use its latest version, so ground truth changed
        # elsewhere (another process, the UI) is what this run scores against.
        dataset.refresh()
        meta = {"dataset": dataset.name, "dataset_version": dataset.version, "dataset_hash": dataset.content_hash}
        return dataset.records(), meta, dataset.client
    rows = dataset.to_dict("records") if hasattr(dataset, "to_dict") and hasattr(dataset, "columns") else list(dataset)
    records = []
    for i, row in enumerate(rows):
        clean = {k: (None if isinstance(v, float) and v != v else v) for k, v in dict(row).items()}  # NaN -> None
        rec = record_from_row(clean, i)
        records.append(
            {"record_id": rec.record_id or str(i), "fields": rec.fields, "expected": rec.expected,
             "source_trace_id": rec.source_trace_id, "source_span_id": rec.source_span_id}
        )  # fmt: skip
    return records, {"dataset": None, "dataset_version": None, "dataset_hash": None}, client_or_default(client)


class _Trace:
    """The stored trace of one call, fetched (once) when a scorer first reads it."""

    def __init__(self, trace_id: str, client: Client):
        self.trace_id = trace_id
        self._client = client
        self._lock = threading.Lock()
        self._trace: Any = None

    def _load(self) -> Any:
        with self._lock:
            if self._trace is None:
                for attempt in range(10):
                    try:
                        self._trace = self._client.get_trace(self.trace_id)
                        break
                    except ApiError as exc:
                        if exc.status != 404 or attempt == 9:
                            raise ScorerError(f"cannot read trace {self.trace_id}: {exc}") from None
                        time.sleep(0.1 * (attempt + 1))
            return self._trace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._load(), name)

    def __getitem__(self, key: str) -> Any:
        return self._load()[key]

    def __repr__(self) -> str:
        return f"<trace {self.trace_id} (fetched on first use)>"


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def evaluate(
    dataset: Any,
    app: Callable[..., Any],
    scorers: Iterable[Any] = (),
    *,
    name: str | None = None,
    inputs: list[str] | dict[str, str] | None = None,
    max_workers: int = 8,
    version: int | None = None,
    progress: bool = True,
    tags: dict[str, Any] | None = None,
    client: Client | None = None,
) -> EvalRun:
    """Run ``app`` over every record of ``dataset``, score each call, store and return the run.

    ``dataset`` is a :class:`~spanscope.datasets.Dataset` (the latest version, or the handle's version if
    it is pinned), a dataset name (latest version, or ``version``), or a list of dicts / a DataFrame (an
    ad-hoc run, records keyed by position).
    See the module docstring for arguments, tracing and errors.
    """
    from spanscope import sdk
    from spanscope.sdk.runtime import RUNTIME

    score_with: list[Scorer] = [as_scorer(s) for s in scorers]
    names = [s.name for s in score_with]
    if len(set(names)) != len(names):
        raise ValueError(f"scorer names must be unique, got {names}; pass name=... to tell them apart")
    records, meta, c = _load_records(dataset, version, client)
    fields = sorted({k for r in records for k in r["fields"]})
    plan = argument_plan(app, fields, inputs)
    run_name = name or f"{getattr(app, '__name__', 'app')}-{time.strftime('%Y%m%d-%H%M%S')}"
    run = c._request(
        "POST",
        RUNS_PATH,
        {
            "name": run_name,
            **meta,
            "app": app_name(app),
            "scorers": [s.describe() for s in score_with],
            "params": {"inputs": [list(p) for p in plan], "max_workers": max_workers},
        },
    )
    run_id = run["run_id"]
    auto_sdk = RUNTIME.processor is None
    if auto_sdk:
        sdk.configure(endpoint=c.endpoint, api_key=c.api_key, project=c.project)
    elif sdk.get_config().get("project") != c.project:
        log.warning(
            "the SDK sends traces to project %r, the run is stored in %r", sdk.get_config().get("project"), c.project
        )
    trace_name = f"eval.{getattr(app, '__name__', 'app')}"
    base_tags = {**(tags or {}), RUN_TAG: run_id, "spanscope.run": run_name}
    if meta["dataset"] is not None:
        base_tags.update({"spanscope.dataset": meta["dataset"], "spanscope.dataset_version": meta["dataset_version"]})

    def call_tags(rec: dict[str, Any]) -> dict[str, Any]:
        out = {**base_tags, "spanscope.record_id": str(rec["record_id"])}
        if rec.get("source_trace_id"):
            out["spanscope.source_trace_id"] = rec["source_trace_id"]
        return out

    def kwargs_of(rec: dict[str, Any]) -> dict[str, Any]:
        missing = [f for _, f in plan if f not in rec["fields"]]
        if missing:
            raise KeyError(f"record {rec['record_id']} has no field(s) {missing}")
        return {p: rec["fields"][f] for p, f in plan}

    results: list[dict[str, Any]] = [
        {"record_id": str(r["record_id"]), "position": i, "trace_id": None, "inputs": None, "outputs": None,
         "expected": r.get("expected"), "scores": {}, "rationales": {}, "errors": {}, "error": None,
         "latency_ms": None, "source_trace_id": r.get("source_trace_id")}
        for i, r in enumerate(records)
    ]  # fmt: skip
    raw_outputs: list[Any] = [None] * len(records)
    status = "finished"
    try:
        with _progress(progress) as bar:
            calls = bar.add_task(f"[bold]{run_name}[/bold] calling {app_name(app)}", total=len(records))
            if inspect.iscoroutinefunction(app):
                _run_async(
                    app,
                    records,
                    results,
                    raw_outputs,
                    kwargs_of,
                    call_tags,
                    trace_name,
                    max_workers,
                    lambda: bar.advance(calls),
                )
            else:

                def call_one(i: int) -> None:
                    _call_sync(app, i, records, results, raw_outputs, kwargs_of, call_tags, trace_name)
                    bar.advance(calls)

                with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="spanscope-eval") as pool:
                    list(pool.map(call_one, range(len(records))))
            sdk.flush(timeout=30)  # the traces must be on the server before scorers read them
            scoring = bar.add_task("scoring", total=len(records) if score_with else 0)

            def score_one(i: int) -> None:
                _score(score_with, results[i], raw_outputs[i], c)
                bar.advance(scoring)

            if score_with:
                with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="spanscope-score") as pool:
                    list(pool.map(score_one, range(len(records))))
        _post_results(c, run_id, results, score_with, meta)
    except BaseException:
        status = "failed"
        raise
    finally:
        aggregates = aggregate(results, names)
        try:
            final = c._request("POST", f"{RUNS_PATH}/{run_id}/finish", {"status": status, "aggregates": aggregates})
        except (ApiError, ConnectionError):
            final = {**run, "status": status, "aggregates": aggregates}
            if status == "finished":
                raise
        finally:
            if auto_sdk:
                sdk.shutdown(timeout=10)
    return EvalRun.from_dict({**final, "results": results})


def _call_sync(
    app: Callable[..., Any],
    i: int,
    records: list[dict[str, Any]],
    results: list[dict[str, Any]],
    raw_outputs: list[Any],
    kwargs_of: Callable[..., dict[str, Any]],
    call_tags: Callable[..., dict[str, Any]],
    trace_name: str,
) -> None:
    from spanscope import sdk

    rec, res = records[i], results[i]
    start = time.perf_counter()
    try:
        kwargs = kwargs_of(rec)
        res["inputs"] = jsonable(kwargs)
        with sdk.trace(trace_name, tags=call_tags(rec), kind="chain") as t:
            if t.trace_id is not None and t.is_recording:
                res["trace_id"] = t.trace_id
            t.set_inputs(kwargs)
            out = app(**kwargs)
            if inspect.isawaitable(out):
                out = asyncio.run(_awaited(out))
            t.set_outputs(out)
        raw_outputs[i] = out
        res["outputs"] = jsonable(out)
    except Exception as exc:  # noqa: BLE001 - the app's failure is this record's result
        res["error"] = f"{type(exc).__name__}: {exc}"
    res["latency_ms"] = (time.perf_counter() - start) * 1000


async def _awaited(aw: Any) -> Any:
    return await aw


def _run_async(
    app: Callable[..., Any],
    records: list[dict[str, Any]],
    results: list[dict[str, Any]],
    raw_outputs: list[Any],
    kwargs_of: Callable[..., dict[str, Any]],
    call_tags: Callable[..., dict[str, Any]],
    trace_name: str,
    max_workers: int,
    advance: Callable[[], Any],
) -> None:
    from spanscope import sdk

    async def main() -> None:
        gate = asyncio.Semaphore(max(1, max_workers))

        async def one(i: int) -> None:
            rec, res = records[i], results[i]
            async with gate:
                start = time.perf_counter()
                try:
                    kwargs = kwargs_of(rec)
                    res["inputs"] = jsonable(kwargs)
                    async with sdk.trace(trace_name, tags=call_tags(rec), kind="chain") as t:
                        if t.trace_id is not None and t.is_recording:
                            res["trace_id"] = t.trace_id
                        t.set_inputs(kwargs)
                        out = await app(**kwargs)
                        t.set_outputs(out)
                    raw_outputs[i] = out
                    res["outputs"] = jsonable(out)
                except Exception as exc:  # noqa: BLE001 - the app's failure is this record's result
                    res["error"] = f"{type(exc).__name__}: {exc}"
                res["latency_ms"] = (time.perf_counter() - start) * 1000
                advance()

        await asyncio.gather(*(one(i) for i in range(len(records))))

    # A thread of its own: a fresh event loop (the caller may be inside one) and a fresh context (the
    # calls are roots of their own traces even if evaluate() runs inside a span).
    errors: list[BaseException] = []

    def runner() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=runner, name="spanscope-eval-async")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _score(scorers: list[Scorer], res: dict[str, Any], outputs: Any, client: Client) -> None:
    if res["error"]:
        return
    trace = _Trace(res["trace_id"], client) if res["trace_id"] else None
    for s in scorers:
        try:
            score = s.score(inputs=res["inputs"], outputs=outputs, expected=res["expected"], trace=trace)
        except ScorerError as exc:
            res["errors"][s.name] = str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - a scorer's failure is an error on this record
            res["errors"][s.name] = f"{type(exc).__name__}: {exc}"
            continue
        res["scores"][s.name] = score.value
        if score.rationale is not None:
            res["rationales"][s.name] = score.rationale


def _post_results(
    client: Client, run_id: str, results: list[dict[str, Any]], scorers: list[Scorer], meta: dict[str, Any]
) -> None:
    source = {s.name: s.source for s in scorers}
    for start in range(0, len(results), _POST_CHUNK):
        chunk = results[start : start + _POST_CHUNK]
        findings = []
        for r in chunk:
            if not r["trace_id"]:
                continue
            for name, value in r["scores"].items():
                if value is None:
                    continue
                metadata = {"spanscope.run_id": run_id, "spanscope.record_id": r["record_id"]}
                if meta.get("dataset") is not None:
                    metadata.update(
                        {"spanscope.dataset": meta["dataset"], "spanscope.dataset_version": meta["dataset_version"]}
                    )
                findings.append(
                    {"trace_id": r["trace_id"], "name": name, "value": value, "source": source.get(name, "code"),
                     "rationale": r["rationales"].get(name), "metadata": metadata}
                )  # fmt: skip
        client._request("POST", f"{RUNS_PATH}/{run_id}/results", {"results": chunk, "findings": findings})
