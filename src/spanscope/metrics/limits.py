"""Bounded label cardinality: at most N values per label per project; later values become ``other``.

A value keeps its slot once admitted, so a series never changes name under Prometheus (a counter that moved
from ``other`` to its own label would look like a reset of one and a jump of the other). Slots are handed
out first come, first served, after :meth:`LabelLimiter.seed` gave the store's all-time top-N their slots
at start-up — so "top-N" holds across restarts, and new high-volume values arriving after the table is
full are counted under ``other`` (and in ``spanscope_metrics_label_overflow_total``).
"""

from __future__ import annotations

from collections.abc import Iterable

OTHER = "other"
# Projects folded together get a value no project can have (names start with a letter or digit), so a key
# for a project literally named "other" never sees other projects' series.
OTHER_PROJECT = "_other"


class LabelLimiter:
    """Admits label values per ``(project, label)``; not thread safe (the registry holds its lock)."""

    def __init__(self, limit: int, *, max_projects: int) -> None:
        self.limit = max(1, int(limit))
        self.max_projects = max(1, int(max_projects))
        self._admitted: dict[tuple[str, str], set[str]] = {}
        self._projects: set[str] = set()
        self.overflow: dict[tuple[str, str], int] = {}

    def project(self, project: str) -> str:
        if project in self._projects:
            return project
        if len(self._projects) < self.max_projects:
            self._projects.add(project)
            return project
        key = (OTHER_PROJECT, "project")
        self.overflow[key] = self.overflow.get(key, 0) + 1
        return OTHER_PROJECT

    def admit(self, project: str, label: str, value: str) -> str:
        """``value`` if it has (or gets) a slot, else ``other``. The empty string is always admitted."""
        if not value:
            return value
        slots = self._admitted.get((project, label))
        if slots is None:
            slots = self._admitted[(project, label)] = set()
        if value in slots:
            return value
        if len(slots) < self.limit:
            slots.add(value)
            return value
        key = (project, label)
        self.overflow[key] = self.overflow.get(key, 0) + 1
        return OTHER

    def seed(self, project: str, label: str, values: Iterable[str]) -> None:
        """Give ``values`` (most frequent first) slots ahead of anything seen later."""
        project = self.project(project)
        for value in values:
            if value:
                self.admit(project, label, value)
