"""``score_traces``: run scorers over stored production traces (no app call) and store their findings.

    df = spanscope.score_traces("tag.quality_score < 0.5", [json_valid, llm_judge(...)])

Each matching trace is read whole; scorers get ``inputs`` and ``outputs`` (the root span's, or the values
of the extract-field paths in ``mapping``, e.g. ``{"outputs": "span.outputs.choices[0].message.content"}``),
``expected`` (None unless mapped, e.g. ``{"expected": "finding.reference"}``) and ``trace``. Every score is
written as a finding on its trace (source ``code`` or ``llm``, the scorer's name as the finding's name);
scoring again supersedes the previous finding of the same scorer on that trace, so searches see the latest
while the history is kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from spanscope.client import ApiError, Client
from spanscope.evals.run import client_or_default
from spanscope.evals.scorers import Scorer, ScorerError, as_scorer

if TYPE_CHECKING:
    import pandas as pd

_POST_CHUNK = 500
_MAPPABLE = ("inputs", "outputs", "expected")


def score_traces(
    filter_string: str | None,
    scorers: Iterable[Any],
    *,
    mapping: dict[str, str] | None = None,
    max_traces: int = 1000,
    max_workers: int = 8,
    supersede: bool = True,
    client: Client | None = None,
) -> pd.DataFrame:
    """Score the traces matching ``filter_string`` and store each score as a finding on its trace.

    Returns one row per trace: ``trace_id``, a column per scorer, and ``<scorer>.rationale`` /
    ``<scorer>.error`` where any trace has one.
    """
    import pandas as pd

    from spanscope.query import parse_extract_field, resolve_extract_field

    score_with: list[Scorer] = [as_scorer(s) for s in scorers]
    names = [s.name for s in score_with]
    if len(set(names)) != len(names):
        raise ValueError(f"scorer names must be unique, got {names}")
    paths = {}
    for key, path in (mapping or {}).items():
        if key not in _MAPPABLE:
            raise ValueError(f"mapping keys are {', '.join(_MAPPABLE)}, not {key!r}")
        paths[key] = parse_extract_field(path)
    c = client_or_default(client)
    rows, _ = c.search_trace_rows(filter_string, max_traces, None, None)
    trace_ids = [r["trace_id"] for r in rows]

    def one(trace_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"trace_id": trace_id, "scores": {}, "rationales": {}, "errors": {}}
        try:
            trace = c.get_trace(trace_id)
        except ApiError as exc:
            out["errors"] = {n: str(exc) for n in names}
            return out
        data = trace.to_dict()
        given = {"inputs": trace.inputs, "outputs": trace.outputs, "expected": None}
        for key, field in paths.items():
            given[key] = resolve_extract_field(field, data)
        for s in score_with:
            try:
                score = s.score(
                    inputs=given["inputs"], outputs=given["outputs"], expected=given["expected"], trace=trace
                )
            except ScorerError as exc:
                out["errors"][s.name] = str(exc)
                continue
            except Exception as exc:  # noqa: BLE001 - one scorer failing on one trace is recorded, not raised
                out["errors"][s.name] = f"{type(exc).__name__}: {exc}"
                continue
            out["scores"][s.name] = score.value
            if score.rationale is not None:
                out["rationales"][s.name] = score.rationale
        return out

    with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="spanscope-score") as pool:
        results = list(pool.map(one, trace_ids))
    source = {s.name: s.source for s in score_with}
    findings = [
        {"trace_id": r["trace_id"], "name": n, "value": v, "source": source[n], "rationale": r["rationales"].get(n),
         "metadata": {"spanscope.scorer": n}}
        for r in results
        for n, v in r["scores"].items()
        if v is not None
    ]  # fmt: skip
    for start in range(0, len(findings), _POST_CHUNK):
        c._request(
            "POST",
            "/api/v1/findings",
            {"findings": findings[start : start + _POST_CHUNK], "supersede_previous": supersede},
        )
    table: dict[str, list[Any]] = {"trace_id": [r["trace_id"] for r in results]}
    for n in names:
        table[n] = [r["scores"].get(n) for r in results]
    for n in names:
        for suffix, key in ((".rationale", "rationales"), (".error", "errors")):
            column = [r[key].get(n) for r in results]
            if any(v is not None for v in column):
                table[n + suffix] = column
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in table.items()})
