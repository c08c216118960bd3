"""Ingest throughput and search latency of a real `spanscope serve`, beside the raw engine in the same run.

    .venv/bin/python bench/ingest_search.py [--traces 20000] [--batch 1000] [--senders 2]

1. Generates chatbot-like traces (5 spans each, ~300 B inputs / ~450 B outputs, typed attributes) with a
   seeded generator, pre-encoded as native ingest bodies (so the load generator's cost is small).
2. Raw engine: the same spans written straight into DuckDB (same schema, Arrow batches of the same size,
   one transaction each): the ceiling for any server on this engine.
3. spanscope: `spanscope serve` in its own process on loopback; `--senders` threads POST the bodies;
   spans/s counted from the first request to the last 2xx; then time until all spans are searchable.
4. Search latency through the Python client (median of repeats) for the seed's queries.
Prints the ratio spanscope / raw engine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def gen_bodies(n_traces: int, batch: int, seed: int = 1) -> tuple[list[bytes], list[dict], int]:
    rng = random.Random(seed)
    t0 = time.time_ns() - 3 * 86400 * 10**9
    spans: list[dict] = []
    traces: list[dict] = []
    for i in range(n_traces):
        trace_id = f"{rng.getrandbits(128):032x}"
        root = f"{rng.getrandbits(64):016x}"
        start = t0 + i * 10_000_000
        question = f"Where is my order A{rng.randint(10000, 99999)}? " + rng.choice(
            ("It is late.", "I want a refund.", "Please hurry.", "Thanks!")
        )
        msgs = [
            {"role": "system", "content": "You are a helpful support assistant. " * 4},
            {"role": "user", "content": question},
        ]
        tokens = rng.randint(300, 2500)
        names = ("llm.generate", "llm.tools.get_order", "db.query", "llm.generate_final")
        kinds = ("llm", "tool", "db", "llm")
        parents = (root, root, None, root)
        ids = [f"{rng.getrandbits(64):016x}" for _ in names]
        t = start
        children = []
        for j, (name, kind) in enumerate(zip(names, kinds, strict=True)):
            dur = int(rng.lognormvariate(0, 0.5) * (600 if kind == "llm" else 30) * 1e6)
            parent = parents[j] or ids[1]
            children.append(
                {
                    "trace_id": trace_id,
                    "span_id": ids[j],
                    "parent_span_id": parent,
                    "name": name,
                    "kind": kind,
                    "start_time_ns": t,
                    "end_time_ns": t + dur,
                    "status": "OK",
                    "attributes": {
                        "gen_ai.request.model": "gpt-4o-mini",
                        "usage.total_tokens": tokens // 2,
                        "session.id": f"s{i % 500}",
                        "retry": 0,
                        "region": "eu",
                    },
                    "inputs": {"messages": msgs} if kind == "llm" else {"order_id": "A1"},
                    "outputs": {
                        "choices": [{"message": {"role": "assistant", "content": "Your order ships today. " * 8}}]
                    }
                    if kind == "llm"
                    else {"rows": 1},
                }
            )
            t += dur
        spans.append(
            {
                "trace_id": trace_id,
                "span_id": root,
                "name": "chatbot.turn",
                "kind": "chain",
                "start_time_ns": start,
                "end_time_ns": t + 1000,
                "status": "OK",
                "attributes": {"usage.total_tokens": tokens},
                "inputs": {"messages": msgs},
                "outputs": {"response": "Your order ships today."},
            }
        )
        spans.extend(children)
        traces.append({"trace_id": trace_id, "tags": {"quality_score": round(rng.betavariate(5, 2), 3)}})
    bodies = []
    per_trace = 5
    tpb = max(1, batch // per_trace)
    for k in range(0, n_traces, tpb):
        body = {"spans": spans[k * per_trace : (k + tpb) * per_trace], "traces": traces[k : k + tpb]}
        bodies.append(json.dumps(body).encode())
    return bodies, spans, len(spans)


def bench_raw_duckdb(spans: list[dict], batch: int) -> float:
    import duckdb
    import pyarrow as pa

    sys.path.insert(0, str(HERE.parent / "src"))
    from spanscope.store.schema import MIGRATIONS

    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(os.path.join(d, "raw.duckdb"))
        for stmt in (s for stmts in MIGRATIONS.values() for s in stmts):
            con.execute(stmt)
        t0 = time.perf_counter()
        for k in range(0, len(spans), batch):
            chunk = spans[k : k + batch]
            tbl = pa.table(
                {
                    "project": ["bench"] * len(chunk),
                    "trace_id": [s["trace_id"] for s in chunk],
                    "span_id": [s["span_id"] for s in chunk],
                    "parent_span_id": [s.get("parent_span_id") for s in chunk],
                    "name": [s["name"] for s in chunk],
                    "kind": [s["kind"] for s in chunk],
                    "start_time_ns": [s["start_time_ns"] for s in chunk],
                    "end_time_ns": [s["end_time_ns"] for s in chunk],
                    "duration_ms": [(s["end_time_ns"] - s["start_time_ns"]) / 1e6 for s in chunk],
                    "status": [s["status"] for s in chunk],
                    "status_message": [None] * len(chunk),
                    "attributes": [json.dumps(s["attributes"]) for s in chunk],
                    "inputs": [json.dumps(s["inputs"]) for s in chunk],
                    "outputs": [json.dumps(s["outputs"]) for s in chunk],
                    "events": [None] * len(chunk),
                }
            )
            con.execute("BEGIN")
            con.register("b", tbl)
            con.execute("INSERT OR REPLACE INTO spans SELECT * FROM b")
            con.unregister("b")
            con.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        con.close()
    return len(spans) / elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_all(port: int, bodies: list[bytes], senders: int) -> tuple[float, int]:
    idx = iter(range(len(bodies)))
    lock = threading.Lock()
    failures = [0]
    throttled = [0]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = next(idx, None)
            if i is None:
                break
            while True:
                conn.request(
                    "POST",
                    "/api/v1/ingest",
                    body=bodies[i],
                    headers={"Content-Type": "application/json", "X-Spanscope-Project": "bench"},
                )
                r = conn.getresponse()
                r.read()
                if r.status != 429:
                    break
                with lock:
                    throttled[0] += 1
                time.sleep(float(r.getheader("Retry-After") or 0.5))
            if r.status != 200:
                failures[0] += 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(senders)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if throttled[0]:
        print(f"  ({throttled[0]} requests were answered 429 and retried after Retry-After)")
    return time.perf_counter() - t0, failures[0]


def median_ms(fn, repeats: int = 7) -> float:  # noqa: ANN001
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=1000, help="spans per request / raw insert")
    ap.add_argument("--senders", type=int, default=2)
    args = ap.parse_args()

    print(f"generating {args.traces} traces ...", flush=True)
    bodies, spans, n_spans = gen_bodies(args.traces, args.batch)
    mb = sum(len(b) for b in bodies) / 1e6
    print(f"{n_spans} spans in {len(bodies)} bodies ({mb:.1f} MB JSON)")

    raw_rate = bench_raw_duckdb(spans, args.batch)
    print(f"raw DuckDB (Arrow batches of {args.batch}, INSERT OR REPLACE): {raw_rate:,.0f} spans/s")

    sys.path.insert(0, str(HERE.parent / "src"))
    from spanscope.client import Client

    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "spanscope.cli.main",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                d,
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = Client(f"http://127.0.0.1:{port}", project="bench")
            deadline = time.time() + 30
            while not client.health():
                if time.time() > deadline:
                    raise SystemExit("server did not start")
                time.sleep(0.05)
            elapsed, failures = post_all(port, bodies, args.senders)
            rate = n_spans / elapsed
            t_ack = time.perf_counter()
            last = spans[-1]["trace_id"]
            while len(client.search_traces(f"trace.id = '{last}'")) == 0 and time.perf_counter() - t_ack < 30:
                time.sleep(0.001)
            queryable_s = time.perf_counter() - t_ack
            print(
                f"spanscope serve, native JSON over loopback, {args.senders} senders: {rate:,.0f} spans/s "
                f"({failures} failed requests); ratio to raw engine {rate / raw_rate:.2f}x"
            )
            print(f"last trace searchable {queryable_s * 1000:.1f} ms after the last 2xx (one search round trip)")
            some = client.search_traces(None, max_results=1)["trace_id"].iloc[0]
            queries = {
                "get_trace (5 spans)": lambda: client.get_trace(some),
                "seed: tag.quality_score < 0.7, 100 rows, 3 extract_fields": lambda: client.search_traces(
                    "tag.quality_score < 0.7",
                    extract_fields=[
                        "span.inputs.messages",
                        "span.outputs.choices",
                        "span.attributes.usage.total_tokens",
                    ],
                ),
                "span predicate: db.query AND duration > 50 ms, 100 rows": lambda: client.search_traces(
                    "span.name = 'db.query' AND span.duration_ms > 50"
                ),
                "tag + span attribute: quality < 0.5 AND tokens > 1000": lambda: client.search_traces(
                    "tag.quality_score < 0.5 AND span.attributes.usage.total_tokens > 1000"
                ),
                "substring: span.inputs ILIKE '%refund%', 100 rows": lambda: client.search_traces(
                    "span.inputs ILIKE '%refund%'"
                ),
            }
            for title, fn in queries.items():
                print(f"  {title}: {median_ms(fn):.1f} ms (median of 7)")
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
