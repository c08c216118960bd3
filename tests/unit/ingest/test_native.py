from __future__ import annotations

import gzip

import pytest

from spanscope.ingest import BodyTooLarge, IngestError, decode_ingest, decompress
from tests.helpers import make_span, sid, tid


def _body(**kw: object) -> bytes:
    import json

    return json.dumps(kw).encode()


def test_valid_items_of_every_kind() -> None:
    batch = decode_ingest(
        _body(
            traces=[{"trace_id": tid(1), "tags": {"q": 0.5, "ok": True}, "session_id": "s1"}],
            spans=[make_span(tid(1), sid(1), attributes={"usage.total_tokens": 12, "m": "x", "l": [1, 2]})],
            events=[{"trace_id": tid(1), "span_id": sid(1), "name": "e", "time_ns": 5}],
            findings=[{"trace_id": tid(1), "name": "quality", "value": 0.7}],
        ),
        now_ns=1_800_000_000 * 10**9,
    )
    assert batch.accepted_counts() == {"spans": 1, "traces": 1, "events": 1, "findings": 1}
    assert batch.rejected == []
    assert batch.findings[0].time_ns == 1_800_000_000 * 10**9 and batch.findings[0].source == "code"
    assert batch.spans[0].kind == "other" and batch.spans[0].status == "UNSET"


@pytest.mark.parametrize(
    ("item", "reason_part"),
    [
        ({"span_id": sid(1), "name": "x", "start_time_ns": 1, "end_time_ns": 2}, "trace_id"),
        (make_span("XYZ", sid(1)), "$.trace_id"),
        (make_span(tid(1), "123"), "$.span_id"),
        (make_span(tid(1), sid(1), name=""), "$.name"),
        ({**make_span(tid(1), sid(1)), "end_time_ns": 1}, "end_time_ns is before start_time_ns"),
        (make_span(tid(1), sid(1), kind="banana"), "$.kind"),
        (make_span(tid(1), sid(1), status="FINE"), "$.status"),
        (make_span(tid(1), sid(1), attributes={"a": {"nested": 1}}), "$.attributes"),
        (make_span(tid(1), sid(1), start_time_ns="yesterday"), "$.start_time_ns"),
        ("not an object", "Expected `object`"),
    ],
)
def test_bad_span_is_rejected_with_index_and_reason(item: object, reason_part: str) -> None:
    good = make_span(tid(1), sid(2))
    batch = decode_ingest(_body(spans=[good, item, good]))
    assert len(batch.spans) == 2
    assert [(r.kind, r.index) for r in batch.rejected] == [("span", 1)]
    assert reason_part in batch.rejected[0].reason


def test_bad_finding_and_trace_rejected_separately() -> None:
    batch = decode_ingest(
        _body(
            traces=[{"trace_id": tid(1), "tags": {"x": [1, 2]}}, {"trace_id": tid(2)}],
            findings=[
                {"trace_id": tid(1), "name": "q"},
                {"trace_id": tid(1), "name": "q", "value": "good", "source": "robot"},
                {"trace_id": tid(1), "name": "q", "value": 1},
            ],
        )
    )
    assert [(r.kind, r.index) for r in batch.rejected] == [("trace", 0), ("finding", 0), ("finding", 1)]
    assert len(batch.traces) == 1 and len(batch.findings) == 1


@pytest.mark.parametrize("body", [b"", b"{", b"[1, 2]", b'{"spans": 5}', b"\xff\xfe", b'"\x80"'])
def test_unusable_body_raises(body: bytes) -> None:
    with pytest.raises(IngestError):
        decode_ingest(body)


def test_decompress_gzip_and_bomb() -> None:
    data = b'{"spans": []}'
    assert decompress(gzip.compress(data), "gzip", 1000) == data
    assert decompress(data, None, 1000) == data
    with pytest.raises(BodyTooLarge):
        decompress(gzip.compress(b"0" * 10_000), "gzip", 1000)
    with pytest.raises(IngestError):
        decompress(b"not gzip", "gzip", 1000)
    with pytest.raises(IngestError):
        decompress(data, "br", 1000)


def test_invalid_utf8_in_one_span_rejects_that_span_only() -> None:
    good = _body(spans=[make_span(tid(1), sid(2))])[len(b'{"spans": [') : -2]
    body = b'{"spans": [' + good + b', {"name": "\x80"}, ' + good + b"]}"
    batch = decode_ingest(body)
    assert len(batch.spans) == 2 and [(r.kind, r.index) for r in batch.rejected] == [("span", 1)]
    assert "invalid UTF-8" in batch.rejected[0].reason
