"""``spanscope`` — the command-line entry point. Commands stay thin: they parse arguments and call the
library. Defaults come from the settings table (``spanscope.settings``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from spanscope.cli import keys as keys_cli
from spanscope.cli import monitors as monitors_cli
from spanscope.settings import resolve, setting


def _help(name: str) -> str:
    s = setting(name)
    return f"{s.help} Env: {s.env}. Default: {s.default}."


def _add_endpoint_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--endpoint", help=_help("endpoint"))
    p.add_argument("--api-key", help=_help("api_key"))
    p.add_argument("--project", help=_help("project"))
    p.add_argument("--data-dir", help="Read this store directly when no server answers. " + _help("data_dir"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spanscope", description="LLM observability and trace quality.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="Run the ingestion + query server on the embedded store.")
    p.add_argument("--host", help=_help("host"))
    p.add_argument("--port", type=int, help=_help("port"))
    p.add_argument("--data-dir", help=_help("data_dir"))
    p.add_argument("--store", metavar="URL", default=None, help=_help("store"))
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    p.add_argument("--require-auth", action="store_true", default=None, help=_help("require_auth"))
    p.add_argument("--insecure", action="store_true", default=None, help=_help("insecure"))
    p.add_argument("--monitors", metavar="FILE", default=None, help=_help("monitors_file"))
    p.add_argument(
        "--retention-days",
        action="append",
        metavar="DAYS|PROJECT=DAYS",
        default=None,
        help=_help("retention_days"),
    )

    p = sub.add_parser("demo", help="Simulate a customer-service chatbot, trace it, then show searches to try.")
    p.add_argument("--traces", type=int, default=300, help="Chatbot turns to simulate (default 300).")
    p.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")
    p.add_argument("--endpoint", help="Send to this running server instead of starting one.")
    p.add_argument("--project", default=None, help=_help("project"))
    p.add_argument("--data-dir", help=_help("data_dir"))
    p.add_argument(
        "--port",
        type=int,
        default=None,
        help="Port for the server the demo starts (default: the standard port if free, else any free port).",
    )
    p.add_argument("--serve", action="store_true", help="Keep serving after the demo until Ctrl-C.")
    p.add_argument(
        "--store", metavar="URL", default=None, help="Store of the server the demo starts. " + _help("store")
    )
    p.add_argument(
        "--degrade",
        action="store_true",
        help="Make the last day worse on purpose (release 1.5.0-rc1: lower quality, more tool errors), so that "
        "a quality monitor fires (docs/monitors.md).",
    )

    p = sub.add_parser("search", help="Search traces with the filter language.")
    p.add_argument("filter", nargs="?", default=None, help='e.g. "tag.quality_score < 0.7"')
    p.add_argument("--fields", nargs="*", default=[], metavar="F", help="extract_fields paths to add as columns")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--order-by", action="append", default=None, help="e.g. 'duration_ms DESC' (repeatable)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    _add_endpoint_args(p)

    keys_cli.add_parser(sub)
    monitors_cli.add_parser(sub, _add_endpoint_args)

    p = sub.add_parser("trace", help="Print one trace as a span tree with durations and statuses.")
    p.add_argument("trace_id")
    p.add_argument("--json", action="store_true", help="Print the raw trace as JSON.")
    _add_endpoint_args(p)

    from spanscope.cli import export as export_cli
    from spanscope.cli import stats as stats_cli

    export_cli.add_parsers(sub, _add_endpoint_args)  # export, spans
    stats_cli.add_parser(sub, _add_endpoint_args)  # stats latency|usage|compare|critical-path|correlate

    from spanscope.cli import datasets as datasets_cli
    from spanscope.cli import evals as evals_cli

    datasets_cli.add_parser(sub, _add_endpoint_args)  # datasets create|list|show|export|add-traces|diff
    evals_cli.add_parser(sub, _add_endpoint_args)  # eval run|compare|list|show

    from spanscope.cli import migrate as migrate_cli

    migrate_cli.add_parsers(sub)  # migrate, migrate-data, compact, cluster-ddl
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve" and args.monitors:
        # Checked here for a readable error; the server reads the file through the monitors_file setting.
        import os

        from spanscope.monitors import MonitorSpecError, load_file

        try:
            load_file(args.monitors)
        except MonitorSpecError as exc:
            print(f"spanscope serve: {exc}", file=sys.stderr)
            return 2
        os.environ["SPANSCOPE_MONITORS_FILE"] = args.monitors
    if args.command == "serve":
        from spanscope.server import serve
        from spanscope.server.run import UnsafeBind
        from spanscope.store.retention import RetentionError

        try:
            serve(
                args.host,
                args.port,
                args.data_dir,
                store_url=args.store,
                log_level=args.log_level,
                require_auth=args.require_auth,
                insecure=args.insecure,
                retention_days=args.retention_days,
            )
        except (UnsafeBind, RetentionError) as exc:
            print(f"spanscope serve: {exc}", file=sys.stderr)
            return 2
        return 0
    if args.command == "keys":
        return keys_cli.run(args)
    if args.command in ("migrate", "migrate-data", "compact", "cluster-ddl"):
        from spanscope.cli import migrate as migrate_cli

        return migrate_cli.run(args)
    if args.command == "monitors":
        return monitors_cli.run(args)
    if args.command == "demo":
        from spanscope.cli.demo import run_demo

        return run_demo(
            traces=args.traces,
            seed=args.seed,
            endpoint=args.endpoint,
            project=args.project,
            data_dir=resolve("data_dir", args.data_dir),
            port=args.port,
            keep_serving=args.serve,
            degraded=args.degrade,
            store_url=args.store,
        )
    if args.command == "search":
        from spanscope.cli.query import run_search

        return run_search(args)
    if args.command == "trace":
        from spanscope.cli.query import run_trace

        return run_trace(args)
    if args.command in ("export", "spans"):
        from spanscope.cli import export as export_cli

        return export_cli.run_export(args) if args.command == "export" else export_cli.run_spans(args)
    if args.command == "stats":
        from spanscope.cli.stats import run_stats

        return run_stats(args)
    if args.command == "datasets":
        from spanscope.cli import datasets as datasets_cli

        return datasets_cli.run(args)
    if args.command == "eval":
        from spanscope.cli import evals as evals_cli

        return evals_cli.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
