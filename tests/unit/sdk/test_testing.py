"""spanscope.testing: users assert whole span trees and records as data."""

from __future__ import annotations

import msgspec
import pytest

from spanscope.sdk import observe, span, trace
from spanscope.testing import capture


@observe(kind="tool")
def lookup(order_id: str) -> dict[str, str]:
    return {"status": "shipped", "order": order_id}


def test_whole_tree_with_fields_and_lookup() -> None:
    with capture() as cap, trace("turn", kind="chain", tags={"channel": "web"}):
        lookup("A1")
        with span("llm.generate", kind="llm", attributes={"gen_ai.request.model": "m"}):
            pass
    assert cap.span_tree(fields=("attributes", "inputs", "outputs")) == [
        {"name": "turn", "kind": "chain", "status": "OK", "attributes": {}, "inputs": None, "outputs": None,
         "children": [
            {"name": "lookup", "kind": "tool", "status": "OK", "attributes": {}, "inputs": {"order_id": "A1"},
             "outputs": {"status": "shipped", "order": "A1"}, "children": []},
            {"name": "llm.generate", "kind": "llm", "status": "OK", "attributes": {"gen_ai.request.model": "m"},
             "inputs": None, "outputs": None, "children": []},
        ]},
    ]  # fmt: skip
    assert cap.get("lookup").inputs == {"order_id": "A1"}
    assert msgspec.to_builtins(cap.get("llm.generate"))["span_id"] == f"{3:016x}"
    assert cap.trace_info(f"{1:032x}")["tags"] == {"channel": "web"}
    assert cap.dropped() == {"queue_full": 0, "export_failed": 0, "shutdown": 0, "sampled_out": 0}
    with pytest.raises(AssertionError, match="expected one span named 'missing'"):
        cap.get("missing")


def test_capture_takes_pipeline_options() -> None:
    with capture(sample_rate=0.0) as cap, span("never"):
        pass
    assert cap.spans == []
    with pytest.raises(TypeError, match="unexpected options"), capture(endpoint="http://x"):
        pass
