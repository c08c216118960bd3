"""Ingest throughput of a real `spanscope serve` (native JSON and OTLP protobuf), time until queryable,
beside the raw engine and, with --phoenix, Arize Phoenix on the same OTLP load, all in one run.

    .venv/bin/python bench/ingest.py [--traces 40000] [--batch 1000] [--senders 2] [--phoenix]

1. Generates chatbot-like traces (5 spans each, ~300 B inputs / ~450 B outputs, typed attributes) with a
   seeded generator, pre-encoded as native JSON bodies and as OTLP protobuf bodies (OpenInference + GenAI
   attributes), so the load generator's own cost is small. This process is the load generator; every
   server runs in its own process and is driven over loopback.
2. Raw engine: the same spans written straight into DuckDB (same schema, Arrow batches of the same size,
   one transaction each): what the engine alone does.
3. spanscope, native JSON then OTLP protobuf (fresh server each): spans/s from the first request to the last
   2xx (429s are retried after their Retry-After, as a client should), then the time until the last trace
   is searchable.
4. --phoenix: `phoenix serve` (its own venv, /tmp/phoenix-venv, created on first use) on the same OTLP
   bodies; spans/s accepted and the time until all spans are in its database; ratio printed.
5. A few search latencies through the Python client (median of 7) on the native-loaded store.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

PHOENIX_VENV = Path("/tmp/phoenix-venv")


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


def to_otlp_bodies(spans: list[dict], batch: int) -> list[bytes]:
    """The same spans as OTLP ExportTraceServiceRequest protobuf bodies (OpenInference + GenAI keys)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
    from opentelemetry.proto.trace.v1.trace_pb2 import Status

    kinds = {"llm": "LLM", "tool": "TOOL", "db": "TOOL", "chain": "CHAIN"}

    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, bool):
            return KeyValue(key=key, value=AnyValue(bool_value=value))
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    bodies = []
    for k in range(0, len(spans), batch):
        req = ExportTraceServiceRequest()
        rs = req.resource_spans.add()
        rs.resource.attributes.extend([kv("service.name", "bench"), kv("openinference.project.name", "bench")])
        ss = rs.scope_spans.add()
        ss.scope.name = "bench"
        for s in spans[k : k + batch]:
            attrs = [kv(a, v) for a, v in s["attributes"].items()]
            attrs.append(kv("openinference.span.kind", kinds[s["kind"]]))
            attrs.append(kv("input.value", json.dumps(s["inputs"])))
            attrs.append(kv("input.mime_type", "application/json"))
            attrs.append(kv("output.value", json.dumps(s["outputs"])))
            attrs.append(kv("output.mime_type", "application/json"))
            if s["kind"] == "llm":
                attrs.append(kv("llm.model_name", "gpt-4o-mini"))
                attrs.append(kv("llm.token_count.total", s["attributes"]["usage.total_tokens"]))
            ss.spans.append(
                PbSpan(
                    trace_id=bytes.fromhex(s["trace_id"]),
                    span_id=bytes.fromhex(s["span_id"]),
                    parent_span_id=bytes.fromhex(s["parent_span_id"]) if s.get("parent_span_id") else b"",
                    name=s["name"],
                    kind=PbSpan.SPAN_KIND_INTERNAL,
                    start_time_unix_nano=s["start_time_ns"],
                    end_time_unix_nano=s["end_time_ns"],
                    attributes=attrs,
                    status=Status(code=Status.STATUS_CODE_OK),
                )
            )
        bodies.append(req.SerializeToString())
    return bodies


def bench_raw_duckdb(spans: list[dict], batch: int) -> float:
    """The engine alone: the same rows appended to a plain DuckDB table from Arrow, one transaction each."""
    import duckdb
    import pyarrow as pa

    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(os.path.join(d, "raw.duckdb"))
        con.execute(
            "CREATE TABLE spans (project VARCHAR, trace_id VARCHAR, span_id VARCHAR, parent_span_id VARCHAR, "
            "name VARCHAR, kind VARCHAR, start_time_ns BIGINT, end_time_ns BIGINT, duration_ms DOUBLE, "
            "status VARCHAR, status_message VARCHAR, attributes JSON, inputs JSON, outputs JSON, events JSON)"
        )
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
            con.execute("INSERT INTO spans SELECT * FROM b")
            con.unregister("b")
            con.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        con.close()
    return len(spans) / elapsed


def post_all(
    port: int, bodies: list[bytes], senders: int, path: str = "/api/v1/ingest", content_type: str = "application/json"
) -> tuple[float, int]:
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
                    path,
                    body=bodies[i],
                    headers={"Content-Type": content_type, "X-Spanscope-Project": "bench"},
                )
                r = conn.getresponse()
                r.read()
                if r.status != 429:
                    break
                with lock:
                    throttled[0] += 1
                time.sleep(float(r.getheader("Retry-After") or 0.5))
            if r.status not in (200, 202):
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start")


def start_spanscope(data_dir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "spanscope.cli.main", "serve", "--port", str(port), "--data-dir", data_dir,
         "--log-level", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_http(port, "/healthz")
    return proc, port


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> set[int]:
    """``pid`` and its descendants (the server, its OTLP decode pool and the pool's forkserver)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    tree = {pid}
    while True:
        more = {p for p, pp in parents.items() if pp in tree and p not in tree}
        if not more:
            return tree
        tree |= more


def run_spanscope(bodies: list[bytes], n_spans: int, last_trace: str, senders: int, otlp: bool) -> dict:
    """Load ``bodies`` into a fresh server. Besides the rates, reports the CPU the server's processes used per
    span (its own process, and its OTLP decode workers): a figure the machine's noise moves much less."""
    from spanscope.client import Client

    with tempfile.TemporaryDirectory() as d:
        proc, port = start_spanscope(d)
        try:
            path, ctype = ("/v1/traces", "application/x-protobuf") if otlp else ("/api/v1/ingest", "application/json")
            # The first body unmeasured: it starts the OTLP decode pool (a process start and its imports).
            post_all(port, bodies[:1], 1, path, ctype)
            n_spans -= round(n_spans / len(bodies))
            before = {p: _cpu_seconds(p) for p in _process_tree(proc.pid)}
            elapsed, failures = post_all(port, bodies[1:], senders, path, ctype)
            t_ack = time.perf_counter()
            client = Client(f"http://127.0.0.1:{port}", project="bench")
            while len(client.search_traces(f"trace.id = '{last_trace}'")) == 0 and time.perf_counter() - t_ack < 30:
                time.sleep(0.001)
            queryable_ms = (time.perf_counter() - t_ack) * 1000
            used = {p: _cpu_seconds(p) - before.get(p, 0.0) for p in _process_tree(proc.pid)}
            out = {
                "rate": n_spans / elapsed,
                "failures": failures,
                "queryable_ms": queryable_ms,
                "server_cpu_us": used.pop(proc.pid) / n_spans * 1e6,
                "workers_cpu_us": sum(used.values()) / n_spans * 1e6,
            }
            if not otlp:
                out["searches"] = searches(client)
            return out
        finally:
            proc.terminate()
            proc.wait(30)


def _cpu_text(r: dict) -> str:
    text = f"server CPU {r['server_cpu_us']:.1f} µs/span"
    if r["workers_cpu_us"]:
        text += f" + decode workers {r['workers_cpu_us']:.1f} µs/span"
    return text


def searches(client) -> dict[str, float]:  # noqa: ANN001
    some = client.search_traces(None, max_results=1)["trace_id"].iloc[0]
    queries = {
        "get_trace (5 spans)": lambda: client.get_trace(some),
        "seed: tag.quality_score < 0.7, 100 rows, 3 extract_fields": lambda: client.search_traces(
            "tag.quality_score < 0.7",
            extract_fields=["span.inputs.messages", "span.outputs.choices", "span.attributes.usage.total_tokens"],
        ),
        "span predicate: db.query AND duration > 50 ms": lambda: client.search_traces(
            "span.name = 'db.query' AND span.duration_ms > 50"
        ),
        "substring: span.inputs ILIKE '%refund%'": lambda: client.search_traces("span.inputs ILIKE '%refund%'"),
    }
    return {title: median_ms(fn) for title, fn in queries.items()}


def ensure_phoenix() -> Path:
    exe = PHOENIX_VENV / "bin" / "phoenix"
    if not exe.exists():
        print("installing arize-phoenix into /tmp/phoenix-venv (first use) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PHOENIX_VENV)], check=True)
        subprocess.run([str(PHOENIX_VENV / "bin" / "pip"), "install", "-q", "arize-phoenix"], check=True)
    return exe


def run_phoenix(bodies: list[bytes], n_spans: int, senders: int, timeout: float) -> dict:
    exe = ensure_phoenix()
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        env = {**os.environ, "PHOENIX_WORKING_DIR": d, "PHOENIX_PORT": str(port), "PHOENIX_GRPC_PORT": str(free_port()),
               "PHOENIX_HOST": "127.0.0.1", "PHOENIX_TELEMETRY_ENABLED": "false"}  # fmt: skip
        proc = subprocess.Popen([str(exe), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_http(port, "/healthz", timeout=180)
            elapsed, failures = post_all(port, bodies, senders, "/v1/traces", "application/x-protobuf")
            t_ack = time.perf_counter()
            db = Path(d) / "phoenix.db"
            stored = 0
            while time.perf_counter() - t_ack < timeout:
                try:
                    with sqlite3.connect(db) as c:
                        stored = c.execute("SELECT count(*) FROM spans").fetchone()[0]
                except sqlite3.Error:
                    stored = 0
                if stored >= n_spans:
                    break
                time.sleep(0.5)
            queryable_s = time.perf_counter() - t_ack
            return {"rate": n_spans / elapsed, "failures": failures, "stored": stored,
                    "queryable_ms": queryable_s * 1000, "persisted_rate": stored / (elapsed + queryable_s)}  # fmt: skip
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traces", type=int, default=40_000)
    ap.add_argument("--batch", type=int, default=1000, help="spans per request / raw insert")
    ap.add_argument("--senders", type=int, default=2)
    ap.add_argument("--phoenix", action="store_true", help="also run Arize Phoenix on the same OTLP load")
    ap.add_argument("--only", choices=["native", "otlp"], help="run spanscope with this protocol only (no raw engine)")
    ap.add_argument("--phoenix-traces", type=int, default=2000, help="traces sent to Phoenix (it is slow)")
    args = ap.parse_args()

    print(f"generating {args.traces} traces ...", flush=True)
    bodies, spans, n_spans = gen_bodies(args.traces, args.batch)
    otlp_bodies = to_otlp_bodies(spans, args.batch)
    last_trace = spans[-1]["trace_id"]
    print(f"{n_spans} spans: {sum(map(len, bodies)) / 1e6:.1f} MB native JSON, "
          f"{sum(map(len, otlp_bodies)) / 1e6:.1f} MB OTLP protobuf, {args.batch} spans per request")  # fmt: skip

    if args.only:
        r = run_spanscope(otlp_bodies if args.only == "otlp" else bodies, n_spans, last_trace, args.senders,
                          otlp=args.only == "otlp")  # fmt: skip
        print(
            f"spanscope {args.only}, {args.senders} senders: {r['rate']:,.0f} spans/s acknowledged "
            f"({r['failures']} failed); last trace searchable {r['queryable_ms']:.0f} ms after the last 2xx; "
            f"{_cpu_text(r)}"
        )
        return
    raw_rate = bench_raw_duckdb(spans, args.batch)
    print(f"raw DuckDB (Arrow batches of {args.batch}, plain append, in-process): {raw_rate:,.0f} spans/s")
    native = run_spanscope(bodies, n_spans, last_trace, args.senders, otlp=False)
    print(f"spanscope native JSON, {args.senders} senders: {native['rate']:,.0f} spans/s acknowledged "
          f"({native['failures']} failed); last trace searchable {native['queryable_ms']:.0f} ms after the last 2xx; "
          f"{native['rate'] / raw_rate:.2f}x the raw engine; {_cpu_text(native)}")  # fmt: skip
    otlp = run_spanscope(otlp_bodies, n_spans, last_trace, args.senders, otlp=True)
    print(
        f"spanscope OTLP protobuf, {args.senders} senders: {otlp['rate']:,.0f} spans/s acknowledged "
        f"({otlp['failures']} failed); last trace searchable {otlp['queryable_ms']:.0f} ms after the last 2xx; "
        f"{_cpu_text(otlp)}"
    )
    for title, ms in native["searches"].items():
        print(f"  search {title}: {ms:.1f} ms (median of 7)")
    if args.phoenix:
        n_px = min(args.phoenix_traces, args.traces)
        px_spans = spans[: n_px * 5]
        px_bodies = to_otlp_bodies(px_spans, args.batch)
        px = run_phoenix(px_bodies, len(px_spans), args.senders, timeout=900)
        print(f"Phoenix OTLP protobuf, {len(px_spans)} spans: {px['rate']:,.0f} spans/s accepted "
              f"({px['failures']} failed); {px['stored']} stored {px['queryable_ms'] / 1000:.1f} s after the last "
              f"response; persisted {px['persisted_rate']:,.0f} spans/s")  # fmt: skip
        print(
            f"ratio spanscope/Phoenix (OTLP): accepted {otlp['rate'] / px['rate']:.1f}x, "
            f"queryable throughput {otlp['rate'] / max(px['persisted_rate'], 1e-9):.0f}x"
        )


if __name__ == "__main__":
    main()
