"""``spanscope monitors list|test|history|regressions``: through the server, or from the data dir when none answers.

``list`` and ``history`` read ``<data-dir>/monitors.sqlite`` directly when no server answers (SQLite allows
it even while a server runs). ``test`` and ``regressions`` need the traces: through the server when it runs,
else from the store file opened read-only.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

from spanscope.client import ApiError, Client
from spanscope.monitors.rules import MonitorRuleError, parse_rule
from spanscope.monitors.spec import MonitorSpec, MonitorSpecError, load_file, spec_from_dict
from spanscope.monitors.state import FILENAME, MonitorDB
from spanscope.query import FilterError
from spanscope.settings import resolve


def add_parser(sub: argparse._SubParsersAction, add_endpoint_args: Any) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("monitors", help="List, test and read the history of monitors; find regressions.")
    msub = p.add_subparsers(dest="monitors_command", required=True)
    ls = msub.add_parser("list", help="Monitors of the project with their state.")
    ls.add_argument("--json", action="store_true")
    add_endpoint_args(ls)
    t = msub.add_parser("test", help="Evaluate a rule, a stored monitor or a monitors file now, without notifying.")
    t.add_argument("target", nargs="?", help='a rule ("error_rate > 5%% over 15m") or a monitor\'s name')
    t.add_argument("--file", help="Test the monitors of this monitors.yaml / .toml (all, or the one named).")
    t.add_argument("--at", help="Evaluate as of this instant (ISO-8601 or epoch ms); default now.")
    t.add_argument("--json", action="store_true")
    add_endpoint_args(t)
    h = msub.add_parser("history", help="State changes (firing, resolved), newest first.")
    h.add_argument("name", nargs="?", help="One monitor (default: all of the project).")
    h.add_argument("--limit", type=int, default=50)
    h.add_argument("--json", action="store_true")
    add_endpoint_args(h)
    r = msub.add_parser("regressions", help="Compare versions (or the last window) of a metric, with effect size.")
    r.add_argument("metric", nargs="?", default="tag.quality_score")
    r.add_argument("--by", default="tag.app.version", help="tag.<key> or metadata.<key>; 'time' for windows")
    r.add_argument("--filter", default=None)
    r.add_argument("--window", default="1d")
    r.add_argument("--previous", default="7d")
    r.add_argument("--json", action="store_true")
    add_endpoint_args(r)


def _when(ns: int | None) -> str:
    if not ns:
        return ""
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _client(args: argparse.Namespace) -> Client | None:
    client = Client(args.endpoint, args.api_key, args.project)
    return client if args.endpoint or client.health() else None


def _project(args: argparse.Namespace) -> str:
    return resolve("project", args.project)


def _db(args: argparse.Namespace) -> MonitorDB | None:
    path = Path(resolve("data_dir", args.data_dir)) / FILENAME
    return MonitorDB(path) if path.exists() else None


def _at_ns(text: str | None) -> int | None:
    from spanscope.server.routes.monitors import parse_at

    return parse_at(text)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- list ------------------------------------------------------------------------------------------------------


def _list(args: argparse.Namespace, out: Console) -> int:
    client = _client(args)
    if client is not None:
        monitors = client._request("GET", "/api/v1/monitors")["monitors"]
    else:
        db = _db(args)
        monitors = []
        if db is not None:
            states = db.states(_project(args))
            for spec, source in db.specs(_project(args)):
                st = states.get((spec.project, spec.name)) or {"state": "ok"}
                monitors.append({**spec.to_dict(), "source": source, "status": st})
    if args.json:
        _print_json(monitors)
        return 0
    table = Table(title=f"{len(monitors)} monitor(s) in project {_project(args)!r}")
    for col in ("name", "state", "value", "last evaluated", "rule", "source"):
        table.add_column(col)
    for m in monitors:
        st = m.get("status") or {}
        state = st.get("state", "ok") + (" (no data)" if st.get("no_data") else "")
        color = {"firing": "red", "resolved": "green"}.get(st.get("state", ""), "")
        table.add_row(
            m["name"],
            f"[{color}]{state}[/{color}]" if color else state,
            _num(st.get("value")),
            _when(st.get("evaluated_at_ns")),
            m["rule"],
            m.get("source", ""),
        )
    out.print(table)
    return 0


# -- test ------------------------------------------------------------------------------------------------------


def _specs_to_test(args: argparse.Namespace, client: Client | None) -> list[MonitorSpec]:
    project = _project(args)
    if args.file:
        specs = load_file(args.file)
        if args.target:
            specs = [s for s in specs if s.name == args.target]
            if not specs:
                raise MonitorSpecError(f"no monitor named {args.target!r} in {args.file}")
        return specs
    if not args.target:
        raise MonitorSpecError("give a rule, a monitor's name or --file")
    try:
        parse_rule(args.target)
        return [spec_from_dict({"name": "adhoc", "rule": args.target, "project": project})]
    except MonitorRuleError:
        if " " in args.target.strip():
            raise
    if client is not None:
        data = client._request("GET", f"/api/v1/monitors/{quote(args.target)}")
        data = {k: v for k, v in data.items() if k not in ("source", "status")}
        return [spec_from_dict(data)]
    db = _db(args)
    found = db.get(project, args.target) if db is not None else None
    if found is None:
        raise MonitorSpecError(f"no monitor named {args.target!r} in project {project!r}")
    return [found[0]]


def _test_local(args: argparse.Namespace, specs: list[MonitorSpec], at_ns: int | None) -> list[dict[str, Any]]:
    from spanscope.monitors.evaluate import evaluate
    from spanscope.monitors.service import public_url, trace_url
    from spanscope.store import open_store, store_kind

    data_dir = resolve("data_dir", args.data_dir)
    store_url = resolve("store", getattr(args, "store", None))
    if store_kind(store_url) == "duckdb" and not store_url and not (Path(data_dir) / "spanscope.duckdb").exists():
        raise MonitorSpecError(f"no server answers and there is no store in {data_dir!r}")
    store = open_store(data_dir, store_url, read_only=True)
    try:
        out = []
        for spec in specs:
            con = store._cursor()
            try:
                at = at_ns if at_ns is not None else int(datetime.now(UTC).timestamp() * 1e9)
                ev = evaluate(
                    con,
                    spec.parsed(),
                    spec.project,
                    at,
                    min_samples=spec.min_samples,
                    examples=spec.examples,
                    dialect=store.dialect,
                )
            finally:
                con.close()
            base = public_url()
            examples = [{**e, "url": trace_url(base, spec.project, e["trace_id"])} for e in ev.examples]
            out.append({"monitor": spec.name, **ev.to_dict(), "examples": examples})
        return out
    finally:
        store.close()


def _test(args: argparse.Namespace, out: Console) -> int:
    client = _client(args)
    specs = _specs_to_test(args, client)
    at_ns = _at_ns(args.at)
    if client is not None:
        results = []
        for spec in specs:
            body = spec.to_dict()
            if at_ns is not None:
                body["at"] = at_ns / 1e6
            client.project = spec.project
            results.append(client._request("POST", "/api/v1/monitors/test", body))
    else:
        results = _test_local(args, specs, at_ns)
    if args.json:
        _print_json(results)
        return 0
    for r in results:
        verdict = (
            "[red]FIRING[/red]"
            if r["firing"]
            else ("[yellow]no data[/yellow]" if r["no_data"] else "[green]ok[/green]")
        )
        line = f"{r['monitor']}: {verdict}  {r['aggregate']} = {_num(r['value'])} ({r['samples']} sample(s))"
        if r.get("baseline") is not None or r.get("baseline_samples"):
            line += (
                f"; baseline {_num(r.get('baseline'))} ({r.get('baseline_samples')}); change {_num(r.get('change'))}"
            )
        out.print(line + f"  [dim]{r['condition']} over {r['window']}[/dim]")
        for e in r.get("examples", []):
            out.print(f"    {e['trace_id']}  {_num(e.get('value'))}  {e.get('url', '')}")
    return 0


# -- history -----------------------------------------------------------------------------------------------------


def _history(args: argparse.Namespace, out: Console) -> int:
    client = _client(args)
    project = _project(args)
    if client is not None:
        path = f"/api/v1/monitors/{quote(args.name)}/history" if args.name else "/api/v1/monitors/history"
        events = client._request("GET", f"{path}?limit={int(args.limit)}")["events"]
    else:
        db = _db(args)
        events = db.history(project, args.name, args.limit) if db is not None else []
    if args.json:
        _print_json(events)
        return 0
    table = Table(title=f"{len(events)} state change(s)" + (f" of {args.name}" if args.name else ""))
    for col in ("when", "monitor", "state", "value", "baseline", "condition", "offending", "notified"):
        table.add_column(col)
    for e in events:
        notified = ", ".join(
            f"{n['notifier']}:{'ok' if n.get('ok') else n.get('error', 'failed')}" for n in e.get("notifications", [])
        )
        offending = e.get("offending_trace_ids")
        ds = e.get("dataset")
        off = "" if offending is None else f"{len(offending)}" + (f" -> {ds.get('name')}" if ds else "")
        table.add_row(
            _when(e.get("at_ns")),
            e["monitor"],
            e["state"],
            _num(e.get("value")),
            _num(e.get("baseline")),
            f"{e.get('condition', '')} over {e.get('window', '')}",
            off,
            notified,
        )
    out.print(table)
    return 0


# -- regressions -------------------------------------------------------------------------------------------------


def _regressions(args: argparse.Namespace, out: Console) -> int:
    from spanscope.monitors.regressions import regressions
    from spanscope.store import open_store

    if _client(args) is not None:
        raise MonitorSpecError(
            "a server holds the store: stop it, or call spanscope.monitors.regressions.regressions() in the "
            "server's process"
        )
    store = open_store(resolve("data_dir", args.data_dir), read_only=True)
    try:
        by = None if args.by in ("time", "none", "") else args.by
        found = regressions(
            store, _project(args), args.metric, by=by, filter=args.filter, window=args.window, previous=args.previous
        )
    finally:
        store.close()
    if args.json:
        _print_json([r.to_dict() for r in found])
        return 0
    table = Table(
        title=f"{args.metric}: {'per ' + by if by else 'last ' + args.window + ' vs previous ' + args.previous}"
    )
    for col in ("baseline", "candidate", "n", "mean", "Δ (95% CI)", "effect (Cliff's δ)", "confidence", "verdict"):
        table.add_column(col)
    for r in found:
        verdict = {"worse": "[red]regression[/red]", "better": "[green]improved[/green]"}.get(r.direction, "same")
        table.add_row(
            r.baseline,
            r.candidate,
            f"{r.n_baseline} / {r.n_candidate}",
            f"{r.mean_baseline:.4g} -> {r.mean_candidate:.4g}",
            f"{r.delta:+.4g} ({r.ci_low:+.3g}, {r.ci_high:+.3g})",
            f"{r.effect} ({r.effect_size:+.2f})",
            f"{r.confidence:.3f}",
            verdict,
        )
    out.print(table)
    return 0


def run(args: argparse.Namespace) -> int:
    out = Console(soft_wrap=True)
    err = Console(stderr=True)
    commands = {"list": _list, "test": _test, "history": _history, "regressions": _regressions}
    try:
        return commands[args.monitors_command](args, out)
    except (MonitorSpecError, MonitorRuleError, FilterError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    except (ApiError, ConnectionError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 1
