from __future__ import annotations

import json

import msgspec
import pytest

from spanscope.ingest import decode_ingest
from spanscope.ingest.limits import TRUNCATED_KEY, Limits, apply_span_limits, check_time
from spanscope.model import Span
from tests.helpers import make_span, sid, tid

NOW = 1_700_000_000 * 10**9


@pytest.mark.parametrize(
    ("start", "fragment"),
    [
        (1_700_000_000, "seconds"),
        (1_700_000_000_000, "milliseconds"),
        (1_700_000_000_000_000, "microseconds"),
        (NOW + 2 * 86_400 * 10**9, "in the future"),
    ],
)
def test_implausible_timestamps_are_rejected_with_a_reason(start: int, fragment: str) -> None:
    span = {**make_span(tid(1), sid(1)), "start_time_ns": start, "end_time_ns": start + 5}
    body = json.dumps({"spans": [make_span(tid(1), sid(2)), span]}).encode()
    batch = decode_ingest(body, now_ns=NOW)
    assert len(batch.spans) == 1
    assert [(r.kind, r.index) for r in batch.rejected] == [("span", 1)]
    assert fragment in batch.rejected[0].reason
    assert check_time(NOW, NOW, NOW) is None


def test_oversized_values_are_truncated_with_a_marker_not_rejected() -> None:
    big = "x" * 50
    span = make_span(
        tid(1), sid(1), "n" * 30,
        attributes={**{f"a{i}": i for i in range(12)}, "long": big, "list": list(range(20))},
        inputs={"prompt": big * 10}, outputs=big,
        events=[{"name": f"e{i}", "time_ns": NOW} for i in range(7)],
    )  # fmt: skip
    batch = decode_ingest(json.dumps({"spans": [span]}).encode(), now_ns=NOW,
                          limits=Limits(max_attributes=14, max_value_chars=20, max_list_items=5, max_events=3,
                                        max_name_chars=10, max_payload_bytes=100))  # fmt: skip
    assert batch.rejected == []
    (s,) = batch.spans
    assert s.name.startswith("n" * 10 + "…[truncated by spanscope: 20 chars]")
    assert s.attributes["long"] == "x" * 20 + "…[truncated by spanscope: 30 chars]"
    assert s.attributes["list"] == [0, 1, 2, 3, 4]
    assert "spanscope.dropped_attributes" not in s.attributes  # 14 attributes: at the limit, none dropped
    assert len(s.events) == 3 and s.attributes["spanscope.dropped_events"] == 4
    inputs = msgspec.json.decode(s.inputs)
    assert isinstance(inputs, str) and inputs.startswith('{"prompt": "xxx') and "truncated by spanscope" in inputs
    assert msgspec.json.decode(s.outputs) == big  # 52 bytes of JSON: under the limit
    assert set(s.attributes[TRUNCATED_KEY]) == {"name", "attributes.long", "attributes.list", "inputs"}


def test_attributes_over_the_count_are_dropped_and_counted() -> None:
    s = msgspec.convert(make_span(tid(1), sid(1), attributes={f"k{i}": i for i in range(10)}), Span)
    apply_span_limits(s, Limits(max_attributes=4))
    assert [k for k in s.attributes if k.startswith("k")] == ["k0", "k1", "k2", "k3"]
    assert s.attributes["spanscope.dropped_attributes"] == 6


def test_python_payloads_are_limited_too() -> None:
    s = msgspec.convert(make_span(tid(1), sid(1), inputs={"t": "y" * 500}), Span)
    apply_span_limits(s, Limits(max_payload_bytes=50))
    assert isinstance(s.inputs, str) and s.inputs.endswith("bytes]") and s.attributes[TRUNCATED_KEY] == ["inputs"]
