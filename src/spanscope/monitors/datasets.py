"""Where a firing monitor's offending traces go: a named dataset, through the store's datasets API.

When a monitor with ``dataset: <name>`` fires, :func:`store_dataset_sink` creates the dataset if needed
(``created_by`` ``monitor:<name>``) and adds one record per offending trace with the datasets'
``add_from_traces`` (mapping ``{"input": "span.inputs", "output": "span.outputs"}`` — the root span's — unless the
monitor sets ``dataset_mapping``), deduplicated against what the dataset already holds. Each change is a new
dataset version, so every firing's additions can be told apart (``spanscope.datasets.get(name).versions()``).

On a store without datasets the ids stay only in the firing event (:func:`record_only_sink`).
"""

from __future__ import annotations

from typing import Any, Final

DEFAULT_MAPPING: Final = {"input": "span.inputs", "output": "span.outputs"}


def record_only_sink(store: Any, project: str, dataset: str, trace_ids: list[str], event: dict[str, Any]) -> dict:
    """The ids stay in the firing event (``offending_trace_ids``) and nowhere else."""
    return {"name": dataset, "status": "recorded", "added": 0, "trace_ids": len(trace_ids)}


def store_dataset_sink(
    store: Any, project: str, dataset: str, trace_ids: list[str], event: dict[str, Any]
) -> dict[str, Any]:
    """Add the offending traces to ``dataset`` (created on first use); returns what happened."""
    create = getattr(store, "create_dataset", None)
    add = getattr(store, "add_dataset_records_from_traces", None)
    if not callable(create) or not callable(add):
        return record_only_sink(store, project, dataset, trace_ids, event)
    if not trace_ids:
        return {"name": dataset, "status": "empty", "added": 0}
    who = f"monitor:{event.get('monitor')}"
    try:
        create(project, dataset, f"Traces collected by monitor {event.get('monitor')!r}: {event.get('rule')}", who)
    except Exception as exc:  # noqa: BLE001 - DatasetExists (409) is expected after the first firing
        if getattr(exc, "status_code", None) != 409:
            raise
    # Trace ids are validated 32-hex strings, so quoting them into the filter is safe.
    flt = "trace.id IN (" + ", ".join(f"'{t}'" for t in trace_ids) + ")"
    mapping = event.get("dataset_mapping") or DEFAULT_MAPPING
    result = add(project, dataset, flt, mapping, dedupe=True, max_traces=len(trace_ids), by=who)
    return {
        "name": dataset,
        "status": "added",
        "added": int(result.get("added", 0)),
        "duplicates": int(result.get("duplicates", 0)),
        "version": result.get("version"),
    }


__all__ = ["DEFAULT_MAPPING", "record_only_sink", "store_dataset_sink"]
