"""The metrics registry: fed by every acknowledged ingest write, rendered by ``GET /metrics``.

:meth:`MetricsRegistry.on_ingest` is an ingest listener (``ServerState.ingest_listeners``): it turns each
batch's spans, trace tags, findings, rejections and SDK drop reports into counters and histograms, per
project. Counters start at zero with the server (Prometheus treats a restart as a counter reset) and count
what was received: a span the SDK re-sends after a failed request counts twice.

Which spans count where (names in ``docs/metrics.md``):

- every span: ``spanscope_spans_total``, ``spanscope_span_errors_total`` (status ERROR) and
  ``spanscope_span_duration_seconds``; a root span (no parent) also ``spanscope_traces_total``,
  ``spanscope_trace_errors_total`` and ``spanscope_trace_duration_seconds``;
- a *model call* — a span of kind ``llm`` or ``embedding``, or one carrying ``gen_ai.usage.input_tokens`` /
  ``output_tokens`` — also feeds ``gen_ai_client_operation_duration_seconds``, ``gen_ai_client_token_usage``
  (one observation per token type present), ``spanscope_cost_usd_total`` (``spanscope.cost_usd``) and
  ``gen_ai_server_time_to_first_token_seconds`` when recorded. Roll-ups that SDKs put on a parent span (a
  trace's total tokens or cost on its root) are therefore not counted twice.

Label values are bounded per project by a :class:`~spanscope.metrics.limits.LabelLimiter`; trace ids only
ever appear in exemplars (OpenMetrics).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spanscope.ingest.native import IngestBatch
from spanscope.metrics import names as n
from spanscope.metrics.families import CounterFamily, ExemplarData, Family, HistogramFamily
from spanscope.metrics.limits import OTHER, LabelLimiter
from spanscope.settings import resolve

log = logging.getLogger("spanscope.metrics")

# Extra collectors (monitors add theirs): called with the project filter (None = every project).
ExtraCollector = Callable[[str | None], Iterable[Metric]]


def _number(value: Any) -> float | None:
    """A finite float for numbers, numeric strings and booleans (1/0); None otherwise."""
    # Exact type checks first: this runs several times per span on the ingest path.
    t = type(value)
    if t is int:
        return float(value)
    if t is float:
        return value if value - value == 0.0 else None  # inf - inf and nan - nan are nan
    if value is None:
        return None
    if t is bool:
        return 1.0 if value else 0.0
    if t is str:
        try:
            f = float(value)
        except ValueError:
            return None
        return f if f - f == 0.0 else None
    return None


def _text(value: Any) -> str:
    return value if type(value) is str else ("" if value is None else str(value))


@dataclass(slots=True)
class MetricsConfig:
    """What ``/metrics`` exports beyond the fixed families; None fields come from the settings table."""

    top_n: int | None = None
    max_projects: int | None = None
    tags: tuple[str, ...] | None = None
    extra: list[ExtraCollector] = field(default_factory=list)

    def resolved(self) -> MetricsConfig:
        tags = self.tags
        if tags is None:
            tags = tuple(t.strip() for t in str(resolve("metrics_tags") or "").split(",") if t.strip())
        return MetricsConfig(
            top_n=int(resolve("metrics_top_n", self.top_n)),
            max_projects=int(resolve("metrics_max_projects", self.max_projects)),
            tags=tags,
            extra=list(self.extra),
        )


class MetricsRegistry:
    """Per-project LLM metrics plus server health. Thread safe: listeners run in worker threads."""

    def __init__(self, store: Any = None, config: MetricsConfig | None = None) -> None:
        cfg = (config or MetricsConfig()).resolved()
        self.store = store
        self.config = cfg
        self.tags = frozenset(cfg.tags or ())
        self.limiter = LabelLimiter(cfg.top_n or 1, max_projects=cfg.max_projects or 1)
        self.extra: list[ExtraCollector] = list(cfg.extra)
        self._lock = threading.Lock()
        self._label_cache: dict[tuple[Any, ...], tuple[tuple[str, ...], ...]] = {}
        span_labels = ("project", "span_name", "span_kind", "gen_ai_request_model", "service_name")
        self.spans = CounterFamily(n.SPANS, "Spans received.", span_labels)
        self.span_errors = CounterFamily(n.SPAN_ERRORS, "Spans received with status ERROR.", span_labels)
        self.span_duration = HistogramFamily(
            n.SPAN_DURATION,
            "Span duration in seconds.",
            ("project", "span_name", "gen_ai_request_model"),
            n.DURATION_BUCKETS,
        )
        self.traces = CounterFamily(n.TRACES, "Traces received (root spans).", ("project", "trace_name"))
        self.trace_errors = CounterFamily(
            n.TRACE_ERRORS, "Traces whose root span has status ERROR.", ("project", "trace_name")
        )
        self.trace_duration = HistogramFamily(
            n.TRACE_DURATION, "Trace (root span) duration in seconds.", ("project", "trace_name"), n.DURATION_BUCKETS
        )
        genai = ("project", "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model")
        self.op_duration = HistogramFamily(
            n.GENAI_OPERATION_DURATION,
            "GenAI operation duration in seconds (OTel gen_ai.client.operation.duration).",
            (*genai, "error_type"),
            n.GENAI_DURATION_BUCKETS,
        )
        self.token_usage = HistogramFamily(
            n.GENAI_TOKEN_USAGE,
            "Tokens used per model call, by type (OTel gen_ai.client.token.usage); _sum is the token total.",
            (*genai, "gen_ai_token_type"),
            n.TOKEN_BUCKETS,
        )
        self.ttft = HistogramFamily(
            n.GENAI_TTFT,
            "Time to first token in seconds, where recorded (OTel gen_ai.server.time_to_first_token).",
            ("project", "gen_ai_request_model"),
            n.TTFT_BUCKETS,
        )
        self.cost = CounterFamily(
            n.COST, "Estimated cost in USD of model calls (spanscope.cost_usd).", ("project", "gen_ai_request_model")
        )
        self.findings = CounterFamily(
            n.FINDINGS, "Findings (scores, feedback) received.", ("project", "finding_name", "finding_source")
        )
        self.finding_value = HistogramFamily(
            n.FINDING_VALUE,
            "Numeric finding values (booleans as 1/0), e.g. quality_score.",
            ("project", "finding_name"),
            n.SCORE_BUCKETS,
        )
        self.tag_value = HistogramFamily(
            n.TAG_VALUE,
            "Numeric trace tags listed in the metrics_tags setting (booleans as 1/0).",
            ("project", "tag"),
            n.SCORE_BUCKETS,
        )
        self.ingested = CounterFamily(n.INGESTED, "Items accepted by ingest, by kind.", ("project", "kind"))
        self.rejected = CounterFamily(n.REJECTED, "Items rejected by ingest validation, by kind.", ("project", "kind"))
        self.sdk_dropped = CounterFamily(
            n.SDK_DROPPED, "Records the SDKs report having dropped, by reason.", ("project", "sdk", "reason")
        )
        self.requests = CounterFamily(
            n.INGEST_REQUESTS, "Ingest HTTP requests, by protocol and status code.", ("protocol", "code")
        )
        self.request_duration = HistogramFamily(
            n.INGEST_REQUEST_DURATION,
            "Ingest request latency in seconds (decode + durable write + acknowledgement).",
            ("protocol",),
            n.REQUEST_BUCKETS,
        )
        self.families: tuple[Family, ...] = (
            self.spans,
            self.span_errors,
            self.span_duration,
            self.traces,
            self.trace_errors,
            self.trace_duration,
            self.op_duration,
            self.token_usage,
            self.ttft,
            self.cost,
            self.findings,
            self.finding_value,
            self.tag_value,
            self.ingested,
            self.rejected,
            self.sdk_dropped,
            self.requests,
            self.request_duration,
        )

    # ------------------------------------------------------------------ start-up
    def seed_from_store(self) -> None:
        """Give the store's most frequent span names, trace names and models their label slots first."""
        cursor = getattr(self.store, "_cursor", None)
        if cursor is None:
            return
        k = self.limiter.limit
        top = (
            "SELECT project, v FROM (SELECT project, {col} AS v, count(*) AS n FROM {table} WHERE {col} IS NOT NULL "
            "GROUP BY project, {col}) QUALIFY row_number() OVER (PARTITION BY project ORDER BY n DESC, v) <= ? "
            "ORDER BY project, n DESC, v"
        )
        queries = {
            "span_name": top.format(col="name", table="spans"),
            "trace_name": top.format(col="name", table="traces"),
            "model": top.format(col="attr_model", table="spans"),
        }
        try:
            con = cursor()
        except Exception:  # noqa: BLE001 - seeding is an optimisation; first come first served still bounds
            log.warning("could not read the store to seed metric labels", exc_info=True)
            return
        try:
            for label, sql in queries.items():
                try:
                    rows = con.execute(sql, [k]).fetchall()
                except Exception:  # noqa: BLE001 - e.g. an engine without these columns
                    log.warning("seeding %s labels from the store failed", label, exc_info=True)
                    continue
                with self._lock:
                    by_project: dict[str, list[str]] = {}
                    for project, value in rows:
                        by_project.setdefault(project, []).append(value)
                    for project, values in by_project.items():
                        self.limiter.seed(project, label, values)
        finally:
            con.close()

    # ------------------------------------------------------------------ ingest
    def on_ingest(self, project: str, batch: IngestBatch) -> None:
        """The ingest listener: quick, never raises into the write path (ServerState also guards it)."""
        with self._lock:
            p = self.limiter.project(project)
            self._count_items(p, batch)
            for span in batch.spans:
                self._span(p, span)
            if self.tags:
                for info in batch.traces:
                    self._tags(p, info.trace_id, info.tags)
            for finding in batch.findings:
                self._finding(p, finding)

    def _count_items(self, p: str, batch: IngestBatch) -> None:
        for kind, items in (
            ("span", batch.spans),
            ("trace", batch.traces),
            ("event", batch.events),
            ("finding", batch.findings),
        ):
            if items:
                self.ingested.inc((p, kind), len(items))
        for r in batch.rejected:
            self.rejected.inc((p, r.kind))
        stats = getattr(batch, "sdk_stats", None)
        if isinstance(stats, dict) and isinstance(stats.get("dropped"), dict):
            sdk = self.limiter.admit(p, "sdk", _text(stats.get("sdk")) or "unknown")
            for reason, count in stats["dropped"].items():
                amount = _number(count)
                if amount and amount > 0:
                    self.sdk_dropped.inc((p, sdk, self.limiter.admit(p, "reason", _text(reason))), amount)

    def _labels(self, p: str, name: str, kind: str, model: Any, service: Any) -> tuple[tuple[str, ...], ...]:
        """The bounded label tuples of a span, memoised by its raw values (the limiter is the slow part)."""
        raw = (p, name, kind, model, service)
        hit = self._label_cache.get(raw)
        if hit is not None:
            if hit[3]:  # a folded value: still count each fold
                for label in hit[3]:
                    self.limiter.overflow[(p, label)] = self.limiter.overflow.get((p, label), 0) + 1
            return hit
        admit = self.limiter.admit
        values = (("span_name", name), ("model", _text(model)), ("service", _text(service)))
        a_name, a_model, a_service = (admit(p, label, value) for label, value in values)
        folded = tuple(
            label
            for (label, value), admitted in zip(values, (a_name, a_model, a_service), strict=True)
            if admitted == OTHER and value != OTHER
        )
        entry = ((p, a_name, kind, a_model, a_service), (p, a_name, a_model), (a_model,), folded)
        if len(self._label_cache) >= 100_000:  # raw values can be unbounded even when labels are not
            self._label_cache.clear()
        self._label_cache[raw] = entry
        return entry

    def _span(self, p: str, span: Any) -> None:
        admit = self.limiter.admit
        attrs = span.attributes
        kind = span.kind
        key, duration_key, (model,), _ = self._labels(
            p,
            span.name,
            kind,
            attrs.get(n.ATTR_MODEL) or attrs.get(n.ATTR_RESPONSE_MODEL),
            attrs.get("resource.service.name") or attrs.get("service.name"),
        )
        seconds = (span.end_time_ns - span.start_time_ns) / 1e9
        end_s = span.end_time_ns / 1e9
        exemplar: ExemplarData = ({"trace_id": span.trace_id, "span_id": span.span_id}, seconds, end_s)
        error = span.status == "ERROR"
        self.spans.inc(key, 1.0, exemplar)
        if error:
            self.span_errors.inc(key, 1.0, exemplar)
        self.span_duration.observe(duration_key, seconds, exemplar)
        if span.parent_span_id is None:
            tname = admit(p, "trace_name", span.name)
            self.traces.inc((p, tname), 1.0, exemplar)
            if error:
                self.trace_errors.inc((p, tname), 1.0, exemplar)
            self.trace_duration.observe((p, tname), seconds, exemplar)
        tokens_in = _number(attrs.get(n.ATTR_INPUT_TOKENS))
        tokens_out = _number(attrs.get(n.ATTR_OUTPUT_TOKENS))
        if kind not in ("llm", "embedding") and tokens_in is None and tokens_out is None:
            return
        # A model call.
        op = _text(attrs.get(n.ATTR_OPERATION)) or ("embeddings" if kind == "embedding" else "chat")
        op = admit(p, "operation", op)
        provider = admit(p, "provider", _text(attrs.get(n.ATTR_PROVIDER) or attrs.get(n.ATTR_SYSTEM)))
        error_type = ""
        if error:
            error_type = next(
                (_text(e.attributes.get("exception.type")) for e in span.events if e.name == "exception"), ""
            )
            error_type = admit(p, "error_type", error_type or "_OTHER")
        self.op_duration.observe((p, op, provider, model, error_type), seconds, exemplar)
        for token_type, count in (("input", tokens_in), ("output", tokens_out)):
            if count is not None and count >= 0:
                ex = (exemplar[0], count, end_s)
                self.token_usage.observe((p, op, provider, model, token_type), count, ex)
        cost = _number(attrs.get(n.ATTR_COST))
        if cost is not None and cost > 0:
            self.cost.inc((p, model), cost, (exemplar[0], cost, end_s))
        ttft = self._ttft(span, attrs)
        if ttft is not None and ttft >= 0:
            self.ttft.observe((p, model), ttft, (exemplar[0], ttft, end_s))

    @staticmethod
    def _ttft(span: Any, attrs: dict[str, Any]) -> float | None:
        for key in n.TTFT_ATTRIBUTES:
            raw = attrs.get(key)
            if raw is not None and (value := _number(raw)) is not None:
                return value
        for event in span.events:
            if event.name in n.TTFT_EVENTS:
                return (event.time_ns - span.start_time_ns) / 1e9
        return None

    def _tags(self, p: str, trace_id: str, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            if key in self.tags:
                number = _number(value)
                if number is not None:
                    self.tag_value.observe((p, key), number, ({"trace_id": trace_id}, number, None))

    def _finding(self, p: str, finding: Any) -> None:
        name = self.limiter.admit(p, "finding_name", finding.name)
        self.findings.inc((p, name, finding.source))
        number = _number(finding.value)
        if number is not None:
            ts = (finding.time_ns or 0) / 1e9
            self.finding_value.observe((p, name), number, ({"trace_id": finding.trace_id}, number, ts))

    # ------------------------------------------------------------------ HTTP
    def observe_request(self, protocol: str, code: int, seconds: float) -> None:
        with self._lock:
            self.requests.inc((protocol, str(code)))
            self.request_duration.observe((protocol,), seconds)

    # ------------------------------------------------------------------ exposition
    def view(self, project: str | None = None) -> _View:
        """A collector of the series ``project`` may see (None: all); pass it to ``generate_latest``."""
        return _View(self, project)

    def collect(self, project: str | None = None) -> Iterator[Metric]:
        with self._lock:
            rendered = [f.render(project) for f in self.families]
            counter = CounterMetricFamily(
                n.LABEL_OVERFLOW,
                "Label values folded into 'other' (projects into '_other') by the cardinality limit.",
                labels=("project", "label"),
            )
            for (proj, label), count in sorted(self.limiter.overflow.items()):
                if project is None or proj == project:
                    counter.add_metric((proj, label), count)
        yield from rendered
        yield counter
        yield from self._health()
        for extra in list(self.extra):
            try:
                yield from extra(project)
            except Exception:  # noqa: BLE001 - one broken collector must not break the scrape
                log.exception("metrics collector %r failed", extra)

    def _health(self) -> Iterator[Metric]:
        stats_fn = getattr(self.store, "stats", None)
        stats: dict[str, Any] = {}
        if callable(stats_fn):
            try:
                stats = stats_fn() or {}
            except Exception:  # noqa: BLE001
                log.debug("store.stats() failed", exc_info=True)
        if not stats:
            return
        yield GaugeMetricFamily(
            n.QUEUE_ROWS, "Rows acknowledged but not yet applied to the database.", stats.get("queued_rows", 0)
        )
        lag = max(0, int(stats.get("appended_seq", 0)) - int(stats.get("applied_seq", 0)))
        yield GaugeMetricFamily(n.APPLIED_LAG, "Ingest-log batches acknowledged but not yet applied.", lag)
        for name, key, doc in (
            (n.APPLIED_ROWS, "rows_applied", "Rows applied to the database."),
            (n.APPLIED_BATCHES, "batches_applied", "Ingest batches applied to the database."),
            (n.APPLY_FAILURES, "apply_failed", "Ingest batches that failed to apply after retries."),
            (n.OVERLOADED, "overloaded", "Ingest requests refused with 429 because the database was behind."),
        ):
            yield CounterMetricFamily(name, doc, float(stats.get(key, 0)))


class _View:
    """What ``prometheus_client.generate_latest`` needs: an object with ``collect()``."""

    def __init__(self, registry: MetricsRegistry, project: str | None) -> None:
        self.registry = registry
        self.project = project

    def collect(self) -> Iterator[Metric]:
        return self.registry.collect(self.project)
