"""``spanscope export FILTER -o FILE`` and ``spanscope spans FILTER``.

``export`` streams every matching trace (``--spans``: span) into a Parquet, CSV or JSONL file with a progress
bar; ``spans`` prints matching spans like ``spanscope search`` prints traces. Both go through the server when
one answers, else read the store file directly.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from spanscope.cli.local import source
from spanscope.cli.query import fill_table
from spanscope.client import ApiError, span_rows_to_frame
from spanscope.query import FilterError

FORMATS = ("parquet", "csv", "jsonl")  # spanscope.export.FORMATS, without importing pyarrow to build the parser


def add_parsers(sub: Any, add_endpoint_args: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``export`` and ``spans`` commands (called from ``cli.main``)."""
    p = sub.add_parser("export", help="Write matching traces (or spans) to Parquet, CSV or JSONL, streamed.")
    p.add_argument("filter", nargs="?", default=None, help='e.g. "tag.quality_score < 0.5" (default: everything)')
    p.add_argument("-o", "--output", required=True, help="file to write (.parquet, .csv or .jsonl)")
    p.add_argument("--format", choices=FORMATS, default=None, help="default: from the file's extension")
    p.add_argument("--spans", action="store_true", help="one row per span instead of per trace")
    p.add_argument("--fields", nargs="*", default=[], metavar="F", help="extract_fields paths to add as columns")
    p.add_argument("--order-by", action="append", default=None)
    p.add_argument("--limit", type=int, default=None, help="at most this many rows")
    add_endpoint_args(p)

    p = sub.add_parser("spans", help="Search spans with the filter language (one row per span).")
    p.add_argument(
        "filter", nargs="?", default=None, help="e.g. \"span.name = 'db.query' AND span.duration_ms >= p95\""
    )
    p.add_argument("--fields", nargs="*", default=[], metavar="F")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--order-by", action="append", default=None, help="e.g. 'duration_ms DESC' (repeatable)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    add_endpoint_args(p)


def run_export(args: argparse.Namespace) -> int:
    from spanscope.export import FileWriter, format_of

    err = Console(stderr=True)
    rows = "spans" if args.spans else "traces"
    try:
        fmt = format_of(args.output, args.format)
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    try:
        src = source(args)
        total = src.count(args.filter, rows)
        if args.limit is not None:
            total = min(total, args.limit)
        writer = FileWriter(args.output, fmt, rows, args.fields)
        columns = [TextColumn("[bold]export[/bold] {task.description}"), BarColumn(), MofNCompleteColumn()]
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=False) as progress:
            task = progress.add_task(f"{rows} -> {args.output}", total=total)
            try:
                for page in src.iter_rows(rows, args.filter, args.limit, args.order_by, args.fields or None):
                    writer.write(page)
                    progress.update(task, completed=writer.rows)
            finally:
                writer.close()
    except FilterError as exc:
        err.print(f"[red]filter error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    err.print(f"wrote {writer.rows:,} {rows} to {args.output} ({fmt})")
    return 0


def run_spans(args: argparse.Namespace) -> int:
    err = Console(stderr=True)
    try:
        src = source(args)
        found, _ = src.search_rows("spans", args.filter, args.limit, args.order_by, args.fields or None)
    except FilterError as exc:
        err.print(f"[red]filter error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    df = span_rows_to_frame(found, args.fields or [])
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
        return 0
    if args.format == "json":
        sys.stdout.write(df.to_json(orient="records", lines=True, date_format="iso", default_handler=str))
        return 0
    table = Table(title=f"{len(df)} span(s)" + (f" matching {args.filter!r}" if args.filter else ""))
    console = Console() if sys.stdout.isatty() else Console(width=200)
    # Tags and findings are in --format csv/json; the table keeps to the span and the asked-for fields.
    cols = ["trace_id", "span_id", "name", "kind", "status", "start_time", "duration_ms", *(args.fields or [])]
    fill_table(table, df, cols)
    console.print(table)
    return 0
