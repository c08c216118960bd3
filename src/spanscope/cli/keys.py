"""``spanscope keys create|list|revoke``: API keys in ``<data-dir>/keys.json`` (only hashes are stored)."""

from __future__ import annotations

import argparse
import datetime as dt

from rich.console import Console
from rich.table import Table

from spanscope.settings import resolve


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("keys", help="Create, list and revoke API keys (used with `serve --require-auth`).")
    ksub = p.add_subparsers(dest="keys_command", required=True)
    c = ksub.add_parser("create", help="Create a key for a project; prints it once (the last word).")
    c.add_argument("--project", required=True)
    c.add_argument("--name", default=None, help="A label, e.g. the app or person using it.")
    c.add_argument("--data-dir", default=None)
    ls = ksub.add_parser("list", help="List keys (ids, projects, states; never the secrets).")
    ls.add_argument("--data-dir", default=None)
    r = ksub.add_parser("revoke", help="Revoke a key by id (or by the key itself).")
    r.add_argument("key_id")
    r.add_argument("--data-dir", default=None)


def _when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run(args: argparse.Namespace) -> int:
    from spanscope.server.keys import KeyStore, UnknownKey

    store = KeyStore(resolve("data_dir", args.data_dir))
    if args.keys_command == "create":
        rec, key = store.create(args.project, args.name)
        print(f"Created key {rec.id} for project {rec.project!r}. Store it now; it is not shown again:")
        print(key)
        return 0
    if args.keys_command == "list":
        table = Table(title=f"API keys in {store.path}")
        for col in ("id", "project", "name", "created", "revoked"):
            table.add_column(col)
        for rec in store.list():
            table.add_row(rec.id, rec.project, rec.name or "", _when(rec.created_at), _when(rec.revoked_at))
        Console().print(table)
        return 0
    try:
        rec = store.revoke(args.key_id)
    except UnknownKey as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        return 1
    print(f"Revoked key {rec.id} of project {rec.project!r}")
    return 0
