"""Property tests: the OTLP decoder and the translators never fail on any input but with ``IngestError``.

Whatever they accept also passes the model's own validation (so the ingest log can replay it and clients
can read it back), and every span of a well-shaped request is either accepted or rejected with a reason.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spanscope.ingest.conventions import TRANSLATE_ERROR_KEY, translate_span
from spanscope.ingest.native import IngestBatch, IngestError
from spanscope.ingest.otlp import JSON, PROTOBUF, OtlpDecoded, _attribute, decode_otlp_traces
from spanscope.model import Event

from .conventions.util import make_span
from .otlp_strategies import (
    count_json_spans,
    dumps,
    json_junk,
    json_requests,
    pb_requests,
    python_attributes,
)
from .otlp_util import T0, assert_model_valid

FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_ingest_error(body: bytes, fmt: str) -> OtlpDecoded | None:
    try:
        decoded = decode_otlp_traces(body, fmt)
    except IngestError as exc:
        assert str(exc)  # says what is wrong
        return None
    assert_model_valid(decoded)
    assert decoded.accepted_spans + len(decoded.rejected) == decoded.span_count
    assert all(r.reason for r in decoded.rejected)
    return decoded


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_protobuf(body: bytes) -> None:
    decode_or_ingest_error(body, PROTOBUF)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes_as_json(body: bytes) -> None:
    decode_or_ingest_error(body, JSON)


@FUZZ
@given(json_junk)
def test_random_json(doc: Any) -> None:
    decode_or_ingest_error(dumps(doc), JSON)


@FUZZ
@given(json_requests)
def test_well_shaped_json_with_bad_fields(doc: dict[str, Any]) -> None:
    decoded = decode_or_ingest_error(dumps(doc), JSON)
    if decoded is not None:
        assert decoded.span_count == count_json_spans(doc)


@FUZZ
@given(pb_requests())
def test_random_protobuf_messages(case: tuple[bytes, int]) -> None:
    body, n = case
    decoded = decode_or_ingest_error(body, PROTOBUF)
    assert decoded is not None  # a serialized message always parses
    assert decoded.span_count == n


_EVENT_NAMES = st.lists(st.sampled_from(["gen_ai.choice", "gen_ai.user.message", "gen_ai.evaluation.result"]))


@FUZZ
@given(python_attributes, _EVENT_NAMES)
def test_translators_never_fail(attrs: dict[str, Any], event_names: list[str]) -> None:
    # The values as the decoder hands them over: bytes as base64 text, maps and nested lists as JSON text.
    clean = {k: _attribute(_bytes_to_text(v)) for k, v in attrs.items() if v is not None}
    events = [Event(name=n, time_ns=T0, attributes=dict(clean)) for n in event_names]
    span, findings, info = translate_span(make_span(clean, events))
    assert TRANSLATE_ERROR_KEY not in span.attributes, span.attributes[TRANSLATE_ERROR_KEY]
    for key, value in clean.items():
        assert span.attributes[key] == value  # raw attributes untouched
    decoded = OtlpDecoded(batches={None: IngestBatch(spans=[span], findings=findings, traces=[info] if info else [])})
    assert_model_valid(decoded)


def _bytes_to_text(v: Any) -> Any:
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, list):
        return [_bytes_to_text(x) for x in v]
    if isinstance(v, dict):
        return {k: _bytes_to_text(x) for k, x in v.items()}
    return v
