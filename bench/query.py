"""Query speed at 1M spans / 200k traces through a running server, and MLflow's search_traces beside it.

    .venv/bin/python bench/query.py [--traces 200000] [--repeats 7] [--mlflow-traces 2000]
                                    [--mlflow-python /tmp/mlflow-venv/bin/python] [--keep DIR]

1. Generates a seeded customer-service chatbot workload (the seed's example): every turn is a
   ``chatbot.turn`` trace with ``llm.generate`` -> ``llm.tools.<tool>`` -> ``db.query`` -> ``llm.generate_final``
   (5 spans), typed GenAI attributes (model, tokens, cost), prose-like inputs/outputs (zipf vocabulary, sized
   like the storage anchor's data: ~270 B inputs and ~500 B outputs per span on average), tags
   (quality_score, model, channel, app.version), and a ``user_thumbs_up`` finding on 30% of turns.
2. Starts ``spanscope serve`` in its own process and loads everything through the ingest API (bodies of
   ``--batch`` spans, 2 senders), then reports disk bytes per span after a checkpoint.
3. Times each query through the Python client against the running server (median of ``--repeats`` after a
   warm-up) and prints it beside its target.
4. Loads the first ``--mlflow-traces`` traces into MLflow (its own venv, sqlite store) and times its
   ``search_traces`` on the same questions where MLflow can express them; prints the speed ratios.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

DAY_NS = 86_400 * 10**9
END_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: the workload covers the 7 days before
MODELS = (("gpt-4o-mini", 0.55), ("gpt-4o", 0.30), ("claude-3-5-haiku", 0.15))
PRICES_PER_1K = {"gpt-4o-mini": (0.00015, 0.0006), "gpt-4o": (0.0025, 0.01), "claude-3-5-haiku": (0.0008, 0.004)}
TOOLS = (
    ("get_order", 0.30),
    ("request_refund", 0.20),
    ("get_user_message", 0.15),
    ("update_address", 0.15),
    ("escalate", 0.10),
    ("product_question", 0.10),
)
CHANNELS = ("web", "mobile", "email")
SYSTEM_PROMPT = (
    "You are Ava, the support assistant of ShopRight. Be concise and polite. Use the tools to look up orders, "
    "refunds and accounts; never invent order details."
)


class Vocabulary:
    """A zipf-distributed word list, so generated prose compresses roughly like real text."""

    def __init__(self, rng: random.Random, size: int = 6000):
        syllables = ["ka", "lo", "mi", "ne", "or", "pu", "ra", "si", "te", "vo", "an", "el", "is", "un"]
        syllables += ["ber", "dor", "fen", "gal", "hus", "jor"]
        words = []
        for i in range(size):
            k = 1 + (i % 4)
            word = "".join(syllables[(i * 7 + j * 13 + (i >> j)) % len(syllables)] for j in range(k))
            words.append(word + ("s" if i % 5 == 0 else ""))
        common = "the a to and of is your order you please we can for it this account item delivery help thanks"
        common += " I my on with status was not be have that shipping in are will if me ticket customer support"
        for i, word in enumerate(common.split()):
            words[i] = word
        self.words = words
        acc, self.cum = 0.0, []
        for rank in range(1, size + 1):
            acc += 1.0 / rank**1.05
            self.cum.append(acc)
        self.rng = rng

    def text(self, n_words: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=n_words))


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    r, acc = rng.random(), 0.0
    for value, weight in weighted:
        acc += weight
        if r <= acc:
            return value
    return weighted[-1][0]


def generate(n_traces: int, seed: int = 42) -> Iterator[tuple[list[dict], dict, list[dict]]]:
    """Yield ``(spans, trace_info, findings)`` for each of ``n_traces`` chatbot turns, in time order."""
    rng = random.Random(seed)
    vocab = Vocabulary(random.Random(seed + 1))
    start0 = END_NS - 7 * DAY_NS
    step = 7 * DAY_NS // max(n_traces, 1)

    def lognorm(median: float, sigma: float = 0.4) -> float:
        return median * rng.lognormvariate(0, sigma)

    def new_id(bits: int) -> str:
        return f"{rng.getrandbits(bits):0{bits // 4}x}"

    for i in range(n_traces):
        trace_id, root_id = new_id(128), new_id(64)
        t0 = start0 + i * step + rng.randrange(step)
        tool = _pick(rng, TOOLS)
        model = _pick(rng, MODELS)
        order = f"A{rng.randint(10000, 99999)}"
        slow_db = rng.random() < 0.04
        tool_fails = rng.random() < 0.05
        llm_fails = rng.random() < 0.01
        refund = tool == "request_refund" and rng.random() < 0.5
        question = vocab.text(rng.randint(15, 50)) + (" I want a refund for it." if refund else "")
        question += f" Order {order}."
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": question}]
        spans: list[dict] = []
        tokens_total, cost_total = 0, 0.0

        def usage(prompt: int, completion: int, model: str = model) -> dict[str, Any]:
            price_in, price_out = PRICES_PER_1K[model]
            cost = round(prompt / 1000 * price_in + completion / 1000 * price_out, 6)
            return {
                "gen_ai.request.model": model,
                "gen_ai.usage.input_tokens": prompt,
                "gen_ai.usage.output_tokens": completion,
                "usage.total_tokens": prompt + completion,
                "spanscope.cost_usd": cost,
            }

        def add(  # binds this turn's list and id through defaults
            name: str,
            kind: str,
            parent: str,
            start: int,
            dur_ms: float,
            spans: list[dict] = spans,
            trace_id: str = trace_id,
            **extra: Any,
        ) -> tuple[str, int]:
            span_id = new_id(64)
            end = start + int(dur_ms * 1e6)
            spans.append(
                {
                    "trace_id": trace_id,
                    "span_id": span_id,
                    "parent_span_id": parent,
                    "name": name,
                    "kind": kind,
                    "start_time_ns": start,
                    "end_time_ns": end,
                    "status": extra.pop("status", "OK"),
                    **extra,
                }
            )
            return span_id, end

        # 1. llm.generate picks the tool
        prompt, completion = 180 + rng.randint(0, 400), rng.randint(12, 40)
        attrs = usage(prompt, completion)
        tokens_total += prompt + completion
        cost_total += attrs["spanscope.cost_usd"]
        call = {"name": tool, "arguments": json.dumps({"order_id": order})}
        _, t = add(
            "llm.generate",
            "llm",
            root_id,
            t0 + 1_000_000,
            lognorm(650),
            attributes=attrs,
            inputs={"messages": messages},
            outputs={"choices": [{"message": {"role": "assistant", "tool_calls": [call]}}]},
            status="ERROR" if llm_fails else "OK",
        )
        # 2. the tool and its database call
        tool_start = t + 200_000
        db_ms = lognorm(1500 if slow_db else 25, 0.5)
        tool_ms = lognorm(15) + db_ms + lognorm(5)
        result = {"order_id": order, "status": rng.choice(("shipped", "processing", "delivered"))}
        tool_id, t = add(
            f"llm.tools.{tool}",
            "tool",
            root_id,
            tool_start,
            tool_ms,
            attributes={"tool.name": tool},
            inputs={"order_id": order},
            outputs={"error": "upstream returned 503"} if tool_fails else result,
            status="ERROR" if tool_fails else "OK",
            **({"status_message": "upstream returned 503"} if tool_fails else {}),
        )
        statement = f"SELECT * FROM orders WHERE order_id = $1 /* {tool} */"
        add(
            "db.query",
            "db",
            tool_id,
            tool_start + 3_000_000,
            db_ms,
            attributes={"db.system": "postgresql", "db.statement": statement, "db.rows": rng.randint(0, 3)},
            inputs={"statement": statement, "params": [order]},
            outputs={"rows": [{"order_id": order, "note": vocab.text(rng.randint(20, 60))}]},
        )
        # 3. the final answer
        prompt, completion = 300 + rng.randint(0, 500), rng.randint(40, 260) + (150 if tool_fails else 0)
        attrs = usage(prompt, completion)
        tokens_total += prompt + completion
        cost_total += attrs["spanscope.cost_usd"]
        answer = vocab.text(rng.randint(100, 260))
        _, t = add(
            "llm.generate_final",
            "llm",
            root_id,
            t + 300_000,
            lognorm(1600 if model == "gpt-4o" else 1100),
            attributes=attrs,
            inputs={"messages": [{"role": "user", "content": question}, {"role": "tool", "content": str(result)}]},
            outputs={"choices": [{"message": {"role": "assistant", "content": answer}}]},
        )
        quality = rng.betavariate(6, 2) - 0.00004 * max(0, tokens_total - 900)
        quality -= (0.3 if tool_fails else 0) + (0.15 if slow_db else 0)
        quality = round(max(0.0, min(1.0, quality)), 3)
        spans.insert(
            0,
            {
                "trace_id": trace_id,
                "span_id": root_id,
                "name": "chatbot.turn",
                "kind": "chain",
                "start_time_ns": t0,
                "end_time_ns": t + 500_000,
                "status": "ERROR" if llm_fails else "OK",
                "attributes": {
                    "usage.total_tokens": tokens_total,
                    "spanscope.cost_usd": round(cost_total, 6),
                    "gen_ai.request.model": model,
                },
                "inputs": {"messages": messages},
                "outputs": {"response": answer},
            },
        )
        info = {
            "trace_id": trace_id,
            "tags": {
                "quality_score": quality,
                "model": model,
                "channel": rng.choice(CHANNELS),
                "app.version": "1.4.0" if i % 10 else "1.5.0-rc1",
            },
            "metadata": {"intent": tool},
            "session_id": f"session-{rng.randint(1, 20000):05d}",
            "user_id": f"user-{rng.randint(1, 5000):04d}",
        }
        findings = []
        if rng.random() < 0.3:
            findings.append(
                {
                    "trace_id": trace_id,
                    "name": "user_thumbs_up",
                    "value": quality > 0.6,
                    "source": "human",
                    "time_ns": t,
                }
            )
        yield spans, info, findings


# -- loading through the server ------------------------------------------------------------------------------


def bodies(n_traces: int, batch_spans: int, seed: int = 42) -> Iterator[tuple[bytes, int]]:
    """Native ingest bodies of about ``batch_spans`` spans each, and the span count of each."""
    spans: list[dict] = []
    infos: list[dict] = []
    findings: list[dict] = []
    for trace_spans, info, trace_findings in generate(n_traces, seed):
        spans += trace_spans
        infos.append(info)
        findings += trace_findings
        if len(spans) >= batch_spans:
            yield json.dumps({"spans": spans, "traces": infos, "findings": findings}).encode(), len(spans)
            spans, infos, findings = [], [], []
    if spans:
        yield json.dumps({"spans": spans, "traces": infos, "findings": findings}).encode(), len(spans)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_all(port: int, project: str, items: Iterator[tuple[bytes, int]], senders: int = 2) -> tuple[float, int]:
    """POST every body (retrying on 429 after its Retry-After); returns (seconds, spans sent)."""
    lock = threading.Lock()
    sent = [0]
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                break
            body, n = item
            while True:
                conn.request(
                    "POST",
                    "/api/v1/ingest",
                    body=body,
                    headers={"Content-Type": "application/json", "X-Spanscope-Project": project},
                )
                resp = conn.getresponse()
                payload = resp.read()
                if resp.status == 429:
                    time.sleep(float(resp.getheader("Retry-After") or 0.5))
                    continue
                if resp.status != 200:
                    errors.append(f"HTTP {resp.status}: {payload[:200]!r}")
                break
            with lock:
                sent[0] += n
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} ingest requests failed, first: {errors[0]}")
    return time.perf_counter() - t0, sent[0]


def start_server(data_dir: str, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "spanscope.cli.main", "serve", "--port", str(port), "--data-dir", data_dir]
    return subprocess.Popen([*cmd, "--log-level", "warning"], stdout=subprocess.DEVNULL)


def wait_healthy(client: Any, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not client.health():
        if time.time() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.05)


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# -- MLflow, in its own venv -----------------------------------------------------------------------------------

MLFLOW_SCRIPT = textwrap.dedent(
    """
    import json, os, statistics, sys, time, warnings
    warnings.filterwarnings("ignore")
    import mlflow

    path, repeats = sys.argv[1], int(sys.argv[2])
    mlflow.set_experiment("spanscope-bench")
    kinds = {"llm": "LLM", "tool": "TOOL", "db": "RETRIEVER", "chain": "CHAIN"}
    t0 = time.perf_counter()
    ids, qualities = [], []
    for line in open(path):
        item = json.loads(line)
        spans = item["spans"]
        root, children = spans[0], spans[1:]
        with mlflow.start_span(name=root["name"], span_type="CHAIN") as rs:
            rs.set_inputs(root["inputs"])
            rs.set_attributes(root["attributes"])
            by_id = {}
            for c in children:
                with mlflow.start_span(name=c["name"], span_type=kinds.get(c["kind"], "UNKNOWN")) as s:
                    s.set_inputs(c["inputs"])
                    s.set_attributes(c["attributes"])
                    s.set_outputs(c["outputs"])
                    if c["status"] == "ERROR":
                        s.set_status("ERROR")
            rs.set_outputs(root["outputs"])
            mlflow.update_current_trace(tags={k: str(v) for k, v in item["info"]["tags"].items()})
            ids.append(rs.trace_id)
            qualities.append(item["info"]["tags"]["quality_score"])
    if hasattr(mlflow, "flush_trace_async_logging"):
        mlflow.flush_trace_async_logging()
    for tid, q in zip(ids, qualities):
        mlflow.log_feedback(trace_id=tid, name="quality_score", value=float(q))
    load_s = time.perf_counter() - t0
    exp = mlflow.get_experiment_by_name("spanscope-bench").experiment_id

    def timed(fn):
        fn()
        ts = []
        for _ in range(repeats):
            a = time.perf_counter(); fn(); ts.append((time.perf_counter() - a) * 1000)
        return statistics.median(ts)

    def latency_by_name():
        traces = mlflow.search_traces(locations=[exp], max_results=len(ids) + 10, return_type="list")
        by = {}
        for t in traces:
            for s in t.data.spans:
                by.setdefault(s.name, []).append((s.end_time_ns - s.start_time_ns) / 1e6)
        return {n: statistics.quantiles(v, n=100) for n, v in by.items() if len(v) > 1}

    it = iter(ids * (repeats + 2))
    out = {"traces": len(ids), "load_s": load_s, "ms": {}}
    out["ms"]["get_trace"] = timed(lambda: mlflow.get_trace(next(it)))
    out["ms"]["seed"] = timed(lambda: mlflow.search_traces(
        locations=[exp], filter_string="feedback.quality_score < 0.7", max_results=100))
    out["ms"]["substring"] = timed(lambda: mlflow.search_traces(
        locations=[exp], filter_string="trace.text LIKE '%refund%'", max_results=100))
    out["ms"]["latency_by_name"] = timed(latency_by_name)
    print("RESULT " + json.dumps(out))
    """
)


def run_mlflow(python: str, n_traces: int, repeats: int, work: str) -> dict[str, Any] | None:
    """Load the first ``n_traces`` traces into MLflow (sqlite store) and time its searches; None if unavailable."""
    if not Path(python).exists():
        print(
            f"MLflow: {python} not found; create it with: python3 -m venv /tmp/mlflow-venv && "
            "/tmp/mlflow-venv/bin/pip install mlflow"
        )
        return None
    data = Path(work) / "mlflow-input.jsonl"
    with open(data, "w") as f:
        for spans, info, _ in generate(n_traces):
            f.write(json.dumps({"spans": spans, "info": info}) + "\n")
    script = Path(work) / "mlflow_bench.py"
    script.write_text(MLFLOW_SCRIPT)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{Path(work).resolve()}/mlflow.db",
        "MLFLOW_ENABLE_ASYNC_TRACE_LOGGING": "false",
        "PYTHONWARNINGS": "ignore",
    }
    proc = subprocess.run(
        [python, str(script), str(data), str(repeats)], capture_output=True, text=True, env=env, cwd=work
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    print("MLflow run failed:\n" + proc.stderr[-3000:])
    return None


# -- main -----------------------------------------------------------------------------------------------------

TARGETS = {
    "get_trace": 10,
    "seed": 100,
    "latency_by_name": 50,
    "percentile_predicate": 300,
    "substring": 300,
    "compare": 1000,
}


def disk_usage(db_file: Path) -> tuple[int, int]:
    """File size and bytes in used blocks (the rest are free blocks later writes reuse)."""
    import duckdb

    con = duckdb.connect(str(db_file), read_only=True)
    try:
        used, block = con.execute("SELECT used_blocks, block_size FROM pragma_database_size()").fetchone()
    finally:
        con.close()
    return db_file.stat().st_size, int(used) * int(block)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=200_000, help="chatbot turns (5 spans each)")
    ap.add_argument("--batch", type=int, default=5000, help="spans per ingest request")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--mlflow-traces", type=int, default=2000, help="0 skips MLflow")
    ap.add_argument("--mlflow-python", default="/tmp/mlflow-venv/bin/python")
    ap.add_argument("--keep", help="keep the data directory here (default: a temporary one)")
    args = ap.parse_args()

    from spanscope.analysis import compare, latency
    from spanscope.client import Client

    work = args.keep or tempfile.mkdtemp(prefix="spanscope-bench-")
    data_dir = os.path.join(work, "data")
    n_spans = args.traces * 5
    port = free_port()
    client = Client(f"http://127.0.0.1:{port}", project="bench", timeout=600)
    proc = start_server(data_dir, port)
    try:
        wait_healthy(client)
        print(f"loading {args.traces:,} traces ({n_spans:,} spans) through POST /api/v1/ingest ...", flush=True)
        secs, sent = post_all(port, "bench", bodies(args.traces, args.batch))
        print(f"  {sent:,} spans in {secs:.1f} s ({sent / secs:,.0f} spans/s, generator in the same process)")
    finally:
        proc.terminate()  # a clean stop checkpoints the database
        proc.wait(120)
    size, used = disk_usage(Path(data_dir) / "spanscope.duckdb")
    results: dict[str, float] = {}
    print(
        f"disk: {size / n_spans:.0f} bytes/span file ({size / 1e6:.0f} MB), "
        f"{used / n_spans:.0f} bytes/span in used blocks"
    )
    results["disk_bytes_per_span"] = size / n_spans

    proc = start_server(data_dir, port)
    try:
        wait_healthy(client)
        some = list(client.search_traces(None, max_results=1000)["trace_id"])
        cycle = itertools.cycle(random.Random(3).sample(some, min(len(some), 200)))
        seed_filter = "tag.quality_score < 0.7 AND span.attributes.usage.total_tokens > 1000"
        queries: dict[str, tuple[str, Callable[[], Any]]] = {
            "get_trace": ("get_trace (5 spans)", lambda: client.get_trace(next(cycle))),
            "seed": (
                f"seed: {seed_filter}, 100 rows, 3 extract_fields",
                lambda: client.search_traces(
                    seed_filter,
                    max_results=100,
                    extract_fields=[
                        "span.inputs.messages",
                        "span.outputs.choices",
                        "span.attributes.usage.total_tokens",
                    ],
                ),
            ),
            "latency_by_name": (
                "p50/p90/p95/p99 + errors by span name over all 1M spans",
                lambda: latency(by="span.name", client=client),
            ),
            "percentile_predicate": (
                "(span.name = 'db.query' AND span.duration_ms >= p95) OR span.status = 'ERROR', 100 rows",
                lambda: client.search_traces(
                    "(span.name = 'db.query' AND span.duration_ms >= p95) OR span.status = 'ERROR'", max_results=100
                ),
            ),
            "substring": (
                "span.inputs ILIKE '%refund%', newest 100 traces",
                lambda: client.search_traces("span.inputs ILIKE '%refund%'", max_results=100),
            ),
            "substring_count": (
                "span.inputs ILIKE '%refund%', count every match (full scan)",
                lambda: client.count("span.inputs ILIKE '%refund%'"),
            ),
            "compare": (
                "compare('tag.quality_score < 0.5', 'tag.quality_score >= 0.8')",
                lambda: compare("tag.quality_score < 0.5", "tag.quality_score >= 0.8", client=client),
            ),
        }
        print(f"\nqueries through the Python client, median of {args.repeats} after a warm-up:")
        for key, (title, fn) in queries.items():
            ms = median_ms(fn, args.repeats)
            results[key] = ms
            target = TARGETS.get(key)
            verdict = "" if target is None else f"  (target <= {target} ms: {'ok' if ms <= target else 'MISSED'})"
            print(f"  {title}: {ms:.1f} ms{verdict}", flush=True)
        print(
            f"  disk: {results['disk_bytes_per_span']:.0f} bytes/span (target <= 250: "
            f"{'ok' if results['disk_bytes_per_span'] <= 250 else 'MISSED'})"
        )
    finally:
        proc.terminate()
        proc.wait(120)

    if args.mlflow_traces:
        print(f"\nMLflow {args.mlflow_traces:,} traces (sqlite store, its own venv) ...", flush=True)
        peer = run_mlflow(args.mlflow_python, args.mlflow_traces, args.repeats, work)
        if peer:
            print(f"  loaded {peer['traces']:,} traces in {peer['load_s']:.0f} s")
            names = {
                "get_trace": "get_trace",
                "seed": "seed (MLflow: feedback.quality_score < 0.7; no numeric attribute filter)",
                "substring": "substring (MLflow: trace.text LIKE '%refund%')",
                "latency_by_name": "p50..p99 by span name (MLflow: fetch all traces, compute in Python)",
            }
            print(
                f"  ratios MLflow on {peer['traces']:,} traces / spanscope on {args.traces:,} traces "
                f"({args.traces / peer['traces']:.0f}x more data):"
            )
            for key, title in names.items():
                theirs, ours = peer["ms"][key], results[key]
                print(f"    {title}: {theirs:.1f} ms vs {ours:.1f} ms = {theirs / ours:.1f}x")
            print("    percentile predicate, compare: not expressible in MLflow")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
