"""``spanscope stats latency|usage|compare|critical-path|correlate``: trace analysis in the terminal.

Through the server when one answers, else straight from the store file (read-only), like ``spanscope search``.
Every command takes the filter language; ``--json`` prints the raw answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from spanscope.cli.local import LocalSource, source
from spanscope.client import ApiError, Client
from spanscope.query import FilterError

_DAY_ALIASES = {"day": "1d", "hour": "1h", "week": "1w", "minute": "1m"}


def add_parser(sub: Any, add_endpoint_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``stats`` command and its subcommands (called from ``cli.main``)."""
    p = sub.add_parser("stats", help="Latency percentiles, usage, cohort comparison, critical paths, correlation.")
    stats = p.add_subparsers(dest="stats_command", required=True)

    q = stats.add_parser("latency", help="Counts, error rates and p50/p90/p95/p99 latency per group.")
    q.add_argument("filter", nargs="?", default=None)
    q.add_argument("--by", action="append", default=None, help="field to group by (repeatable; default span.name)")
    q.add_argument("--bucket", help="time buckets, e.g. 15m, 1h, 1d (or --by day)")
    _common(q, add_endpoint_args)

    q = stats.add_parser("usage", help="Model calls, tokens and cost per model / project / day.")
    q.add_argument("filter", nargs="?", default=None)
    q.add_argument("--by", action="append", default=None, help="model, project, day, or any field (repeatable)")
    q.add_argument("--bucket", help="time buckets, e.g. 1h, 1d")
    q.add_argument("--all-projects", action="store_true", help="every project (group --by project)")
    _common(q, add_endpoint_args)

    q = stats.add_parser("compare", help="What differs between two cohorts of traces.")
    q.add_argument("filter_a")
    q.add_argument("filter_b")
    q.add_argument("--top", type=int, default=12, help="ranked differences to show (default 12)")
    _common(q, add_endpoint_args)

    q = stats.add_parser("critical-path", help="A trace's critical path, or who owns it over a filter.")
    q.add_argument("trace_id", nargs="?", default=None)
    q.add_argument("--filter", default=None, help="summarise over the traces matching this filter")
    q.add_argument("--max-traces", type=int, default=2000)
    _common(q, add_endpoint_args)

    q = stats.add_parser("correlate", help="Pearson and Spearman correlation of two numeric fields.")
    q.add_argument("a")
    q.add_argument("b")
    q.add_argument("--filter", default=None)
    q.add_argument("--agg", default="max", help="how a span field is reduced per trace: max, min, sum, mean")
    _common(q, add_endpoint_args)


def _common(p: argparse.ArgumentParser, add_endpoint_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p.add_argument("--json", action="store_true", help="print the raw answer as JSON")
    add_endpoint_args(p)


def _by(values: Sequence[str] | None, default: str) -> tuple[list[str], str | None]:
    keys, bucket = [], None
    for v in values or [default]:
        if v.strip().lower() in _DAY_ALIASES:
            bucket = _DAY_ALIASES[v.strip().lower()]
        else:
            keys.append(v)
    return keys, bucket


def _fmt(value: Any, column: str = "") -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if "rate" in column or "share" in column:
            return f"{value:.1%}"
        if "cost" in column:
            return f"${value:,.4f}"
        if value.is_integer() and abs(value) >= 10:
            return f"{int(value):,}"
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3f}"
    if isinstance(value, int) and "ns" in column:
        from datetime import UTC, datetime

        return datetime.fromtimestamp(value / 1e9, UTC).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(
            c.replace("bucket_start_ns", "bucket"),
            justify="left" if rows and isinstance(rows[0][columns.index(c)], str) else "right",
        )
    for r in rows:
        table.add_row(*(_fmt(v, c) for v, c in zip(r, columns, strict=True)))
    return table


def run_stats(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    # Piped output (files, tests, READMEs) gets room for the whole table instead of 80 columns.
    out = Console() if sys.stdout.isatty() else Console(width=200)
    try:
        src = source(args)
        result, render = _dispatch(args, src)
    except FilterError as exc:
        err.print(f"[red]filter error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    render(out, result)
    return 0


def _dispatch(args: argparse.Namespace, src: Client | LocalSource) -> tuple[Any, Callable[[Console, Any], None]]:
    cmd = args.stats_command
    if cmd == "latency":
        by, bucket = _by(args.by, "span.name")
        body = {"filter": args.filter, "by": by, "bucket": args.bucket or bucket}
        result = src.analysis("latency", body)
        title = "Latency (ms) by " + ", ".join(by + ([f"{body['bucket']} bucket"] if body["bucket"] else []))
        return result, lambda c, r: c.print(_table(title + _where(args.filter), r["columns"], r["rows"]))
    if cmd == "usage":
        by, bucket = _by(args.by, "model")
        body = {"filter": args.filter, "by": by, "bucket": args.bucket or bucket, "all_projects": args.all_projects}
        result = src.analysis("usage", body)
        title = "Usage (llm/embedding spans) by " + ", ".join(
            by + ([f"{body['bucket']} bucket"] if body["bucket"] else [])
        )
        return result, lambda c, r: c.print(_table(title + _where(args.filter), r["columns"], r["rows"]))
    if cmd == "compare":
        body = {"filter_a": args.filter_a, "filter_b": args.filter_b, "top": args.top}
        return src.analysis("compare", body), _render_compare
    if cmd == "critical-path":
        if not args.trace_id and args.filter is None and args.trace_id is None:
            pass  # over every trace (newest --max-traces)
        body = {"trace_id": args.trace_id, "filter": args.filter, "max_traces": args.max_traces}
        result = src.analysis("critical_path", body)
        return result, _render_path if args.trace_id else _render_path_summary
    if cmd == "correlate":
        body = {"a": args.a, "b": args.b, "filter": args.filter, "agg": args.agg}
        return src.analysis("correlate", body), _render_correlate
    raise ValueError(f"unknown stats command {cmd!r}")


def _where(filter_string: str | None) -> str:
    return f" where {filter_string}" if filter_string else ""


def _render_compare(console: Console, r: dict[str, Any]) -> None:
    a, b = r["cohorts"]["a"], r["cohorts"]["b"]
    t = Table(title="Cohorts", title_justify="left")
    for col in ("cohort", "filter", "traces", "error rate", "p50 ms", "p95 ms", "tokens/trace"):
        t.add_column(col)
    for label, c in (("a", a), ("b", b)):
        t.add_row(
            label,
            c["filter"] or "(all)",
            _fmt(c["traces"]),
            _fmt(c["error_rate"], "rate"),
            _fmt(c["p50_ms"]),
            _fmt(c["p95_ms"]),
            _fmt(c["tokens_per_trace"]),
        )
    console.print(t)
    t = Table(title="Per span name (a -> b), largest p95 change first", title_justify="left")
    for col in ("span name", "spans/trace", "error rate", "p50 ms", "p95 ms", "tokens"):
        t.add_column(col)
    for n in r["span_names"]:
        t.add_row(
            n["name"],
            _pair(n, "spans_per_trace"),
            _pair(n, "error_rate", "rate"),
            _pair(n, "p50_ms"),
            _pair(n, "p95_ms"),
            _pair(n, "tokens_mean"),
        )
    console.print(t)
    t = Table(title="Fields whose values differ most (effect: KS for numbers, TVD otherwise)", title_justify="left")
    for col in ("field", "span name", "effect", "a", "b"):
        t.add_column(col)
    for d in r["differences"]:
        if d["type"] == "numeric":
            sa, sb = f"mean {_fmt(d['mean_a'])}", f"mean {_fmt(d['mean_b'])}"
            if d.get("cohens_d") is not None:
                sb += f" (d={d['cohens_d']:+.2f})"
        else:
            top = d["top_values"][0] if d["top_values"] else {"value": "", "share_a": 0, "share_b": 0}
            sa, sb = f"{top['value']}: {top['share_a']:.0%}", f"{top['value']}: {top['share_b']:.0%}"
        t.add_row(d["field"], d["span_name"] or "", f"{d['effect']:.2f} {d['metric']}", sa, sb)
    console.print(t)


def _pair(entry: dict[str, Any], measure: str, kind: str = "") -> str:
    a, b = entry.get(f"{measure}_a"), entry.get(f"{measure}_b")
    return f"{_fmt(a, kind)} -> {_fmt(b, kind)}"


def _render_path(console: Console, r: dict[str, Any]) -> None:
    t = Table(title=f"Critical path of {r['trace_id']} ({_fmt(r['duration_ms'])} ms)", title_justify="left")
    for col in ("at ms", "span", "kind", "ms on path"):
        t.add_column(col)
    t0 = r["segments"][0]["start_time_ns"] if r["segments"] else 0
    for s in r["segments"]:
        t.add_row(_fmt((s["start_time_ns"] - t0) / 1e6), s["name"], s["kind"], _fmt(s["duration_ms"]))
    console.print(t)
    _render_names(console, "Time on the critical path by span name", r["by_name"], "ms")


def _render_path_summary(console: Console, r: dict[str, Any]) -> None:
    rows = [
        {"name": x["name"], "ms": x["mean_ms_per_trace"], "share": x["share"], "traces": x["traces"]}
        for x in r["by_name"]
    ]
    _render_names(
        console, f"Critical-path time by span name over {r['traces']:,} traces (mean ms per trace)", rows, "ms"
    )


def _render_names(console: Console, title: str, rows: list[dict[str, Any]], key: str) -> None:
    t = Table(title=title, title_justify="left")
    for col in ("span name", key, "share", *(["traces"] if rows and "traces" in rows[0] else [])):
        t.add_column(col)
    for x in rows:
        bar = "█" * round((x["share"] or 0) * 30)
        cells = [x["name"], _fmt(x[key]), f"{_fmt(x['share'], 'share')} {bar}"]
        if "traces" in x:
            cells.append(_fmt(x["traces"]))
        t.add_row(*cells)
    console.print(t)


def _render_correlate(console: Console, r: dict[str, Any]) -> None:
    pearson = "n/a" if r["pearson"] is None else f"{r['pearson']:+.3f}"
    spearman = "n/a" if r["spearman"] is None else f"{r['spearman']:+.3f}"
    console.print(
        f"{r['a']} vs {r['b']}: pearson {pearson}, spearman {spearman} over {r['n']:,} {r['unit']}s "
        f"(means {_fmt(r['mean_a'])} and {_fmt(r['mean_b'])})"
    )
