"""``spanscope eval run|compare|list|show``: evaluation runs against a running server."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable

from rich.console import Console
from rich.table import Table

from spanscope.client import ApiError, Client


def add_parser(sub: argparse._SubParsersAction, endpoint_args: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("eval", help="Run an app over a dataset with scorers; compare two runs.")
    esub = p.add_subparsers(dest="eval_command", required=True)

    r = esub.add_parser("run", help="Evaluate --app over --dataset with --scorer(s); stores and prints the run.")
    r.add_argument("--dataset", required=True)
    r.add_argument("--version", type=int, default=None, help="Dataset version (default: latest).")
    r.add_argument("--app", required=True, metavar="MODULE:FUNCTION", help="or path/to/file.py:function")
    r.add_argument("--scorer", action="append", default=[], metavar="SCORER",
                   help="A built-in (exact_match, contains, regex_match('…'), json_valid, levenshtein_ratio, "
                        "latency_under(500), token_budget(2000)) or module:function. Repeatable.")  # fmt: skip
    r.add_argument("--input", action="append", default=None, metavar="FIELD", help="Record field(s) to pass.")
    r.add_argument("--name", default=None)
    r.add_argument("--workers", type=int, default=8)
    r.add_argument("--no-progress", action="store_true")
    r.add_argument("--json", action="store_true", help="Print the run's aggregates as JSON.")
    endpoint_args(r)

    c = esub.add_parser("compare", help="Did it help? Compare run B with run A, metric by metric.")
    c.add_argument("run_a", help="Run id or name (before).")
    c.add_argument("run_b", help="Run id or name (after).")
    c.add_argument("--alpha", type=float, default=0.05)
    c.add_argument("--lower-is-better", action="append", default=[], metavar="METRIC")
    c.add_argument("--latency", action="store_true", help="Also compare the app calls' latency_ms.")
    c.add_argument("--worse", type=int, default=5, help="Records that got worse to list per metric (default 5).")
    c.add_argument("--json", action="store_true")
    endpoint_args(c)

    ls = esub.add_parser("list", help="Evaluation runs, newest first.")
    ls.add_argument("--dataset", default=None)
    ls.add_argument("--limit", type=int, default=20)
    endpoint_args(ls)

    s = esub.add_parser("show", help="One run's aggregates.")
    s.add_argument("run")
    endpoint_args(s)


def _when(ns: int | None) -> str:
    return "" if ns is None else dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from spanscope import evals
    from spanscope.evals.loading import load_object
    from spanscope.evals.scorers import parse_scorer_spec

    out, err = Console(), Console(stderr=True)
    client = Client(args.endpoint, args.api_key, args.project)
    try:
        if args.eval_command == "run":
            try:
                app = load_object(args.app)
                scorers = [parse_scorer_spec(s) for s in args.scorer]
            except (ValueError, ImportError, SyntaxError) as exc:
                err.print(f"[red]error:[/red] {exc}")
                return 2
            result = evals.evaluate(
                args.dataset, app, scorers, name=args.name, inputs=args.input, max_workers=args.workers,
                version=args.version, progress=not args.no_progress, client=client,
            )  # fmt: skip
            if args.json:
                print(
                    json.dumps(
                        {"run_id": result.run_id, "name": result.name, "aggregates": result.aggregates}, indent=2
                    )
                )
            else:
                out.print(result.summary_table())
                out.print(f"run id: {result.run_id}")
            return 0
        if args.eval_command == "compare":
            cmp = evals.compare_runs(
                args.run_a, args.run_b, alpha=args.alpha, lower_is_better=args.lower_is_better, client=client
            )
            if args.json:
                print(json.dumps(cmp.to_dict(), indent=2, default=str))
                return 0
            out.print(cmp.table())
            for metric, records in cmp.worse.items():
                if records and args.worse > 0:
                    shown = ", ".join(f"{r['record_id']} ({r['a']} -> {r['b']})" for r in records[: args.worse])
                    more = f" and {len(records) - args.worse} more" if len(records) > args.worse else ""
                    out.print(f"[bold]{metric}[/bold] got worse on: {shown}{more}")
            return 0
        if args.eval_command == "list":
            table = Table(title="evaluation runs")
            for col in ("run id", "name", "dataset", "records", "status", "started", "metrics"):
                table.add_column(col)
            for r in evals.list_runs(args.dataset, limit=args.limit, client=client):
                metrics = ", ".join(f"{k}={v:.3f}" for k, v in r.metrics.items())
                ds = f"{r.dataset} v{r.dataset_version}" if r.dataset else ""
                table.add_row(
                    r.run_id,
                    r.name,
                    ds,
                    str(r.aggregates.get("records", "")),
                    r.status,
                    _when(r.created_at_ns),
                    metrics,
                )
            out.print(table)
            return 0
        if args.eval_command == "show":
            r = evals.get_run(args.run, client=client)
            out.print(r.summary_table())
            return 0
    except (ApiError, ConnectionError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    return 2
