"""``spanscope demo``: start a server on the embedded store (or use a running one), send simulated chatbot
traffic through the SDK, then run and print a few searches to try."""

from __future__ import annotations

import contextlib
import socket
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import spanscope
from spanscope.cli.demo_app import ChatbotSimulator, simulate
from spanscope.client import Client
from spanscope.settings import DEFAULT_PORT, resolve

EXAMPLES = (
    ("Low-quality turns", "tag.quality_score < 0.7"),
    ("Turns whose tool call failed", "span.kind = 'tool' AND span.status = 'ERROR'"),
    ("Slow database calls (one span both db.query and > 500 ms)", "span.name = 'db.query' AND span.duration_ms > 500"),
    ("Refund requests", "span.inputs.messages[-1].content ILIKE '%refund%'"),
    ("Unsafe-looking answers", "finding.response_safe_score < 0.75"),
    ("Long expensive turns on gpt-4o", "tag.model = 'gpt-4o' AND trace.duration_ms > 3000"),
)


def _port_free(port: int) -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def run_demo(
    *,
    traces: int = 300,
    seed: int = 7,
    endpoint: str | None = None,
    project: str | None = None,
    data_dir: str = "./.spanscope",
    port: int | None = None,
    keep_serving: bool = False,
    degraded: bool = False,
    store_url: str | None = None,
) -> int:
    """``store_url`` (else ``SPANSCOPE_STORE``, else DuckDB in ``data_dir``): the store of the server it starts."""
    console = Console(soft_wrap=True)
    server = None
    store_url = resolve("store", store_url)
    shown_url = None
    if store_url:
        from spanscope.store.copy import redact

        shown_url = redact(store_url)  # no password on the terminal
    if endpoint is None:
        from spanscope.server import ServerThread

        want = port if port is not None else (DEFAULT_PORT if _port_free(DEFAULT_PORT) else 0)
        server = ServerThread(data_dir, port=want, store_url=store_url).start()
        endpoint = server.url
        console.print(f"[bold]spanscope[/bold] server on {endpoint} (store: {shown_url or Path(data_dir).resolve()})")
    project = resolve("project", project)  # "default" unless --project / SPANSCOPE_PROJECT say otherwise
    try:
        spanscope.configure(endpoint=endpoint, project=project)
        t0 = time.perf_counter()
        week_ago = time.time_ns() - 7 * 86400 * 10**9
        if degraded:
            # A normal week, then a last day on a worse release: what a quality monitor should catch.
            results = simulate(traces, seed=seed, start_ns=week_ago - 86400 * 10**9)
            results += simulate_day(max(20, traces // 7), seed=seed + 1, start_ns=time.time_ns() - 86400 * 10**9)
        else:
            results = simulate(traces, seed=seed, start_ns=week_ago)
        delivered = spanscope.flush(timeout=30)
        elapsed = time.perf_counter() - t0
        spans = spanscope.stats().get("spans_ended", 0)
        console.print(
            f"Simulated {len(results)} chatbot turns ({spans} spans) in {elapsed:.2f}s into project "
            f"[cyan]{project}[/cyan]; delivered: {'[green]yes[/green]' if delivered else '[red]NO[/red]'}"
        )
        client = Client(endpoint, project=project)
        for title, flt in EXAMPLES:
            df = client.search_traces(flt, max_results=1000)
            console.print(f"  {len(df):4d}  {title}:  [yellow]{flt}[/yellow]")
        df = client.search_traces(
            "tag.quality_score < 0.7",
            max_results=1000,
            extract_fields=["span.attributes.usage.total_tokens"],
        )
        everything = client.search_traces(
            None, max_results=10_000, extract_fields=["span.attributes.usage.total_tokens"]
        )
        if len(everything) > 2:
            r = (
                everything["tag.quality_score"]
                .astype(float)
                .corr(everything["span.attributes.usage.total_tokens"].astype(float))
            )
            console.print(f"\nCorrelation of total tokens with quality_score over all turns: [bold]{r:+.2f}[/bold]")
        table = Table(title="Worst 5 turns (tag.quality_score < 0.7, lowest first)")
        for col in ("trace_id", "duration_ms", "tag.quality_score", "tokens"):
            table.add_column(col)
        for _, row in df.sort_values("tag.quality_score").head(5).iterrows():
            table.add_row(
                row["trace_id"],
                f"{row['duration_ms']:,.0f}",
                f"{row['tag.quality_score']:.3f}",
                str(row["span.attributes.usage.total_tokens"]),
            )
        console.print(table)
        worst = df.sort_values("tag.quality_score")["trace_id"].iloc[0] if len(df) else None
        dd = f" --data-dir {data_dir}" if data_dir != "./.spanscope" else ""
        shown = f" --store '{shown_url}'" if shown_url else ""
        if shown_url:  # the CLI commands below read the store named by SPANSCOPE_STORE
            console.print(f"\n(with SPANSCOPE_STORE='{shown_url}' set, the commands below read that store)")
        console.print("\n[bold]Try next[/bold] (the CLI reads the store directly when no server runs):")
        console.print(
            f'  spanscope search "tag.quality_score < 0.7" --project {project}{dd} '
            "--fields span.attributes.usage.total_tokens"
        )
        if worst:
            console.print(f"  spanscope trace {worst} --project {project}{dd}")
        console.print(
            f"  python -c \"import spanscope; spanscope.configure(project='{project}'); "
            "print(spanscope.search_traces('tag.quality_score < 0.7', "
            "extract_fields=['span.inputs.messages', 'span.outputs.choices', "
            "'span.attributes.usage.total_tokens']))\"   # needs `spanscope serve` running"
        )
        console.print(f"  spanscope stats latency --project {project}{dd}            # p50/p95/p99 by span name")
        console.print(
            f"  spanscope serve{dd}{shown}   then open http://127.0.0.1:8417/ (project {project})   # the web UI"
            if server is not None
            else f"  open {endpoint}/   # the web UI"
        )
        if degraded:
            console.print(
                "\n[bold]The last day was degraded on purpose[/bold] (app.version 1.5.0-rc1). A monitor catches it:"
            )
            console.print(
                f'  spanscope monitors test "avg(tag.quality_score) over 1d drops > 10% vs previous 7d" '
                f"--project {project}{dd}"
            )
            console.print(
                f"  spanscope monitors regressions tag.quality_score --by tag.app.version --project {project}{dd}"
            )
        if keep_serving and server is not None:
            console.print(f"\nServing on {endpoint}; Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(1)
        return 0 if delivered else 1
    finally:
        spanscope.shutdown()
        if server is not None:
            server.stop()


def simulate_day(n: int, seed: int, start_ns: int, degraded: bool = True) -> list:
    """``n`` turns spread over one day from ``start_ns`` (degraded by default), through the configured SDK."""
    from spanscope.sdk import set_clock

    sim = ChatbotSimulator(seed=seed, start_ns=start_ns, span_days=1.0, degraded=degraded)
    set_clock(sim.clock)
    try:
        return [sim.turn(i, n) for i in range(n)]
    finally:
        set_clock(None)
