"""Monitor rules: ``<aggregate> [where <filter>] <condition>``, parsed into a :class:`Rule`.

Grammar (keywords in any case)::

    rule       := aggregate ["where" filter] condition
    condition  := op number ["%"] "over" window                      -- a fixed threshold
                | "over" window op number ["%"]
                | "over" window change ["by"] [">" | ">="] number ["%"] "vs" ("previous" | "prev") window
    change     := "drops" | "rises" | "changes"
    aggregate  := "count()" | "error_rate" ["()"] | func "(" field ")"
    func       := "avg" | "mean" | "min" | "max" | "sum" | "median" | "p" number      -- p50, p95, p99.9
    field      := span.duration_ms | trace.duration_ms | span.attributes.<key> | tag.<key>
                | metadata.<key> | finding.<name> | feedback.<name>                  -- backticks quote keys
    window     := number ("s" | "m" | "h" | "d" | "w")
    op         := ">" | ">=" | "<" | "<=" | "=" | "!="

``filter`` is the filter language (``spanscope.query``). Examples::

    p95(span.duration_ms) where span.name = 'llm.generate' > 2000 over 1h
    error_rate where trace.name = 'chatbot.turn' > 5% over 15m
    avg(finding.quality_score) over 1d drops > 10% vs previous 7d
    count() where span.status = 'ERROR' AND span.kind = 'tool' > 20 over 10m

A ``%`` threshold is a fraction (``5%`` = 0.05, for ``error_rate``); in a change it is relative to the
baseline (``drops > 10%``: the current value is more than 10 % below the previous window's), without ``%`` it
is absolute (``drops > 0.1``).

Exceptions::

    ValueError
     └── MonitorRuleError       "expected a condition such as '> 2000 over 1h' at column 24"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from spanscope.query import FilterError, parse_filter


class MonitorRuleError(ValueError):
    """A rule that can't be parsed; ``column`` is 1-based in the rule text."""

    def __init__(self, message: str, column: int = 1) -> None:
        super().__init__(f"{message} at column {column}")
        self.message = message
        self.column = column


_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DUR: Final = r"\d+(?:\.\d+)?\s*[smhdw]"
_NUM: Final = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_OP: Final = r">=|<=|!=|<>|==|=|>|<"
_TAIL_FIXED: Final = re.compile(
    rf"^(?P<head>.*?)\s*(?P<op>{_OP})\s*(?P<num>{_NUM})\s*(?P<pct>%)?\s+over\s+(?P<win>{_DUR})\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TAIL_OVER_FIRST: Final = re.compile(
    rf"^(?P<head>.*?)\s+over\s+(?P<win>{_DUR})\s*(?P<op>{_OP})\s*(?P<num>{_NUM})\s*(?P<pct>%)?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_TAIL_CHANGE: Final = re.compile(
    rf"^(?P<head>.*?)\s+over\s+(?P<win>{_DUR})\s+(?P<dir>drops|rises|changes)\s+(?:by\s+)?(?P<op>>=|>)?\s*"
    rf"(?P<num>{_NUM})\s*(?P<pct>%)?\s+vs\s+(?:previous|prev)\s+(?P<base>{_DUR})\s*$",
    re.IGNORECASE | re.DOTALL,
)
_HEAD: Final = re.compile(
    r"^\s*(?:(?P<count>count\s*\(\s*\))|(?P<err>error_rate(?:\s*\(\s*\))?)|"
    r"(?P<func>avg|mean|min|max|sum|median|p\d{1,2}(?:\.\d+)?)\s*\(\s*(?P<field>[^()]*?)\s*\))"
    r"(?:\s+where\s+(?P<filter>.+?))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_OPS: Final = {"==": "=", "<>": "!="}


def parse_duration(text: str) -> float:
    """Seconds in ``"15m"``, ``"1h"``, ``"7d"``, ``"1w"``, ``"30s"``; a bare number is seconds."""
    t = str(text).strip().lower()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw]?)", t)
    if not m:
        raise MonitorRuleError(f"invalid duration {text!r}: use a number and s, m, h, d or w, like 15m or 7d")
    return float(m.group(1)) * _UNITS.get(m.group(2) or "s", 1)


def format_duration(seconds: float) -> str:
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True)
class MetricField:
    """What an aggregate reads: ``kind`` is one of ``span.duration_ms``, ``trace.duration_ms``, ``span.attribute``,
    ``tag``, ``metadata``, ``finding``; ``key`` is the attribute/tag/metadata key or finding name."""

    kind: str
    key: str | None
    text: str

    @property
    def per_span(self) -> bool:
        return self.kind in ("span.duration_ms", "span.attribute")


@dataclass(frozen=True)
class Aggregate:
    func: str  # count | error_rate | avg | min | max | sum | quantile
    field: MetricField | None
    quantile: float | None
    text: str


@dataclass(frozen=True)
class Threshold:
    op: str
    value: float  # a % threshold already divided by 100
    text: str


@dataclass(frozen=True)
class Change:
    direction: str  # drops | rises | changes
    op: str  # > | >=
    amount: float  # a fraction when relative
    relative: bool
    baseline_s: float
    text: str


@dataclass(frozen=True)
class Rule:
    text: str
    aggregate: Aggregate
    filter: str | None
    window_s: float
    threshold: Threshold | None = None
    change: Change | None = None
    window: str = ""  # as written, e.g. "15m"

    @property
    def condition_text(self) -> str:
        return self.change.text if self.change else self.threshold.text if self.threshold else ""


def _key(rest: str, what: str, column: int) -> str:
    rest = rest.strip()
    if rest.startswith("`"):
        if not rest.endswith("`") or len(rest) < 3:
            raise MonitorRuleError(f"unterminated backtick in the {what}", column)
        return rest[1:-1]
    if not rest:
        raise MonitorRuleError(f"expected a {what} after the dot", column)
    return rest


def parse_field(text: str, column: int = 1) -> MetricField:
    t = text.strip()
    low = t.lower()
    if low in ("span.duration_ms", "trace.duration_ms"):
        return MetricField(low, None, t)
    if low in ("duration_ms", "trace.execution_time_ms", "execution_time_ms"):
        return MetricField("trace.duration_ms", None, t)
    for prefix, kind in (
        ("span.attributes.", "span.attribute"),
        ("tag.", "tag"),
        ("tags.", "tag"),
        ("metadata.", "metadata"),
        ("finding.", "finding"),
        ("feedback.", "finding"),
    ):
        if low.startswith(prefix):
            return MetricField(kind, _key(t[len(prefix) :], kind.replace("span.", "") + " key", column), t)
    raise MonitorRuleError(
        f"cannot aggregate {t!r}: use span.duration_ms, trace.duration_ms, span.attributes.<key>, tag.<key>, "
        "metadata.<key> or finding.<name>",
        column,
    )


def _aggregate(m: re.Match[str]) -> Aggregate:
    if m.group("count"):
        return Aggregate("count", None, None, "count()")
    if m.group("err"):
        return Aggregate("error_rate", None, None, "error_rate")
    func = m.group("func").lower()
    field = parse_field(m.group("field"), m.start("field") + 1)
    quantile = None
    if func == "median":
        func, quantile = "quantile", 0.5
    elif func.startswith("p"):
        q = float(func[1:])
        if not 0 < q < 100:
            raise MonitorRuleError(f"percentile {func} is out of range: use p1 to p99.9", m.start("func") + 1)
        func, quantile = "quantile", q / 100
    elif func == "mean":
        func = "avg"
    return Aggregate(func, field, quantile, f"{m.group('func')}({field.text})")


def parse_rule(text: str) -> Rule:
    """Parse a monitor rule (see the module docstring); raises :class:`MonitorRuleError`."""
    if not text or not text.strip():
        raise MonitorRuleError("empty rule: expected e.g. \"error_rate where trace.name = 'x' > 5% over 15m\"")
    change: Change | None = None
    threshold: Threshold | None = None
    m = _TAIL_CHANGE.match(text)
    if m:
        amount = float(m.group("num"))
        relative = bool(m.group("pct"))
        change = Change(
            direction=m.group("dir").lower(),
            op=m.group("op") or ">",
            amount=amount / 100 if relative else amount,
            relative=relative,
            baseline_s=parse_duration(m.group("base")),
            text=f"{m.group('dir').lower()} {m.group('op') or '>'} {m.group('num')}{m.group('pct') or ''} "
            f"vs previous {m.group('base').replace(' ', '')}",
        )
    else:
        m = _TAIL_FIXED.match(text) or _TAIL_OVER_FIRST.match(text)
        if m:
            value = float(m.group("num"))
            op = _OPS.get(m.group("op"), m.group("op"))
            threshold = Threshold(
                op, value / 100 if m.group("pct") else value, f"{op} {m.group('num')}{m.group('pct') or ''}"
            )
    if m is None:
        raise MonitorRuleError(
            "expected a condition at the end, such as '> 2000 over 1h' or 'over 1d drops > 10% vs previous 7d'",
            len(text.rstrip()) + 1,
        )
    head = m.group("head")
    hm = _HEAD.match(head)
    if hm is None:
        raise MonitorRuleError(
            "expected an aggregate first: count(), error_rate, avg(…), min(…), max(…), sum(…), median(…) or "
            "p95(…), optionally followed by 'where <filter>'",
            len(head) - len(head.lstrip()) + 1,
        )
    aggregate = _aggregate(hm)
    flt = hm.group("filter")
    if flt is not None:
        flt = flt.strip()
        try:
            parse_filter(flt)
        except FilterError as exc:
            hint = f"; {exc.hint}" if exc.hint else ""
            raise MonitorRuleError(f"in the filter: {exc.message}{hint}", hm.start("filter") + exc.column) from None
    window_s = parse_duration(m.group("win"))
    if window_s <= 0:
        raise MonitorRuleError("the window must be longer than 0", m.start("win") + 1)
    window = m.group("win").replace(" ", "")
    return Rule(text.strip(), aggregate, flt or None, window_s, threshold, change, window)
