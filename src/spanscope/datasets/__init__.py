"""Evaluation datasets built from production traces: versioned, hashed, with ground truth, exportable.

    import spanscope

    ds = spanscope.datasets.create("low-quality-turns", description="turns scored below 0.5")
    ds.add_from_traces(
        "tag.quality_score < 0.5",
        mapping={"input": "span.inputs.messages[-1].content", "output": "span.outputs.choices[0].message.content"},
        sample=50, seed=7, stratify_by="metadata.intent",
    )
    ds.expected_from_csv("ground_truth.csv", key="input")     # who and when are kept
    ds.to_pandas()                                             # record_id, input, output, expected, source ids
    ds.version, ds.content_hash                                # every change is a new immutable version
    spanscope.datasets.get("low-quality-turns", version=1)     # read-only, forever the same

Everything lives on the server (``/api/v1/datasets``); this package is its client. Every record keeps the
trace (and span) it came from. Exports: ``to_csv``, ``to_jsonl``, ``to_parquet``, ``to_pandas`` (all read
back by ``from_csv``/``from_jsonl``/``from_parquet``/``from_dataframe``) and ``to_openai_jsonl`` (chat
fine-tuning examples from the traces' message lists). pandas and pyarrow load only when needed.
"""

from __future__ import annotations

from spanscope.datasets.handle import (
    Dataset,
    create,
    delete,
    diff,
    from_csv,
    from_dataframe,
    from_jsonl,
    from_parquet,
    from_records,
    get,
    list_datasets,
)

list = list_datasets  # noqa: A001 - spanscope.datasets.list() reads as intended

__all__ = [
    "Dataset",
    "create",
    "delete",
    "diff",
    "from_csv",
    "from_dataframe",
    "from_jsonl",
    "from_parquet",
    "from_records",
    "get",
    "list",
    "list_datasets",
]
