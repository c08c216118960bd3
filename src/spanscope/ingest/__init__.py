"""Decode and validate incoming payloads (native JSON now; OTLP next) into model objects."""

from spanscope.ingest.native import (
    BodyTooLarge,
    IngestBatch,
    IngestError,
    Rejection,
    SpanEvent,
    decode_ingest,
    decompress,
)

__all__ = [
    "BodyTooLarge",
    "IngestBatch",
    "IngestError",
    "Rejection",
    "SpanEvent",
    "decode_ingest",
    "decompress",
]
