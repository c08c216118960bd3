"""Scorers: functions of ``(inputs, outputs, expected, trace)`` that return a score.

    @spanscope.scorer
    def mentions_order(outputs, inputs) -> bool:
        return inputs["order_id"] in outputs

    @spanscope.scorer(name="short", higher_is_better=True)
    def short(outputs):
        return Score(len(outputs) < 200, rationale=f"{len(outputs)} characters")

A scorer declares only the arguments it needs (by name). It returns a bool, a number, a category string, a
:class:`Score` (value + rationale), a ``(value, rationale)`` pair, or None for "not applicable here"
(no value, no error). Raising records an error for that record and scorer; the run goes on.

Built-ins: ``exact_match``, ``contains``, ``regex_match``, ``json_valid``, ``levenshtein_ratio`` compare the
app's output (or ``field``, a path into it such as ``"choices[0].message.content"``) with ``expected`` or a
pattern; ``latency_under(ms)`` and ``token_budget(n)`` read the call's trace. Those without a required
argument are usable as they are (``exact_match``) or configured (``exact_match(case_sensitive=False)``).
The LLM judge is :func:`spanscope.evals.judge.llm_judge`.
"""

from __future__ import annotations

import inspect
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from spanscope.model.conventions import FINDING_SOURCES

SCORER_ARGS: Final = ("inputs", "outputs", "expected", "trace")


@dataclass(frozen=True, slots=True)
class Score:
    """A scorer's answer: a value (bool, number or category string; None = not applicable) and why."""

    value: bool | int | float | str | None
    rationale: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class ScorerError(Exception):
    """Raise it from a scorer to record a readable error for the record (no value)."""


def _plain(value: Any) -> Any:
    # numpy scalars and the like become Python values
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, bool | int | float | str):
        try:
            value = item()
        except (TypeError, ValueError):
            pass
    return value


def normalize(result: Any) -> Score:
    """Whatever a scorer returned, as a :class:`Score` (raises TypeError for what can't be a score)."""
    if isinstance(result, Score):
        score = result
    elif isinstance(result, tuple) and len(result) == 2:
        score = Score(_plain(result[0]), None if result[1] is None else str(result[1]))
    elif isinstance(result, dict) and "value" in result:
        score = Score(_plain(result["value"]), result.get("rationale"), dict(result.get("metadata") or {}))
    else:
        score = Score(_plain(result))
    value = _plain(score.value)
    if value is not None and not isinstance(value, bool | int | float | str):
        raise TypeError(f"a scorer must return a bool, number, string, Score or None, not {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"score is not a finite number: {value!r}")
    return Score(value, score.rationale, score.metadata) if value is not score.value else score


class Scorer:
    """A named scoring function. ``scorer.score(inputs=…, outputs=…, expected=…, trace=…)`` -> Score;
    calling the object calls the wrapped function as written."""

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        source: str = "code",
        higher_is_better: bool = True,
    ) -> None:
        if source not in FINDING_SOURCES:
            raise ValueError(f"source must be one of {', '.join(FINDING_SOURCES)}, got {source!r}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.source = source
        self.higher_is_better = higher_is_better
        try:
            params = inspect.signature(fn).parameters
        except (TypeError, ValueError):
            params = {}
        self._takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self._args = tuple(a for a in SCORER_ARGS if a in params)
        if not self._takes_all and not self._args and params:
            raise TypeError(f"scorer {self.name!r} must take some of {', '.join(SCORER_ARGS)} as named parameters")
        self.needs_trace = self._takes_all or "trace" in self._args

    def __repr__(self) -> str:
        return f"<spanscope scorer {self.name!r}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def score(self, *, inputs: Any, outputs: Any, expected: Any, trace: Any) -> Score:
        given = {"inputs": inputs, "outputs": outputs, "expected": expected, "trace": trace}
        kwargs = given if self._takes_all else {a: given[a] for a in self._args}
        return normalize(self.fn(**kwargs))

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "higher_is_better": self.higher_is_better}


def scorer(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    source: str = "code",
    higher_is_better: bool = True,
) -> Any:
    """Make a function a scorer: ``@spanscope.scorer`` or ``@spanscope.scorer(name=…, higher_is_better=…)``."""
    if fn is not None:
        return Scorer(fn, name, source=source, higher_is_better=higher_is_better)

    def wrap(f: Callable[..., Any]) -> Scorer:
        return Scorer(f, name, source=source, higher_is_better=higher_is_better)

    return wrap


# ---------------------------------------------------------------------------------------------- helpers
def _select(outputs: Any, path: str | None) -> Any:
    if path is None:
        return outputs
    from spanscope.query import json_path_get

    return json_path_get(outputs, path)


def as_text(value: Any) -> str | None:
    """Text to compare: strings as they are, other values as JSON; None stays None."""
    if value is None or isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions), two-row dynamic programming."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def total_tokens(trace: Any) -> int | None:
    """Tokens a trace used: the sum over its LLM spans (``usage.total_tokens``, else input + output
    tokens); without LLM usage, the largest total any span reports (a root carrying the trace's total)."""
    spans = list(getattr(trace, "spans", None) or [])

    def usage(s: Any) -> float | None:
        attrs = getattr(s, "attributes", None) or {}
        total = attrs.get("usage.total_tokens")
        if isinstance(total, int | float) and not isinstance(total, bool):
            return float(total)
        parts = [attrs.get(k) for k in ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens")]
        nums = [p for p in parts if isinstance(p, int | float) and not isinstance(p, bool)]
        return float(sum(nums)) if nums else None

    llm = [u for s in spans if getattr(s, "kind", None) == "llm" and (u := usage(s)) is not None]
    if llm:
        return int(sum(llm))
    anywhere = [u for s in spans if (u := usage(s)) is not None]
    return int(max(anywhere)) if anywhere else None


class _Builtin(Scorer):
    """A built-in scorer that can be used as is or called with options to configure a copy."""

    def __init__(self, impl: Callable[..., Score], name: str, options: dict[str, Any], higher_is_better: bool = True):
        self._impl = impl
        self.options = options

        def run(inputs: Any, outputs: Any, expected: Any, trace: Any) -> Score:
            return impl(inputs=inputs, outputs=outputs, expected=expected, trace=trace, **self.options)

        run.__name__ = name
        super().__init__(run, options.get("name") or name, higher_is_better=higher_is_better)
        self._base_name = name
        self.needs_trace = impl in (_latency_under, _token_budget)

    def __call__(self, *args: Any, **options: Any) -> _Builtin:  # type: ignore[override]
        merged = dict(self.options)
        params = [p for p in inspect.signature(self._impl).parameters if p not in (*SCORER_ARGS, "name")]
        if len(args) > len(params):
            raise TypeError(f"{self._base_name}() takes at most {len(params)} positional option(s)")
        merged.update(zip(params, args, strict=False))
        merged.update(options)
        unknown = set(merged) - set(params) - {"name"}
        if unknown:
            raise TypeError(f"{self._base_name}() got unknown option(s): {', '.join(sorted(unknown))}")
        return _Builtin(self._impl, self._base_name, merged, self.higher_is_better)

    def describe(self) -> dict[str, Any]:
        opts = {k: v for k, v in self.options.items() if k != "name"}
        return {**super().describe(), "builtin": self._base_name, "options": opts}


def _norm(text: str, case_sensitive: bool, strip: bool) -> str:
    if strip:
        text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


def _need_expected(expected: Any) -> Score | None:
    return Score(None, "no expected value for this record") if expected is None else None


def _exact_match(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, field: str | None = None, case_sensitive: bool = True,
    strip: bool = True, name: str | None = None,
) -> Score:  # fmt: skip
    if (skip := _need_expected(expected)) is not None:
        return skip
    out = _select(outputs, field)
    if not isinstance(out, str) and not isinstance(expected, str):
        return Score(bool(out == expected))
    a, b = as_text(out) or "", as_text(expected) or ""
    return Score(_norm(a, case_sensitive, strip) == _norm(b, case_sensitive, strip))


def _contains(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, substring: str | None = None, field: str | None = None,
    case_sensitive: bool = False, name: str | None = None,
) -> Score:  # fmt: skip
    needle = substring if substring is not None else expected
    if needle is None:
        return Score(None, "no expected value (or substring) to look for")
    hay = as_text(_select(outputs, field)) or ""
    needles = needle if isinstance(needle, list) else [needle]
    texts = [_norm(as_text(n) or "", case_sensitive, True) for n in needles]
    hay = _norm(hay, case_sensitive, True)
    missing = [n for n, t in zip(needles, texts, strict=True) if t not in hay]
    return Score(not missing, f"missing: {missing}" if missing else None)


def _regex_match(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, pattern: str = "", flags: int = 0,
    field: str | None = None, name: str | None = None,
) -> Score:  # fmt: skip
    if not pattern:
        raise ScorerError("regex_match needs a pattern: regex_match(r'...')")
    text = as_text(_select(outputs, field)) or ""
    return Score(re.search(pattern, text, flags) is not None)


def _json_valid(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, field: str | None = None, name: str | None = None
) -> Score:
    out = _select(outputs, field)
    if isinstance(out, dict | list):
        return Score(True)
    if not isinstance(out, str):
        return Score(False, f"output is a {type(out).__name__}, not JSON text")
    try:
        json.loads(out)
    except ValueError as exc:
        return Score(False, f"invalid JSON: {exc}")
    return Score(True)


def _levenshtein_ratio(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, field: str | None = None, case_sensitive: bool = True,
    name: str | None = None,
) -> Score:  # fmt: skip
    if (skip := _need_expected(expected)) is not None:
        return skip
    a = _norm(as_text(_select(outputs, field)) or "", case_sensitive, False)
    b = _norm(as_text(expected) or "", case_sensitive, False)
    longest = max(len(a), len(b))
    return Score(1.0 if longest == 0 else round(1 - levenshtein(a, b) / longest, 6))


def _trace_or_error(trace: Any) -> Any:
    if trace is None:
        raise ScorerError("no trace for this call (is the SDK configured and recording?)")
    return trace


def _latency_under(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, ms: float = 0.0, name: str | None = None
) -> Score:
    duration = getattr(_trace_or_error(trace), "duration_ms", None)
    if duration is None:
        raise ScorerError("the trace has no duration")
    return Score(bool(duration < ms), f"{duration:.1f} ms (limit {ms:g} ms)")


def _token_budget(
    *, inputs: Any, outputs: Any, expected: Any, trace: Any, n: int = 0, name: str | None = None
) -> Score:
    used = total_tokens(_trace_or_error(trace))
    if used is None:
        return Score(None, "no token usage recorded in the trace")
    return Score(used <= n, f"{used} tokens (budget {n})", {"tokens": used})


exact_match = _Builtin(_exact_match, "exact_match", {})
contains = _Builtin(_contains, "contains", {})
json_valid = _Builtin(_json_valid, "json_valid", {})
levenshtein_ratio = _Builtin(_levenshtein_ratio, "levenshtein_ratio", {})


def regex_match(pattern: str, *, flags: int = 0, field: str | None = None, name: str | None = None) -> Scorer:
    """True when ``pattern`` is found (``re.search``) in the output."""
    re.compile(pattern, flags)
    return _Builtin(_regex_match, "regex_match", {"pattern": pattern, "flags": flags, "field": field, "name": name})


def latency_under(ms: float, *, name: str | None = None) -> Scorer:
    """True when the call's trace took less than ``ms`` milliseconds."""
    return _Builtin(_latency_under, "latency_under", {"ms": float(ms), "name": name or f"latency_under_{ms:g}ms"})


def token_budget(n: int, *, name: str | None = None) -> Scorer:
    """True when the call used at most ``n`` tokens (see :func:`total_tokens`)."""
    return _Builtin(_token_budget, "token_budget", {"n": int(n), "name": name or f"token_budget_{int(n)}"})


BUILTINS: Final[dict[str, Any]] = {
    "exact_match": exact_match,
    "contains": contains,
    "regex_match": regex_match,
    "json_valid": json_valid,
    "levenshtein_ratio": levenshtein_ratio,
    "latency_under": latency_under,
    "token_budget": token_budget,
}


def as_scorer(obj: Any) -> Scorer:
    """A Scorer from a Scorer or a plain function of some of (inputs, outputs, expected, trace)."""
    if isinstance(obj, Scorer):
        return obj
    if callable(obj):
        return Scorer(obj)
    raise TypeError(f"not a scorer: {obj!r}")


def parse_scorer_spec(spec: str) -> Scorer:
    """A scorer from CLI text: a built-in (``exact_match``, ``latency_under(500)``,
    ``contains('refund')``, ``regex_match(pattern='^Yes')``) or ``module:attribute`` / ``file.py:attribute``."""
    import ast

    text = spec.strip()
    m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", text, re.S)
    if m and m.group(1) in BUILTINS:
        obj = BUILTINS[m.group(1)]
        if m.group(2) is None:
            if isinstance(obj, Scorer):
                return obj
            raise ValueError(f"{m.group(1)} needs arguments, e.g. {m.group(1)}(500)")
        call = ast.parse(f"f({m.group(2)})", mode="eval").body
        assert isinstance(call, ast.Call)
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
        return as_scorer(obj(*args, **kwargs))
    if ":" in text:
        from spanscope.evals.loading import load_object

        return as_scorer(load_object(text))
    raise ValueError(f"unknown scorer {spec!r}; built-ins: {', '.join(BUILTINS)}; or module:function")
