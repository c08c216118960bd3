"""App-thread cost of the spanscope SDK beside the OpenTelemetry SDK, measured side by side in one process.

    .venv/bin/python bench/sdk_overhead.py [--units 250] [--pairs 15] [--warmup 2] [--json out.json]

Unit of work (the issue's and shared/anchors/sdk-overhead's): one trace = a root span with 3 nested
children, each span with 5 str/int attributes, ~300 B inputs and ~400 B outputs; one event on the 3rd span.
Cost per span = time per unit / 4.

* A = spanscope: ``configure()``d to send to a live ``spanscope serve`` started here as a subprocess on a
  loopback port, so the worker thread converts, encodes, compresses and POSTs for real, in this process,
  competing for the interpreter with the timed loop.
* B = the OpenTelemetry SDK: ``TracerProvider`` + ``BatchSpanProcessor`` + an exporter that discards.

Blocks alternate A B A B … (``--warmup`` pairs, then ``--pairs`` measured pairs of ``--units`` traces each);
after every block, outside the timed loop, the SDK is flushed (its time is reported as "flush µs/span").
The ratio is the median over pairs of (A µs/span) / (B µs/span).

Also reported: the worker's CPU per span (its thread's CPU clock over the block and its flush: conversion,
redaction, encoding, gzip, HTTP), the all-in ratio ((app + worker CPU) / (app + BSP thread CPU)), and
the worker's conversion alone, per span, measured on queued spans.

``--otel-bridge`` keeps spanscope's OpenTelemetry context bridge on. It is off by default here because
the bridge wraps OTel's runtime context, which would also slow the reference by a little.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

INPUT = ("What is the capital of France? Please answer in one word. " * 6)[:300]
OUTPUT = ("Paris is the capital and most populous city of France. " * 8)[:400]
A0 = {"user.id": "user-1234", "session.id": "sess-5678", "app.version": "1.4.2", "step": 0, "retries": 0}
A1 = {"retriever.name": "bm25", "top_k": 5, "index": "docs-v3", "step": 1, "hits": 17}
A2 = {"llm.model": "gpt-x-mini", "llm.provider": "acme", "temperature_x100": 20, "max_tokens": 512, "step": 2}
A3 = {"tool.name": "calculator", "tool.version": "2", "args.count": 2, "step": 3, "cache": "miss"}
SPANS_PER_UNIT = 4
pc = time.perf_counter_ns


# --- the unit of work, per SDK ---------------------------------------------------------------------
def spanscope_unit() -> Callable[[], None]:
    import spanscope

    span = spanscope.span

    def unit() -> None:
        with span("agent.run", "agent", A0) as s0:
            s0.set_inputs(INPUT)
            with span("retrieve", "retriever", A1) as s1:
                s1.set_inputs(INPUT)
                with span("llm.call", "llm", A2) as s2:
                    s2.set_inputs(INPUT)
                    s2.add_event("first_token", {"ttft_ms": 12})
                    with span("tool.call", "tool", A3) as s3:
                        s3.set_inputs(INPUT)
                        s3.set_outputs(OUTPUT)
                    s2.set_outputs(OUTPUT)
                s1.set_outputs(OUTPUT)
            s0.set_outputs(OUTPUT)

    return unit


def otel_reference() -> tuple[Callable[[], None], Callable[[], Any], threading.Thread | None]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    before = set(threading.enumerate())
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracer = provider.get_tracer("reference")
    cm = tracer.start_as_current_span
    new_threads = [t for t in threading.enumerate() if t not in before]

    def unit() -> None:
        with cm("agent.run", attributes=A0) as s0:
            s0.set_attribute("input.value", INPUT)
            with cm("retrieve", attributes=A1) as s1:
                s1.set_attribute("input.value", INPUT)
                with cm("llm.call", attributes=A2) as s2:
                    s2.set_attribute("input.value", INPUT)
                    s2.add_event("first_token", {"ttft_ms": 12})
                    with cm("tool.call", attributes=A3) as s3:
                        s3.set_attribute("input.value", INPUT)
                        s3.set_attribute("output.value", OUTPUT)
                    s2.set_attribute("output.value", OUTPUT)
                s1.set_attribute("output.value", OUTPUT)
            s0.set_attribute("output.value", OUTPUT)

    return unit, provider.force_flush, (new_threads[0] if new_threads else None)


# --- helpers -----------------------------------------------------------------------------------------
def thread_cpu_ns(thread: threading.Thread | None) -> int:
    """CPU time of another thread (Linux: its per-thread CPU clock); 0 if unavailable."""
    if thread is None or thread.native_id is None or not hasattr(time, "pthread_getcpuclockid"):
        return 0
    try:
        return time.clock_gettime_ns(time.pthread_getcpuclockid(thread.ident))  # type: ignore[arg-type]
    except (OSError, OverflowError, TypeError):
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = [sys.executable, "-m", "spanscope.cli.main", "serve", "--port", str(port), "--data-dir", data_dir]
    proc = subprocess.Popen([*cmd, "--log-level", "warning"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"spanscope serve exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("spanscope serve did not become healthy within 60 s")


def conversion_cost(units: int, repeats: int = 7) -> float:
    """µs per span for the worker's conversion alone (encode.SpanEncoder.span: attributes, payload encoding,
    redaction pre-check, wire record), median of ``repeats`` passes over spans queued while the worker
    sleeps (then dropped: this is a measurement, not a delivery)."""
    import spanscope
    from spanscope.sdk.runtime import RUNTIME

    processor = RUNTIME.processor
    assert processor is not None
    unit = spanscope_unit()
    saved = processor._wake_at
    processor._wake_at = 10**12  # keep the worker asleep while we queue
    spanscope.flush(30)
    for _ in range(units):
        unit()
    items = [processor._queue.popleft() for _ in range(len(processor._queue))]
    processor._wake_at = saved
    encoder = processor.encoder
    times = []
    for _ in range(repeats):
        t0 = pc()
        for item in items:
            encoder.span(item)
        times.append((pc() - t0) / 1000 / max(len(items), 1))
    return statistics.median(times)


def run_blocks(
    cases: list[tuple[str, Callable[[], None], Callable[[], Any], Callable[[], threading.Thread | None]]],
    units: int,
    pairs: int,
    warmup: int,
) -> dict[str, dict[str, list[float]]]:
    """A B A B … blocks of ``units`` traces; per block: app µs/span, flush µs/span, background CPU µs/span."""
    spans = units * SPANS_PER_UNIT
    rows: dict[str, dict[str, list[float]]] = {name: {"us": [], "flush_us": [], "bg_us": []} for name, *_ in cases}
    for r in range(warmup + pairs):
        for name, unit, flush, bg_thread in cases:
            gc.collect()
            thread = bg_thread()
            cpu0 = thread_cpu_ns(thread)
            t0 = pc()
            for _ in range(units):
                unit()
            t1 = pc()
            flush()
            t2 = pc()
            cpu1 = thread_cpu_ns(thread)
            if r >= warmup:
                rows[name]["us"].append((t1 - t0) / 1000 / spans)
                rows[name]["flush_us"].append((t2 - t1) / 1000 / spans)
                rows[name]["bg_us"].append((cpu1 - cpu0) / 1000 / spans)
    return rows


def summarize(rows: dict[str, dict[str, list[float]]]) -> dict[str, Any]:
    a, b = rows["spanscope"], rows["otel"]
    med = statistics.median
    ratios = [x / y for x, y in zip(a["us"], b["us"], strict=True)]
    all_in = [(x + xb) / (y + yb) for x, xb, y, yb in zip(a["us"], a["bg_us"], b["us"], b["bg_us"], strict=True)]
    return {
        "ratio_app_thread_median": round(med(ratios), 4),
        "ratio_app_thread_min_max": [round(min(ratios), 4), round(max(ratios), 4)],
        "ratio_all_in_median": round(med(all_in), 4),
        "spanscope_us_per_span": round(med(a["us"]), 3),
        "otel_us_per_span": round(med(b["us"]), 3),
        "spanscope_flush_us_per_span": round(med(a["flush_us"]), 3),
        "otel_flush_us_per_span": round(med(b["flush_us"]), 3),
        "spanscope_worker_cpu_us_per_span": round(med(a["bg_us"]), 3),
        "otel_bsp_cpu_us_per_span": round(med(b["bg_us"]), 3),
    }


def print_summary(title: str, r: dict[str, Any], pairs: int) -> None:
    print(title)
    print(f"  {'':34s}{'spanscope':>12s}{'OTel SDK':>12s}")
    print(f"  {'app thread, µs/span (median)':34s}{r['spanscope_us_per_span']:12.2f}{r['otel_us_per_span']:12.2f}")
    print(f"  {'background thread CPU, µs/span':34s}{r['spanscope_worker_cpu_us_per_span']:12.2f}"
          f"{r['otel_bsp_cpu_us_per_span']:12.2f}")  # fmt: skip
    print(f"  {'flush after block, µs/span':34s}{r['spanscope_flush_us_per_span']:12.2f}"
          f"{r['otel_flush_us_per_span']:12.2f}")  # fmt: skip
    lo, hi = r["ratio_app_thread_min_max"]
    print(f"  RATIO app thread spanscope/OTel (median of {pairs} pairs): {r['ratio_app_thread_median']:.3f}"
          f"  [min {lo:.3f}, max {hi:.3f}]")  # fmt: skip
    print(f"  ratio all-in, (app + background CPU) / (app + BSP CPU): {r['ratio_all_in_median']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=250, help="traces per block (default 250 = 1,000 spans)")
    parser.add_argument("--pairs", type=int, default=31, help="measured A/B pairs (default 31)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up pairs (default 2)")
    parser.add_argument(
        "--long-units", type=int, default=2500, help="traces per block of the long-block run (0: skip it)"
    )
    parser.add_argument("--long-pairs", type=int, default=7, help="measured pairs of the long-block run")
    parser.add_argument("--otel-bridge", action="store_true", help="keep spanscope's OTel context bridge on")
    parser.add_argument("--no-redact-builtins", action="store_true", help="turn the built-in redaction off")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    import spanscope
    from spanscope.sdk.runtime import RUNTIME

    results: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
        "otel_bridge": args.otel_bridge,
        "redact_builtins": not args.no_redact_builtins,
    }
    with tempfile.TemporaryDirectory(prefix="spanscope-bench-") as tmp:
        server, url = start_server(str(Path(tmp) / "data"))
        try:
            otel_unit, otel_flush, bsp_thread = otel_reference()
            spanscope.configure(
                endpoint=url,
                project="bench",
                otel_bridge=args.otel_bridge,
                redact_builtins=not args.no_redact_builtins,
            )
            processor = RUNTIME.processor
            assert processor is not None
            cases = [
                ("spanscope", spanscope_unit(), lambda: spanscope.flush(60), lambda: processor._thread),
                ("otel", otel_unit, otel_flush, lambda: bsp_thread),
            ]
            short = summarize(run_blocks(cases, args.units, args.pairs, args.warmup))
            results["short_blocks"] = {"units_per_block": args.units, "pairs": args.pairs, **short}
            if args.long_units:
                long = summarize(run_blocks(cases, args.long_units, args.long_pairs, 1))
                results["long_blocks"] = {"units_per_block": args.long_units, "pairs": args.long_pairs, **long}
            results["spanscope_stats"] = spanscope.stats()
            results["all_delivered"] = spanscope.flush(60)
            results["spanscope_conversion_us_per_span"] = round(conversion_cost(args.units), 3)
            spanscope.flush(60)
        finally:
            spanscope.shutdown(10)
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
    results["loadavg_1m_after"] = round(os.getloadavg()[0], 2)

    print("unit: root + 3 children, 5 attrs each, 300 B in / 400 B out, 1 event; spanscope -> live spanscope serve")
    print_summary(
        f"short blocks ({args.units * SPANS_PER_UNIT} spans; the worker mostly runs at the flush, as in the anchors):",
        results["short_blocks"],
        args.pairs,
    )
    if args.long_units:
        print_summary(
            f"long blocks ({args.long_units * SPANS_PER_UNIT} spans; the worker competes inside the timed loop):",
            results["long_blocks"],
            args.long_pairs,
        )
    print(f"worker conversion alone: {results['spanscope_conversion_us_per_span']:.2f} µs/span (SpanEncoder.span)")
    print(f"spanscope stats: {results['spanscope_stats']}; everything delivered: {results['all_delivered']}")
    print(f"load average (1 min) before/after: {results['loadavg_1m_before']} / {results['loadavg_1m_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
