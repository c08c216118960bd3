"""Every setting, declared once, as data.

Each setting has a name, a ``SPANSCOPE_*`` environment variable, a type, a default and a help text.
The SDK's ``configure()``, the CLI and the server read this table; ``docs/settings.md`` documents it and a
test checks every entry is documented. Precedence: explicit argument > environment > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Final

DEFAULT_PORT: Final = 8417


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    env: str
    type: type
    default: Any
    help: str
    scope: str  # "sdk" | "server" | "both"

    def parse(self, raw: str) -> Any:
        if self.type is bool:
            return raw.strip().lower() in ("1", "true", "yes", "on")
        if self.type is int:
            return int(raw)
        if self.type is float:
            return float(raw)
        return raw


SETTINGS: Final[tuple[Setting, ...]] = (
    # --- SDK ---
    Setting(
        "endpoint",
        "SPANSCOPE_ENDPOINT",
        str,
        None,
        "Base URL of a spanscope server the SDK sends to and searches, e.g. http://127.0.0.1:8417.",
        "sdk",
    ),
    Setting("api_key", "SPANSCOPE_API_KEY", str, None, "API key sent as `Authorization: Bearer <key>`.", "sdk"),
    Setting(
        "project",
        "SPANSCOPE_PROJECT",
        str,
        "default",
        "Project the SDK writes to and reads from (sent as the `X-Spanscope-Project` header).",
        "sdk",
    ),
    Setting(
        "disabled",
        "SPANSCOPE_DISABLED",
        bool,
        False,
        "Turn the SDK into a no-op: spans are neither recorded nor sent.",
        "sdk",
    ),
    Setting(
        "batch_size",
        "SPANSCOPE_BATCH_SIZE",
        int,
        512,
        "Spans per export batch; the worker wakes as soon as a batch is full.",
        "sdk",
    ),
    Setting(
        "flush_interval",
        "SPANSCOPE_FLUSH_INTERVAL",
        float,
        0.5,
        "Seconds the worker waits before sending a partial batch.",
        "sdk",
    ),
    Setting(
        "max_queue_size",
        "SPANSCOPE_MAX_QUEUE_SIZE",
        int,
        100_000,
        "Records kept in memory waiting to be sent; beyond it new records are dropped and counted.",
        "sdk",
    ),
    Setting(
        "exit_timeout",
        "SPANSCOPE_EXIT_TIMEOUT",
        float,
        2.0,
        "Seconds the flush at interpreter exit may take at most.",
        "sdk",
    ),
    Setting(
        "request_timeout",
        "SPANSCOPE_REQUEST_TIMEOUT",
        float,
        10.0,
        "Seconds one HTTP request to the server may take.",
        "sdk",
    ),
    Setting(
        "capture_inputs",
        "SPANSCOPE_CAPTURE_INPUTS",
        bool,
        True,
        "Send span inputs (function arguments, `set_inputs`); off: no span's inputs leave the process.",
        "sdk",
    ),
    Setting(
        "capture_outputs",
        "SPANSCOPE_CAPTURE_OUTPUTS",
        bool,
        True,
        "Send span outputs (return values, `set_outputs`); off: no span's outputs leave the process.",
        "sdk",
    ),
    Setting(
        "redact_builtins",
        "SPANSCOPE_REDACT_BUILTINS",
        bool,
        True,
        "Replace e-mail addresses, card numbers, API keys and bearer tokens in payloads with `[REDACTED:<kind>]`.",
        "sdk",
    ),
    Setting(
        "max_field_bytes",
        "SPANSCOPE_MAX_FIELD_BYTES",
        int,
        65_536,
        "Largest JSON size of one span field (inputs, outputs, attributes, events); larger ones are truncated "
        "with a marker (docs/sdk.md).",
        "sdk",
    ),
    Setting(
        "sample_rate",
        "SPANSCOPE_SAMPLE_RATE",
        float,
        1.0,
        "Head sampling: share of traces recorded, decided on the trace id when the root starts.",
        "sdk",
    ),
    Setting(
        "otel_bridge",
        "SPANSCOPE_OTEL_BRIDGE",
        bool,
        True,
        "When opentelemetry is imported, nest spanscope and OpenTelemetry spans in each other's traces.",
        "sdk",
    ),
    Setting(
        "otlp_endpoint",
        "SPANSCOPE_OTLP_ENDPOINT",
        str,
        None,
        "Also export every span as OTLP/HTTP JSON to this endpoint (an OpenTelemetry collector or backend).",
        "sdk",
    ),
    Setting(
        "otlp_headers",
        "SPANSCOPE_OTLP_HEADERS",
        str,
        None,
        "Headers for the OTLP export, as `key=value,key2=value2`.",
        "sdk",
    ),
    # --- server ---
    Setting("host", "SPANSCOPE_HOST", str, "127.0.0.1", "Address `spanscope serve` binds to.", "server"),
    Setting("port", "SPANSCOPE_PORT", int, DEFAULT_PORT, "Port `spanscope serve` listens on.", "server"),
    Setting(
        "require_auth",
        "SPANSCOPE_REQUIRE_AUTH",
        bool,
        False,
        "Demand `Authorization: Bearer <key>` on every API route (keys: `spanscope keys create`).",
        "server",
    ),
    Setting(
        "insecure",
        "SPANSCOPE_INSECURE",
        bool,
        False,
        "Allow `spanscope serve` to bind a non-loopback address without --require-auth.",
        "server",
    ),
    Setting(
        "data_dir",
        "SPANSCOPE_DATA_DIR",
        str,
        "./.spanscope",
        "Directory holding the embedded store (`spanscope.duckdb`).",
        "server",
    ),
    Setting(
        "store",
        "SPANSCOPE_STORE",
        str,
        None,
        "Store URL: `duckdb:///path` (default: DuckDB in the data dir), `chdb:///path` (ClickHouse in-process) "
        "or `clickhouse://user:pass@host:8123/db` (a server or cluster; `pip install 'spanscope[clickhouse]'`). "
        "The data dir still holds the ingest log and keys.",
        "server",
    ),
    Setting(
        "max_body_bytes",
        "SPANSCOPE_MAX_BODY_BYTES",
        int,
        32 * 1024 * 1024,
        "Largest request body the server accepts (after decompression); larger bodies get 413.",
        "server",
    ),
    Setting(
        "max_pending_rows",
        "SPANSCOPE_MAX_PENDING_ROWS",
        int,
        50_000,
        "Rows acknowledged but not yet in the database beyond which ingest answers 429 (keeps data queryable "
        "within about a second of its 2xx).",
        "server",
    ),
    Setting(
        "otlp_decode_workers",
        "SPANSCOPE_OTLP_DECODE_WORKERS",
        int,
        1,
        "Processes that decode large OTLP bodies beside the server's own (0: decode in the server process).",
        "server",
    ),
    Setting(
        "apply_delay",
        "SPANSCOPE_APPLY_DELAY",
        float,
        0.25,
        "Seconds the database writer gathers acknowledged requests before writing them in one transaction "
        "(less when a read is waiting, which makes it write at once): fewer, larger transactions cost less per span.",
        "server",
    ),
    Setting(
        "write_batch_rows",
        "SPANSCOPE_WRITE_BATCH_ROWS",
        int,
        20_000,
        "Rows written to the database in one transaction at most (ingest is acked earlier, once in the ingest log).",
        "server",
    ),
    # --- retention (docs/scale-out.md#retention) ---
    Setting(
        "retention_days",
        "SPANSCOPE_RETENTION_DAYS",
        str,
        None,
        "Delete trace data older than this many days: `30` for every project, `30,audit=365,scratch=7` with "
        "per-project overrides (`0` keeps forever; `spanscope serve --retention-days` is repeatable). ClickHouse: "
        "TTL rules on its tables, set at start-up when this changes; DuckDB: a periodic delete.",
        "server",
    ),
    Setting(
        "retention_interval",
        "SPANSCOPE_RETENTION_INTERVAL",
        float,
        3600.0,
        "Seconds between two retention deletes on a DuckDB store (the first runs at start-up); ClickHouse "
        "expires rows in its merges.",
        "server",
    ),
    # --- metrics and monitors (docs/metrics.md, docs/monitors.md) ---
    Setting(
        "metrics_top_n",
        "SPANSCOPE_METRICS_TOP_N",
        int,
        50,
        "`/metrics` keeps at most this many span names, trace names, models, services and finding names per "
        "project as label values; the rest are counted as `other`.",
        "server",
    ),
    Setting(
        "metrics_max_projects",
        "SPANSCOPE_METRICS_MAX_PROJECTS",
        int,
        200,
        "`/metrics` keeps at most this many projects; later ones are counted under project `_other`.",
        "server",
    ),
    Setting(
        "metrics_tags",
        "SPANSCOPE_METRICS_TAGS",
        str,
        "quality_score",
        "Comma-separated numeric trace tags exported as `spanscope_tag_value` histograms.",
        "server",
    ),
    Setting(
        "monitors_file",
        "SPANSCOPE_MONITORS_FILE",
        str,
        None,
        "Monitors to load at start-up (`monitors.yaml` or `.toml`; `spanscope serve --monitors FILE`).",
        "server",
    ),
    Setting(
        "monitors_interval",
        "SPANSCOPE_MONITORS_INTERVAL",
        float,
        60.0,
        "Seconds between two evaluations of a monitor that sets no `every`; 0 turns the scheduler off.",
        "server",
    ),
    Setting(
        "monitors_webhook",
        "SPANSCOPE_MONITORS_WEBHOOK",
        str,
        None,
        "Webhook URL notified when a monitor without its own `webhook` fires or resolves.",
        "server",
    ),
    Setting(
        "public_url",
        "SPANSCOPE_PUBLIC_URL",
        str,
        None,
        "Base URL of this server as users reach it, for links in notifications; default http://<host>:<port>.",
        "server",
    ),
)

_BY_NAME: Final = {s.name: s for s in SETTINGS}


def setting(name: str) -> Setting:
    return _BY_NAME[name]


def resolve(name: str, explicit: Any = None) -> Any:
    """The value of a setting: ``explicit`` if not None, else its environment variable, else its default."""
    if explicit is not None:
        return explicit
    s = _BY_NAME[name]
    raw = os.environ.get(s.env)
    if raw is not None and raw != "":
        try:
            return s.parse(raw)
        except ValueError:
            return s.default
    return s.default


def default_endpoint() -> str:
    return f"http://127.0.0.1:{DEFAULT_PORT}"


def render_markdown() -> str:
    """docs/settings.md, generated from the table (``make docs``)."""
    lines = [
        "# Settings",
        "",
        "Every setting is declared once in `src/spanscope/settings.py`; this page is generated from it "
        "(`make docs`). Precedence: an explicit argument (to "
        "`spanscope.configure(...)` or a CLI flag) > the environment variable > the default.",
        "",
        "| setting | environment variable | type | default | used by | what it does |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        lines.append(f"| `{s.name}` | `{s.env}` | {s.type.__name__} | `{s.default}` | {s.scope} | {s.help} |")
    return "\n".join(lines) + "\n"
