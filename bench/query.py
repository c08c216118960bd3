"""Query speed through a running server: 1M spans / 200k traces on DuckDB (issue 5), 10M spans on chDB beside
DuckDB (issue 9), and MLflow's search_traces beside it.

    .venv/bin/python bench/query.py [--traces 200000 | --spans N] [--store duckdb:// | chdb:// | URL]
                                    [--compare duckdb://|none] [--repeats 7] [--mlflow-traces 2000]
                                    [--mlflow-python /tmp/mlflow-venv/bin/python] [--keep DIR [--reuse]]
    .venv/bin/python bench/query.py --store chdb:// --spans 10000000       # issue 9: chDB and DuckDB

1. Generates a seeded customer-service chatbot workload (the seed's example): every turn is a
   ``chatbot.turn`` trace with ``llm.generate`` -> ``llm.tools.<tool>`` -> ``db.query`` -> ``llm.generate_final``
   (5 spans), typed GenAI attributes (model, tokens, cost), prose-like inputs/outputs (zipf vocabulary, sized
   like the storage anchor's data: ~270 B inputs and ~500 B outputs per span on average), tags
   (quality_score, model, channel, app.version), and a ``user_thumbs_up`` finding on 30% of turns. The
   ingest bodies (``--batch`` spans each) are streamed gzipped into a spool file, once for every engine.
2. For each engine (``--store``, and ``--compare``: DuckDB by default beside any other store) starts
   ``spanscope serve --store …`` in its own process, replays the spool through ``POST /api/v1/ingest``
   (2 senders, ``Content-Encoding: gzip`` as the SDK sends), and records the ingest rate (acknowledged, and
   until the last trace is searchable) and the bytes per span on disk once the server is idle and stopped.
   ClickHouse stores then get ``spanscope compact`` (each closed day of spans in one part, where ClickHouse
   takes a running store an hour after a day's last write; ``--no-compact`` measures right after the load).
3. Starts every engine's server side by side and times each query through the Python client, the engines'
   repeats interleaved (median of ``--repeats`` after a warm-up); prints them beside the issue-5 targets
   (x2 from 5M spans on: "within 2x at 10x the data") and the engines' ratios.
4. With DuckDB alone, loads the first ``--mlflow-traces`` traces into MLflow (its own venv, sqlite store) and
   times its ``search_traces`` on the same questions where MLflow can express them; prints the speed ratios.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from query_workload import NEEDLE_EVERY, Spool, generate, needle  # noqa: E402 - after the path set-up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_all(
    port: int,
    project: str,
    items: Iterator[tuple[bytes, int]],
    senders: int = 2,
    encoding: str | None = None,
    progress: int = 0,
) -> tuple[float, int]:
    """POST every body (retrying on 429 after its Retry-After); returns (seconds, spans sent). Prints the rate
    every ``progress`` spans (0: never)."""
    lock = threading.Lock()
    sent = [0]
    errors: list[str] = []
    headers = {"Content-Type": "application/json", "X-Spanscope-Project": project}
    if encoding:
        headers["Content-Encoding"] = encoding

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                break
            body, n = item
            while True:
                conn.request("POST", "/api/v1/ingest", body=body, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                if resp.status == 429:
                    time.sleep(float(resp.getheader("Retry-After") or 0.5))
                    continue
                if resp.status != 200:
                    errors.append(f"HTTP {resp.status}: {payload[:200]!r}")
                break
            with lock:
                before, sent[0] = sent[0], sent[0] + n
                if progress and before // progress != sent[0] // progress:
                    secs = time.perf_counter() - t0
                    print(f"    {sent[0]:,} spans in {secs:.0f} s ({sent[0] / secs:,.0f} spans/s)", flush=True)
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{len(errors)} ingest requests failed, first: {errors[0]}")
    return time.perf_counter() - t0, sent[0]


def start_server(data_dir: str, port: int, store_url: str | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "spanscope.cli.main", "serve", "--port", str(port), "--data-dir", data_dir]
    if store_url:
        cmd += ["--store", store_url]
    os.makedirs(data_dir, exist_ok=True)
    log = open(os.path.join(data_dir, "server.log"), "ab")  # noqa: SIM115 - the child keeps it
    # No monitor scheduler: its evaluations would run beside the measured work on one engine and not the other.
    env = {**os.environ, "SPANSCOPE_MONITORS_INTERVAL": "0"}
    return subprocess.Popen([*cmd, "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=log, env=env)


def wait_healthy(client: Any, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not client.health():
        if time.time() > deadline:
            raise SystemExit("server did not start")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, window: float = 5.0, busy: float = 0.05, timeout: float = 900) -> float:
    """Wait until the server's process uses under ``busy`` of a core over ``window`` seconds (background
    merges and checkpoints done); returns the seconds waited."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        before = cpu_seconds(pid)
        time.sleep(window)
        if (cpu_seconds(pid) - before) / window < busy:
            break
    return time.perf_counter() - t0


def median_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


# -- engines ---------------------------------------------------------------------------------------------------


@dataclass
class Engine:
    """One store behind its own ``spanscope serve`` process, and what was measured on it."""

    label: str
    store_url: str | None  # None: DuckDB in the data dir
    data_dir: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    load: dict[str, float] = field(default_factory=dict)
    disk: dict[str, float] = field(default_factory=dict)
    ms: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "duckdb" if self.store_url is None or self.store_url.startswith("duckdb:") else "clickhouse"

    def client(self) -> Any:
        from spanscope.client import Client

        return Client(f"http://127.0.0.1:{self.port}", project="bench", timeout=900)

    def start(self) -> Any:
        self.proc = start_server(self.data_dir, self.port, self.store_url)
        client = self.client()
        wait_healthy(client)
        return client

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()  # a clean stop checkpoints DuckDB and lets chDB finish its inserts
            self.proc.wait(600)
            self.proc = None


def engine_for(url: str, work: str) -> Engine:
    """``duckdb://`` (DuckDB in the data dir), ``chdb://`` (chDB in a fresh directory) or a full store URL."""
    data_dir = os.path.join(work, f"data-{url.split(':', 1)[0]}")
    if url in ("duckdb", "duckdb://"):
        return Engine("duckdb", None, data_dir)
    if url in ("chdb", "chdb://"):
        return Engine("chdb", f"chdb://{os.path.join(work, 'chdb')}?database=bench", data_dir)
    return Engine(url.split(":", 1)[0], url, data_dir)


def load_engine(engine: Engine, spool: Spool) -> None:
    """Replay the spool through ``POST /api/v1/ingest`` (2 senders); ingest rates acked and applied."""
    client = engine.start()
    try:
        print(f"[{engine.label}] loading {spool.traces:,} traces ({spool.spans:,} spans) ...", flush=True)
        t0 = time.perf_counter()
        every = 1_000_000 if spool.spans >= 5_000_000 else 0
        secs, sent = post_all(engine.port, "bench", spool.read(), encoding="gzip", progress=every)
        while True:  # applied: the last trace is searchable with all its spans
            try:
                if len(client.get_trace(spool.last_trace_id).spans) == 5:
                    break
            except Exception:  # noqa: BLE001 - 404 until the applier has written it
                if engine.proc is None or engine.proc.poll() is not None:
                    raise SystemExit(f"[{engine.label}] the server exited; see {engine.data_dir}/server.log") from None
            time.sleep(0.05)
        applied = time.perf_counter() - t0
        assert engine.proc is not None
        idle = wait_idle(engine.proc.pid)
        engine.load = {"acked_spans_per_s": sent / secs, "spans_per_s": sent / applied, "seconds": applied}
        engine.load["settle_s"] = idle
        print(
            f"[{engine.label}]   {sent:,} spans acked in {secs:.1f} s ({sent / secs:,.0f} spans/s), all searchable "
            f"after {applied:.1f} s ({sent / applied:,.0f} spans/s); server idle {idle:.0f} s later",
            flush=True,
        )
    finally:
        engine.stop()
    engine.disk = disk_usage(engine)
    print(f"[{engine.label}]   disk: {engine.disk['bytes'] / spool.spans:.0f} B/span ({describe_disk(engine.disk)})")


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

TARGETS = {  # issue 5, at 1M spans
    "get_trace": 10,
    "seed": 100,
    "latency_by_name": 50,
    "percentile_predicate": 300,
    "substring": 300,
    "compare": 1000,
}
DISK_TARGET = 250  # bytes/span, issue 5

PARTS_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[2])
from spanscope.store.clickhouse import executor_from_url
ex = executor_from_url(sys.argv[1])
print(json.dumps(ex.rows(
    "SELECT table, sum(bytes_on_disk), sum(rows), count() FROM system.parts "
    "WHERE database = currentDatabase() AND active GROUP BY table"
)))
"""


def compact_engine(engine: Engine) -> None:
    """ClickHouse: ``spanscope compact`` (server stopped), each closed day merged into one part, the state
    ClickHouse itself reaches an hour after a day's last write (``min_age_to_force_merge_seconds``). The spool's
    days are all closed, so a running store would have merged them; right after the load they have 6-10 parts."""
    if not engine.store_url:
        return
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", "import sys; from spanscope.cli.main import main; sys.exit(main(sys.argv[1:]))",
         "compact", "--store", engine.store_url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout  # fmt: skip
    print(f"[{engine.label}] compact: {out.strip().splitlines()[-1]} ({time.perf_counter() - t0:.0f} s)", flush=True)


def du(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def disk_usage(engine: Engine) -> dict[str, float]:
    """What the store takes on disk. DuckDB: the file and the bytes in its used blocks (the rest are free
    blocks later writes reuse). ClickHouse: the active parts of the store's database (read by a separate
    process: chDB allows one process per data path) and, for chDB, the whole directory."""
    if engine.kind == "duckdb":
        import duckdb

        db_file = Path(unquote(urlsplit(engine.store_url).path) if engine.store_url else engine.data_dir)
        db_file = db_file / "spanscope.duckdb"
        con = duckdb.connect(str(db_file), read_only=True)
        try:
            used, block = con.execute("SELECT used_blocks, block_size FROM pragma_database_size()").fetchone()
        finally:
            con.close()
        return {"bytes": db_file.stat().st_size, "used_blocks_bytes": int(used) * int(block)}
    assert engine.store_url is not None
    out = subprocess.run(
        [sys.executable, "-c", PARTS_SCRIPT, engine.store_url, str(HERE.parent / "src")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tables = {name: (int(size), int(rows), int(parts)) for name, size, rows, parts in json.loads(out.splitlines()[-1])}
    disk: dict[str, float] = {"bytes": sum(v[0] for v in tables.values())}
    disk["spans_data_bytes"] = tables.get("spans_data", (0, 0, 0))[0]
    disk["parts"] = sum(v[2] for v in tables.values())
    if engine.store_url.startswith("chdb://"):
        disk["directory_bytes"] = du(unquote(urlsplit(engine.store_url).path))
    return disk


def describe_disk(disk: dict[str, float]) -> str:
    if "used_blocks_bytes" in disk:
        return f"file {disk['bytes'] / 1e6:,.0f} MB, {disk['used_blocks_bytes'] / 1e6:,.0f} MB in used blocks"
    text = f"active parts {disk['bytes'] / 1e6:,.0f} MB in {disk['parts']:.0f} parts"
    text += f", spans_data {disk['spans_data_bytes'] / 1e6:,.0f} MB"
    if "directory_bytes" in disk:
        text += f"; directory {disk['directory_bytes'] / 1e6:,.0f} MB"
    return text


def queries(client: Any, trace_ids: list[str], n_spans: int) -> dict[str, tuple[str, Callable[[], Any]]]:
    from spanscope.analysis import compare, latency

    cycle = itertools.cycle(random.Random(3).sample(trace_ids, min(len(trace_ids), 200)))
    seed_filter = "tag.quality_score < 0.7 AND span.attributes.usage.total_tokens > 1000"
    return {
        "get_trace": ("get_trace (5 spans)", lambda: client.get_trace(next(cycle))),
        "seed": (
            f"seed: {seed_filter}, 100 rows, 3 extract_fields",
            lambda: client.search_traces(
                seed_filter,
                max_results=100,
                extract_fields=["span.inputs.messages", "span.outputs.choices", "span.attributes.usage.total_tokens"],
            ),
        ),
        "latency_by_name": (
            f"p50/p90/p95/p99 + errors by span name over all {n_spans:,} spans",
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
        "needle": (
            f"span.inputs ILIKE '%{needle(NEEDLE_EVERY // 2)}%' (a phrase in one trace of {NEEDLE_EVERY:,}), count",
            lambda: client.count(f"span.inputs ILIKE '%{needle(NEEDLE_EVERY // 2)}%'"),
        ),
        "compare": (
            "compare('tag.quality_score < 0.5', 'tag.quality_score >= 0.8')",
            lambda: compare("tag.quality_score < 0.5", "tag.quality_score >= 0.8", client=client),
        ),
    }


def measure(engines: list[Engine], spool: Spool, repeats: int) -> dict[str, str]:
    """Every query on every engine, the engines' servers up side by side and the repeats interleaved (so the
    machine's drift hits them alike): median of ``repeats`` after a warm-up. Returns the queries' titles."""
    sets: dict[str, dict[str, tuple[str, Callable[[], Any]]]] = {}
    try:
        for engine in engines:
            client = engine.start()
            assert engine.proc is not None
            wait_idle(engine.proc.pid, window=2.0)
            sets[engine.label] = queries(client, spool.sample_ids, spool.spans)
        titles = {key: title for key, (title, _) in sets[engines[0].label].items()}
        print(f"\nqueries through the Python client, median of {repeats} after a warm-up, engines interleaved:")
        for key in titles:
            times: dict[str, list[float]] = {e.label: [] for e in engines}
            for engine in engines:
                sets[engine.label][key][1]()  # warm-up
            for _ in range(repeats):
                for engine in engines:
                    t0 = time.perf_counter()
                    sets[engine.label][key][1]()
                    times[engine.label].append((time.perf_counter() - t0) * 1000)
            for engine in engines:
                engine.ms[key] = statistics.median(times[engine.label])
            line = "  ".join(f"{e.label} {e.ms[key]:,.1f} ms" for e in engines)
            print(f"  {titles[key]}: {line}", flush=True)
    finally:
        for engine in engines:
            engine.stop()
    return titles


def report(engines: list[Engine], titles: dict[str, str], n_spans: int, scale: float) -> None:
    """The side-by-side table: each query's limit (issue-5 target x ``scale``), every engine's median and
    its ratio to the limit, and the first engine's time over each other engine's."""
    first, others = engines[0], engines[1:]
    head = ["query", f"limit (issue-5 target x{scale:g})"]
    for e in engines:
        head += [f"{e.label} ms", f"{e.label}/limit"]
    head += [f"{first.label}/{o.label}" for o in others]
    rows = []
    for key, title in titles.items():
        target = TARGETS.get(key)
        limit = target * scale if target else None
        row = [title, f"{limit:,.0f} ms" if limit else "-"]
        for e in engines:
            ms = e.ms[key]
            verdict = "" if limit is None else (" ok" if ms <= limit else " MISSED")
            row += [f"{ms:,.1f}", f"{ms / limit:.2f}x{verdict}" if limit else "-"]
        row += [f"{first.ms[key] / o.ms[key]:.2f}x" for o in others]
        rows.append(row)
    disk = ["disk after the load (B/span)", f"{DISK_TARGET} (per span: not scaled)"]
    for e in engines:
        per_span = e.disk["bytes"] / n_spans
        disk += [f"{per_span:,.0f}", f"{per_span / DISK_TARGET:.2f}x"]
    disk += [f"{first.disk['bytes'] / o.disk['bytes']:.2f}x" for o in others]
    rows.append(disk)
    ingest = ["ingest, all searchable (spans/s)", "-"]
    for e in engines:
        ingest += [f"{e.load['spans_per_s']:,.0f}", "-"]
    ingest += [f"{first.load['spans_per_s'] / o.load['spans_per_s']:.2f}x" for o in others]
    rows.append(ingest)
    acked = ["ingest, acknowledged (spans/s)", "-"]
    for e in engines:
        acked += [f"{e.load['acked_spans_per_s']:,.0f}", "-"]
    acked += [f"{first.load['acked_spans_per_s'] / o.load['acked_spans_per_s']:.2f}x" for o in others]
    rows.append(acked)
    print("\n| " + " | ".join(head) + " |\n|" + " --- |" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    for e in engines:
        print(f"{e.label} disk: {describe_disk(e.disk)}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks that stop the servers
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--traces", type=int, help="chatbot turns, 5 spans each (default 200000)")
    size.add_argument("--spans", type=int, help="spans in all (traces = spans / 5)")
    ap.add_argument("--store", default="duckdb://", help="duckdb:// (default), chdb:// (fresh chDB) or a store URL")
    ap.add_argument(
        "--compare", default=None, help="another store measured side by side (default: duckdb:// when --store is "
        "not DuckDB; 'none' for no other)"
    )  # fmt: skip
    ap.add_argument("--batch", type=int, default=5000, help="spans per ingest request")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scale", type=float, help="limit = issue-5 target x scale (default: 2 from 5M spans on, else 1)")
    ap.add_argument("--mlflow-traces", type=int, help="default 2000 with DuckDB alone, else 0 (skip MLflow)")
    ap.add_argument("--mlflow-python", default="/tmp/mlflow-venv/bin/python")
    ap.add_argument("--keep", help="keep the spool and the stores here (default: a temporary directory)")
    ap.add_argument("--reuse", action="store_true", help="with --keep: reuse its spool and loaded stores")
    ap.add_argument(
        "--no-compact",
        action="store_true",
        help="ClickHouse: measure right after the load, without first merging each closed day into one part",
    )
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()

    n_traces = args.spans // 5 if args.spans else args.traces or 200_000
    urls = [args.store]
    other = args.compare or ("none" if args.store.startswith("duckdb") else "duckdb://")
    if other != "none":
        urls.append(other)
    scale = args.scale or (2.0 if n_traces * 5 >= 5_000_000 else 1.0)
    mlflow_traces = args.mlflow_traces if args.mlflow_traces is not None else (2000 if len(urls) == 1 else 0)
    work = args.keep or tempfile.mkdtemp(prefix="spanscope-bench-")
    os.makedirs(work, exist_ok=True)
    state_file = Path(work) / "state.json"
    state = json.loads(state_file.read_text()) if args.reuse and state_file.exists() else {}
    wanted = {"traces": n_traces, "batch": args.batch}
    if state.get("workload") != wanted:
        state = {"workload": wanted}

    engines = [engine_for(url, work) for url in urls]
    if "spool" in state:
        spool = Spool(Path(state["spool"]["path"]), **{k: v for k, v in state["spool"].items() if k != "path"})
        print(f"reusing the spool in {spool.path}: {spool.spans:,} spans")
    else:
        print(f"generating {n_traces:,} traces ({n_traces * 5:,} spans) into a gzipped spool ...", flush=True)
        t0 = time.perf_counter()
        spool = Spool.write(Path(work) / "spool.bin", n_traces, args.batch)
        print(
            f"  {spool.spans:,} spans in {time.perf_counter() - t0:.0f} s ({spool.raw_bytes / spool.spans:,.0f} B/span "
            f"of JSON, {spool.path.stat().st_size / spool.spans:,.0f} B/span gzipped)",
            flush=True,
        )
        state["spool"] = {k: v for k, v in asdict(spool).items()} | {"path": str(spool.path)}
        state_file.write_text(json.dumps(state))
    loaded = state.setdefault("loaded", {})
    for engine in engines:
        key = engine.store_url or "duckdb"
        if key in loaded:
            engine.load, engine.disk = loaded[key]["load"], loaded[key]["disk"]
            print(f"[{engine.label}] reusing the loaded store ({engine.load['spans_per_s']:,.0f} spans/s at load)")
            continue
        for stale in (engine.data_dir, os.path.join(work, "chdb") if engine.label == "chdb" else None):
            if stale:
                shutil.rmtree(stale, ignore_errors=True)
        load_engine(engine, spool)
        loaded[key] = {"load": engine.load, "disk": engine.disk}
        state_file.write_text(json.dumps(state))

    if not args.no_compact:
        for engine in engines:
            compact_engine(engine)
    titles = measure(engines, spool, args.repeats)
    print(f"\n{spool.spans:,} spans / {spool.traces:,} traces; limits are the issue-5 targets x{scale:g}:")
    report(engines, titles, spool.spans, scale)
    if args.json:
        out = {
            "spans": spool.spans,
            "traces": spool.traces,
            "scale": scale,
            "engines": {e.label: {"url": e.store_url, "load": e.load, "disk": e.disk, "ms": e.ms} for e in engines},
        }
        Path(args.json).write_text(json.dumps(out, indent=2))

    if mlflow_traces:
        results = engines[0].ms
        print(f"\nMLflow {mlflow_traces:,} traces (sqlite store, its own venv) ...", flush=True)
        peer = run_mlflow(args.mlflow_python, mlflow_traces, args.repeats, work)
        if peer:
            print(f"  loaded {peer['traces']:,} traces in {peer['load_s']:.0f} s")
            names = {
                "get_trace": "get_trace",
                "seed": "seed (MLflow: feedback.quality_score < 0.7; no numeric attribute filter)",
                "substring": "substring (MLflow: trace.text LIKE '%refund%')",
                "latency_by_name": "p50..p99 by span name (MLflow: fetch all traces, compute in Python)",
            }
            print(
                f"  ratios MLflow on {peer['traces']:,} traces / spanscope ({engines[0].label}) on {n_traces:,} "
                f"traces ({n_traces / peer['traces']:.0f}x more data):"
            )
            for key, title in names.items():
                theirs, ours = peer["ms"][key], results[key]
                print(f"    {title}: {theirs:.1f} ms vs {ours:.1f} ms = {theirs / ours:.1f}x")
            print("    percentile predicate, compare: not expressible in MLflow")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
