"""``spanscope search`` and ``spanscope trace``: through the server, or straight from the store file
when no server answers (DuckDB allows one process per file, so a running server is asked over HTTP)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from spanscope.cli.local import source
from spanscope.client import ApiError, rows_to_frame
from spanscope.model import Trace
from spanscope.query import FilterError


def _cell(value: Any, width: int = 60) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def run_search(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    try:
        src = source(args)
        rows, _ = src.search_trace_rows(args.filter, args.limit, args.order_by, args.fields or None)
    except FilterError as exc:
        err.print(f"[red]filter error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    df = rows_to_frame(rows, args.fields or [])
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    if args.format == "json":
        out = df.copy()
        out["start_time"] = out["start_time"].map(lambda t: t.isoformat() if t is not None else None)
        sys.stdout.write(out.to_json(orient="records", lines=True, date_format="iso", default_handler=str))
        return 0
    table = Table(title=f"{len(df)} trace(s)" + (f" matching {args.filter!r}" if args.filter else ""))
    cols = ["trace_id", "name", "status", "start_time", "duration_ms"]
    cols += [c for c in df.columns if c.startswith(("tag.", "finding."))] + list(args.fields or [])
    fill_table(table, df, cols)
    Console().print(table)
    return 0


def fill_table(table: Table, df: Any, cols: list[str]) -> None:
    """Add ``cols`` of ``df`` to a rich table: times to the second, durations in ms, other values cut short."""
    for c in cols:
        table.add_column(c, overflow="fold")
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if c == "start_time":
                cells.append(v.strftime("%Y-%m-%d %H:%M:%S") if v is not None else "")
            elif c == "duration_ms":
                cells.append(f"{v:,.1f}")
            else:
                cells.append(_cell(v))
        table.add_row(*cells)


def run_trace(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    try:
        trace = source(args).get_trace(args.trace_id)
    except (ApiError, ConnectionError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2, default=str))
        return 0
    Console().print(render_trace_tree(trace))
    return 0


def _status(status: str) -> str:
    return {"OK": "[green]OK[/green]", "ERROR": "[bold red]ERROR[/bold red]"}.get(status, f"[dim]{status}[/dim]")


def render_trace_tree(trace: Trace) -> Tree:
    """The span tree with durations, kinds, statuses and findings."""
    label = f"[bold]{trace.name}[/bold] {trace.trace_id}  {trace.duration_ms or 0:,.1f} ms  {_status(trace.status)}"
    if trace.tags:
        label += "  " + " ".join(f"[cyan]{k}[/cyan]={v}" for k, v in trace.tags.items())
    root = Tree(label)
    by_span: dict[str | None, list[Any]] = {}
    ids = {s.span_id for s in trace.spans}
    for s in trace.spans:
        parent = s.parent_span_id if s.parent_span_id in ids else None
        by_span.setdefault(parent, []).append(s)
    findings: dict[str | None, list[str]] = {}
    for f in trace.findings:
        findings.setdefault(f.span_id, []).append(f"[magenta]{f.name}[/magenta]={f.value}")
    if findings.get(None):
        root.add("findings: " + ", ".join(findings[None]))

    def add(node: Tree, parent: str | None) -> None:
        for s in sorted(by_span.get(parent, []), key=lambda x: x.start_time_ns):
            text = f"{s.name} [dim]({s.kind})[/dim]  {s.duration_ms:,.1f} ms  {_status(s.status)}"
            if s.status_message:
                text += f" [red]{s.status_message}[/red]"
            if s.span_id in findings:
                text += "  " + ", ".join(findings[s.span_id])
            add(node.add(text), s.span_id)

    add(root, None)
    return root
