"""The quality-loop methods of :class:`~spanscope.store.duckdb.DuckDBStore`: datasets (``datasets.py``),
evaluation runs (``evals.py``) and finding history / values (``findings.py``)."""

from __future__ import annotations

from spanscope.store.duckdb.datasets import DatasetMixin
from spanscope.store.duckdb.evals import EvalRunMixin
from spanscope.store.duckdb.findings import FindingsMixin


class QualityMixin(DatasetMixin, EvalRunMixin, FindingsMixin):
    """Datasets, evaluation runs and finding history, on the engine's connection."""
