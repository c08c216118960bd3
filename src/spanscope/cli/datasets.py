"""``spanscope datasets create|list|show|export|add-traces|diff``: datasets on a running server."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from spanscope.client import ApiError, Client
from spanscope.query import FilterError

_EXT = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet", "openai": "openai.jsonl"}


def add_parser(sub: argparse._SubParsersAction, endpoint_args: Callable[[argparse.ArgumentParser], None]) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("datasets", help="Evaluation datasets: create, list, show, export, add traces, diff versions.")
    dsub = p.add_subparsers(dest="datasets_command", required=True)

    c = dsub.add_parser("create", help="Create a dataset (optionally filled from a CSV / JSONL / Parquet file).")
    c.add_argument("name")
    c.add_argument("--description", default=None)
    c.add_argument("--from-file", default=None, metavar="PATH", help="Records to add: .csv, .jsonl or .parquet.")
    endpoint_args(c)

    ls = dsub.add_parser("list", help="List datasets with their latest version.")
    endpoint_args(ls)

    s = dsub.add_parser("show", help="A dataset's versions and first records.")
    s.add_argument("name")
    s.add_argument("--version", type=int, default=None)
    s.add_argument("--limit", type=int, default=10, help="Records to show (default 10).")
    endpoint_args(s)

    e = dsub.add_parser("export", help="Write a version as CSV, JSONL, Parquet or OpenAI fine-tuning JSONL.")
    e.add_argument("name")
    e.add_argument("--format", choices=list(_EXT), default="csv")
    e.add_argument("--output", "-o", default=None, help="File to write (default NAME-vVERSION.EXT).")
    e.add_argument("--version", type=int, default=None)
    e.add_argument("--no-expected", action="store_true", help="openai: keep the traced reply, not `expected`.")
    endpoint_args(e)

    a = dsub.add_parser("add-traces", help="Add one record per trace matching FILTER.")
    a.add_argument("name")
    a.add_argument("filter", help='e.g. "tag.quality_score < 0.5"')
    a.add_argument("--map", action="append", required=True, metavar="FIELD=PATH",
                   help="e.g. input=span.inputs.messages[-1].content (repeatable)")  # fmt: skip
    a.add_argument("--sample", default=None, help="How many (an integer) or what fraction (e.g. 0.1).")
    a.add_argument("--seed", type=int, default=None)
    a.add_argument("--stratify-by", default=None, help="e.g. tag.user, metadata.intent, tag.quality_score")
    a.add_argument("--buckets", default=None, help="Numeric strata: a count (4) or edges (0,0.3,0.6).")
    a.add_argument("--allocation", choices=["equal", "proportional"], default="equal")
    a.add_argument("--no-dedupe", action="store_true")
    endpoint_args(a)

    d = dsub.add_parser("diff", help="What changed between two versions.")
    d.add_argument("name")
    d.add_argument("from_version", type=int)
    d.add_argument("to_version", type=int)
    endpoint_args(d)


def _when(ns: int | None) -> str:
    return "" if ns is None else dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _cell(value: Any, width: int = 50) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _sample(text: str | None) -> int | float | None:
    if text is None:
        return None
    return float(text) if "." in text else int(text)


def _buckets(text: str | None) -> int | list[float] | None:
    if text is None:
        return None
    return [float(x) for x in text.split(",")] if "," in text else int(text)


def run(args: argparse.Namespace) -> int:
    from spanscope import datasets

    out, err = Console(), Console(stderr=True)
    client = Client(args.endpoint, args.api_key, args.project)
    try:
        cmd = args.datasets_command
        if cmd == "create":
            ds = datasets.create(args.name, args.description, client=client)
            if args.from_file:
                path = str(args.from_file)
                adder = (
                    ds.add_from_parquet
                    if path.endswith(".parquet")
                    else ds.add_from_jsonl
                    if path.endswith(".jsonl")
                    else ds.add_from_csv
                )
                result = adder(path)
                out.print(f"added {result['added']} record(s) ({result['duplicates']} duplicate(s) skipped)")
            out.print(
                f"dataset [bold]{ds.name}[/bold] version {ds.version} "
                f"({ds.record_count} records, hash {ds.content_hash[:16]})"
            )
            return 0
        if cmd == "list":
            table = Table(title="datasets")
            for col in ("name", "version", "records", "hash", "description"):
                table.add_column(col)
            for ds in datasets.list_datasets(client=client):
                table.add_row(
                    ds.name, str(ds.version), str(ds.record_count), ds.content_hash[:16], _cell(ds.description)
                )
            out.print(table)
            return 0
        if cmd == "show":
            ds = datasets.get(args.name, version=args.version, client=client)
            out.print(
                f"[bold]{ds.name}[/bold] version {ds.version} of {ds.latest_version}: "
                f"{ds.record_count} record(s), hash {ds.content_hash}"
            )
            if ds.description:
                out.print(ds.description)
            vt = Table(title="versions")
            for col in ("version", "records", "hash", "when", "by", "change"):
                vt.add_column(col)
            for v in ds.versions():
                vt.add_row(
                    str(v["version"]),
                    str(v["record_count"]),
                    v["content_hash"][:16],
                    _when(v["created_at_ns"]),
                    v["created_by"] or "",
                    v["message"] or "",
                )
            out.print(vt)
            df = ds.to_pandas()
            rt = Table(title=f"first {min(args.limit, len(df))} record(s)")
            for col in df.columns:
                rt.add_column(col, overflow="fold")
            for _, row in df.head(args.limit).iterrows():
                rt.add_row(*[_cell(v) for v in row])
            out.print(rt)
            return 0
        if cmd == "export":
            ds = datasets.get(args.name, version=args.version, client=client)
            path = args.output or f"{ds.name}-v{ds.version}.{_EXT[args.format]}"
            if args.format == "openai":
                n = ds.to_openai_jsonl(path, use_expected=not args.no_expected)
            else:
                getattr(ds, f"to_{args.format}")(path)
                n = ds.record_count
            out.print(f"wrote {n} record(s) of {ds.name} v{ds.version} to {path}")
            return 0
        if cmd == "add-traces":
            mapping = {}
            for item in args.map:
                field, sep, path = item.partition("=")
                if not sep or not field or not path:
                    err.print(f"[red]--map expects FIELD=PATH, got {item!r}[/red]")
                    return 2
                mapping[field.strip()] = path.strip()
            ds = datasets.get(args.name, client=client)
            result = ds.add_from_traces(
                args.filter, mapping, _sample(args.sample), not args.no_dedupe, seed=args.seed,
                stratify_by=args.stratify_by, buckets=_buckets(args.buckets), allocation=args.allocation,
            )  # fmt: skip
            out.print(
                f"matched {result['matched_traces']} trace(s); added {result['added']}, "
                f"{result['duplicates']} duplicate(s), "
                f"{result['skipped_empty']} empty; now version {ds.version} ({ds.record_count} records)"
            )
            if result.get("strata"):
                out.print("strata: " + ", ".join(f"{k}: {v}" for k, v in result["strata"].items()))
            return 0
        if cmd == "diff":
            d = datasets.diff(args.name, args.from_version, args.to_version, client=client)
            counts = f"{len(d['added'])} added, {len(d['removed'])} removed, {len(d['changed'])} changed"
            out.print(f"{args.name}: v{d['from_version']} -> v{d['to_version']}: {counts}, {d['unchanged']} unchanged")
            for r in d["added"]:
                out.print(f"  [green]+[/green] {r['record_id']} {_cell(r['fields'], 80)}")
            for r in d["removed"]:
                out.print(f"  [red]-[/red] {r['record_id']} {_cell(r['fields'], 80)}")
            for r in d["changed"]:
                what = ", ".join([*r["fields"], *(["expected"] if r["expected"] else [])])
                out.print(f"  [yellow]~[/yellow] {r['record_id']} ({what})")
            return 0
    except FilterError as exc:
        err.print(f"[red]filter error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError, ValueError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
    return 2
