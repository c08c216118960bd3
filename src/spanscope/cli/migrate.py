"""``spanscope migrate`` (a store's schema migrations), ``spanscope migrate-data`` (copy a store into another) and
``spanscope compact`` (merge a ClickHouse store's closed days now) and ``spanscope cluster-ddl`` (a store's schema
laid out on a ClickHouse cluster).

spanscope migrate [--store URL] [--data-dir D] [--dry-run]
spanscope migrate-data --from URL --to URL [--data-dir D] [--batch-rows N] [--restart] [--no-progress]
spanscope compact [--store URL] [--data-dir D] [--grace-seconds S] [--dry-run]
spanscope cluster-ddl --cluster NAME [--database DB] [--per-node] [--no-replication] [--apply URL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from spanscope.settings import resolve, setting


def _help(name: str) -> str:
    s = setting(name)
    return f"{s.help} Env: {s.env}. Default: {s.default}."


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "migrate",
        help="Apply the pending schema migrations of a store (DuckDB or ClickHouse); --dry-run lists them.",
    )
    p.add_argument("--store", metavar="URL", default=None, help=_help("store"))
    p.add_argument("--data-dir", help=_help("data_dir"))
    p.add_argument(
        "--dry-run",
        "--status",
        dest="dry_run",
        action="store_true",
        help="List applied and pending migrations, change nothing.",
    )

    p = sub.add_parser(
        "migrate-data",
        help="Copy every table of one store into another (duckdb:// <-> chdb:// or clickhouse://), resumably.",
    )
    p.add_argument("--from", dest="source", required=True, metavar="URL", help="Store to read (a path: DuckDB).")
    p.add_argument("--to", dest="target", required=True, metavar="URL", help="Store to write (migrated first).")
    p.add_argument("--data-dir", help="Where the checkpoint is kept (in migrate-data/). " + _help("data_dir"))
    p.add_argument("--checkpoint", metavar="FILE", help="Checkpoint file (default: one per source and target).")
    p.add_argument("--batch-rows", type=int, default=50_000, help="Rows per chunk (default 50000).")
    p.add_argument("--restart", action="store_true", help="Ignore the checkpoint: copy everything again.")
    p.add_argument("--no-progress", action="store_true", help="No progress bar.")

    p = sub.add_parser(
        "compact",
        help="ClickHouse: merge each closed day of spans into one part now (what ClickHouse does an hour after the "
        "day's last write), so reads of it merge nothing; --dry-run lists the days.",
    )
    p.add_argument("--store", metavar="URL", default=None, help=_help("store"))
    p.add_argument("--data-dir", help=_help("data_dir"))
    p.add_argument(
        "--grace-seconds",
        type=float,
        default=None,
        help="Merge a day only once it ended this long ago (UTC), for late spans. Default: 3600.",
    )
    p.add_argument("--dry-run", action="store_true", help="List the days and their parts, merge nothing.")

    p = sub.add_parser(
        "cluster-ddl",
        help="ClickHouse cluster: print (or --apply) the DDL of the current schema as sharded, replicated tables "
        "with Distributed tables in front, every migration recorded as applied (docs/scale-out.md).",
    )
    p.add_argument("--cluster", required=True, help="The cluster's name in the servers' remote_servers config.")
    p.add_argument("--database", default="spanscope", help="Database to create (default spanscope).")
    p.add_argument(
        "--per-node",
        action="store_true",
        help="No ON CLUSTER: the same statements to run on every node in turn (no distributed DDL queue).",
    )
    p.add_argument("--no-replication", action="store_true", help="Plain MergeTree engines: shards without replicas.")
    p.add_argument("--apply", metavar="URL", help="Run the statements on this clickhouse:// node instead of printing.")


def run(args: argparse.Namespace) -> int:
    if args.command == "compact":
        return run_compact(args)
    if args.command == "cluster-ddl":
        return run_cluster_ddl(args)
    return run_migrate(args) if args.command == "migrate" else run_migrate_data(args)


def _known(kind: str) -> list[str]:
    if kind == "duckdb":
        from spanscope.store.schema import MIGRATIONS
    else:
        from spanscope.store.clickhouse.schema import MIGRATIONS
    return list(MIGRATIONS)


def _pending(url: str | None, data_dir: str) -> list[str] | None:
    """Pending migration ids, read without changing the store; None when there is no store yet."""
    from spanscope.store.copy import CopyError, open_engine

    try:
        engine = open_engine(url, data_dir, read_only=True)
    except CopyError as exc:
        if "no DuckDB store" in str(exc):
            return None
        raise
    try:
        return list(engine._migrate(dry_run=True))
    finally:
        engine.close()


def run_migrate(args: argparse.Namespace) -> int:
    from spanscope.store import store_kind
    from spanscope.store.copy import open_engine, redact

    url = resolve("store", args.store)
    data_dir = str(resolve("data_dir", args.data_dir))
    try:
        kind = store_kind(url)
        label = redact(url) if url else f"{Path(data_dir).resolve()} (DuckDB)"
        known = _known(kind)
        pending = _pending(url, data_dir)
        pending = known if pending is None else pending
        print(f"store: {label}")
        if args.dry_run:
            for mid in known:
                print(f"  {'pending' if mid in pending else 'applied':<8} {mid}")
            print(
                f"{len(pending)} pending" + (" (run without --dry-run to apply)" if pending else ": schema is current")
            )
            return 0
        if not pending:
            print(f"schema is current ({len(known)} migrations); nothing to apply")
            return 0
        open_engine(url, data_dir, read_only=False).close()  # a read-write open applies what is pending
        still = _pending(url, data_dir) or []
    except Exception as exc:  # noqa: BLE001 - the command's answer: what failed (a driver's errors included)
        print(f"spanscope migrate: {exc}", file=sys.stderr)
        return 2
    for mid in pending:
        if mid not in still:
            print(f"applied {mid}")
    if still:
        print(f"spanscope migrate: still pending: {', '.join(still)}", file=sys.stderr)
        return 1
    print(f"schema is current ({len(known)} migrations)")
    return 0


def run_migrate_data(args: argparse.Namespace) -> int:
    from spanscope.store.copy import copy_store, normalize_url, redact

    source, target = normalize_url(args.source), normalize_url(args.target)
    data_dir = str(resolve("data_dir", args.data_dir))
    print(f"copying {redact(source)} -> {redact(target)}", file=sys.stderr)
    try:
        report = copy_store(
            source,
            target,
            data_dir=data_dir,
            checkpoint=args.checkpoint,
            batch_rows=args.batch_rows,
            restart=args.restart,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        print("interrupted: run the same command again to continue from the checkpoint", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the command's answer: what failed (a driver's errors included)
        print(f"spanscope migrate-data: {exc}", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for name, rows in report.copied.items():
        note = " (resumed)" if name in report.resumed else ""
        print(f"{name}: {rows} rows copied{note}")
    if report.already_done:
        print(f"already copied by an earlier run: {', '.join(report.already_done)} (--restart to copy again)")
    print(f"done; checkpoint: {report.checkpoint}")
    return 0


def run_compact(args: argparse.Namespace) -> int:
    from spanscope.store import store_kind
    from spanscope.store.clickhouse.compact import by_id_tables, closed_days, days, merge_closed_days
    from spanscope.store.clickhouse.schema import MERGE_CLOSED_AFTER_S
    from spanscope.store.copy import open_engine, redact

    url = resolve("store", args.store)
    if store_kind(url) == "duckdb":
        print("a DuckDB store has no parts to merge: nothing to do")
        return 0
    grace = MERGE_CLOSED_AFTER_S if args.grace_seconds is None else args.grace_seconds
    print(f"store: {redact(url)}")
    try:
        engine = open_engine(url, str(resolve("data_dir", args.data_dir)), read_only=args.dry_run)
        try:
            if args.dry_run:
                todo = {(d.table, d.partition_id) for d in closed_days(engine._ex, grace_s=grace)}
                for d in [*days(engine._ex), *by_id_tables(engine._ex)]:
                    mark = "to merge" if (d.table, d.partition_id) in todo else ""
                    day = str(d.day) if d.day is not None else "whole"
                    print(f"  {d.table:<20} {day:<10} {d.parts:>4} parts {d.rows:>12,} rows  {mark}")
                print(
                    f"{len(todo)} closed day(s) or table(s) with several parts"
                    + (" (run without --dry-run)" if todo else "")
                )
                return 0

            def done(d: Any, seconds: float) -> None:
                what = f"{d.table} {d.day}" if d.day is not None else f"{d.table} (whole)"
                print(f"merged {what}: {d.parts} parts, {d.rows:,} rows into one part ({seconds:.1f} s)", flush=True)

            merged = merge_closed_days(engine, grace_s=grace, on_day=done)
        finally:
            engine.close()
    except Exception as exc:  # noqa: BLE001 - the command's answer: what failed (a driver's errors included)
        print(f"spanscope compact: {exc}", file=sys.stderr)
        return 2
    print(f"{len(merged)} day(s) or table(s) merged" if merged else "nothing has several parts: nothing to merge")
    return 0


def run_cluster_ddl(args: argparse.Namespace) -> int:
    from spanscope.store.clickhouse import executor_from_url
    from spanscope.store.clickhouse.cluster import current_cluster_ddl
    from spanscope.store.copy import redact

    statements = current_cluster_ddl(
        args.cluster, args.database, replicated=not args.no_replication, per_node=args.per_node
    )
    if not args.apply:
        print(";\n\n".join(statements) + ";")
        return 0
    try:
        target = executor_from_url(args.apply)
        try:
            for statement in statements:
                target.command(statement)
        finally:
            target.close()
    except Exception as exc:  # noqa: BLE001 - the command's answer: what failed (a driver's errors included)
        print(f"spanscope cluster-ddl: {exc}", file=sys.stderr)
        return 2
    print(f"{len(statements)} statements applied on {redact(args.apply)}")
    return 0
