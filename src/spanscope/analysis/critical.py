"""The critical path of a trace: the chain of work that set its end-to-end duration.

Walking back from the root's end: the child that finished last (before the point reached) is on the path;
the time between its end and that point is the parent's own work; the walk continues inside that child,
then from the child's start, until the parent's start. Children that ran in parallel with a child on the path
and finished earlier are off the path (making them faster would not make the trace faster). Children are
clipped to their parent's time span, and the segments add up exactly to the root's duration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class PathSpan:
    """What the walk needs of a span."""

    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_time_ns: int
    end_time_ns: int


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the critical path during which ``span`` itself was the work being waited for."""

    span: PathSpan
    start_time_ns: int
    end_time_ns: int

    @property
    def duration_ms(self) -> float:
        return (self.end_time_ns - self.start_time_ns) / 1e6


def _root(spans: Sequence[PathSpan]) -> PathSpan | None:
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_span_id is None or s.parent_span_id not in ids]
    if not roots:
        return None
    # Several roots (a trace with missing parents): the one that covers the most time leads.
    return min(roots, key=lambda s: (s.parent_span_id is not None, -(s.end_time_ns - s.start_time_ns), s.start_time_ns))


def critical_path(spans: Iterable[PathSpan]) -> list[Segment]:
    """The critical path of one trace, as segments in time order (empty for a trace without spans).

    Example:
        >>> root = PathSpan("r", None, "turn", "chain", 0, 10)
        >>> llm = PathSpan("a", "r", "llm", "llm", 1, 8)
        >>> [(s.span.name, s.start_time_ns, s.end_time_ns) for s in critical_path([root, llm])]
        [('turn', 0, 1), ('llm', 1, 8), ('turn', 8, 10)]
    """
    items = list(spans)
    root = _root(items)
    if root is None:
        return []
    children: dict[str, list[PathSpan]] = {}
    for s in items:
        if s.parent_span_id is not None and s is not root:
            children.setdefault(s.parent_span_id, []).append(s)
    segments: list[Segment] = []
    visiting: set[str] = set()

    def visit(span: PathSpan, lo: int, hi: int) -> None:
        # lo..hi: the part of ``span`` that can be on the path (its parent's window, clipped).
        visiting.add(span.span_id)
        cursor = hi
        pending = [c for c in children.get(span.span_id, ()) if c.span_id not in visiting]
        while True:
            candidates = [c for c in pending if max(c.start_time_ns, lo) < cursor and c.end_time_ns > lo]
            if not candidates:
                break
            child = max(candidates, key=lambda c: (min(c.end_time_ns, cursor), c.start_time_ns))
            child_end = min(child.end_time_ns, cursor)
            child_start = max(child.start_time_ns, lo)
            if cursor > child_end:
                segments.append(Segment(span, child_end, cursor))
            visit(child, child_start, child_end)
            cursor = child_start
            pending.remove(child)
        if cursor > lo:
            segments.append(Segment(span, lo, cursor))

    visit(root, root.start_time_ns, root.end_time_ns)
    segments.sort(key=lambda seg: seg.start_time_ns)
    return segments


def path_to_dicts(segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """Segments as JSON-able rows (one per segment, in time order)."""
    return [
        {
            "span_id": seg.span.span_id,
            "name": seg.span.name,
            "kind": seg.span.kind,
            "start_time_ns": seg.start_time_ns,
            "end_time_ns": seg.end_time_ns,
            "duration_ms": seg.duration_ms,
        }
        for seg in segments
    ]


def time_by_name(segments: Sequence[Segment]) -> dict[str, float]:
    """Milliseconds on the critical path per span name."""
    out: dict[str, float] = {}
    for seg in segments:
        out[seg.span.name] = out.get(seg.span.name, 0.0) + seg.duration_ms
    return out
