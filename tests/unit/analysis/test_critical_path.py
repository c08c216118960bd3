"""The critical-path walk on span trees written as data."""

from __future__ import annotations

import pytest

from spanscope.analysis.critical import PathSpan, critical_path, time_by_name


def span(sid: str, parent: str | None, start: int, end: int, name: str | None = None) -> PathSpan:
    return PathSpan(sid, parent, name or sid, "other", start, end)


CASES = [
    # sequential children: every child is on the path, the gaps are the root's own work
    (
        [span("r", None, 0, 100), span("a", "r", 10, 40), span("b", "r", 50, 90)],
        [("r", 0, 10), ("a", 10, 40), ("r", 40, 50), ("b", 50, 90), ("r", 90, 100)],
    ),
    # parallel children: only the one that finished last is waited for
    (
        [span("r", None, 0, 100), span("a", "r", 10, 60), span("b", "r", 10, 80)],
        [("r", 0, 10), ("b", 10, 80), ("r", 80, 100)],
    ),
    # overlapping: the later-finishing child, then the earlier one up to where the later one started
    (
        [span("r", None, 0, 100), span("a", "r", 0, 50), span("b", "r", 40, 100)],
        [("a", 0, 40), ("b", 40, 100)],
    ),
    # nested: the walk goes inside the child on the path
    (
        [span("r", None, 0, 100), span("t", "r", 20, 80), span("d", "t", 30, 70)],
        [("r", 0, 20), ("t", 20, 30), ("d", 30, 70), ("t", 70, 80), ("r", 80, 100)],
    ),
    # a child outliving its parent is clipped to the parent
    (
        [span("r", None, 0, 50), span("a", "r", 10, 90)],
        [("r", 0, 10), ("a", 10, 50)],
    ),
    # a span whose parent is missing still roots the walk when it is the only root
    ([span("x", "missing", 5, 15)], [("x", 5, 15)]),
    ([], []),
]


@pytest.mark.parametrize(("spans", "expected"), CASES)
def test_walk(spans: list[PathSpan], expected: list[tuple[str, int, int]]) -> None:
    path = critical_path(spans)
    assert [(s.span.span_id, s.start_time_ns, s.end_time_ns) for s in path] == expected
    if path:  # the segments tile the root span exactly
        assert all(a.end_time_ns == b.start_time_ns for a, b in zip(path, path[1:], strict=False))


def test_a_parent_cycle_ends() -> None:
    spans = [span("r", None, 0, 10), span("a", "b", 1, 9), span("b", "a", 2, 8)]
    assert [s.span.span_id for s in critical_path(spans)] == ["r"]


def test_time_by_name_adds_segments() -> None:
    spans = [span("r", None, 0, 100, "turn"), span("a", "r", 10, 40, "llm"), span("b", "r", 50, 90, "llm")]
    assert time_by_name(critical_path(spans)) == pytest.approx({"turn": 30 / 1e6, "llm": 70 / 1e6})
