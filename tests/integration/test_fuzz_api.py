"""Fuzz the HTTP API from its own OpenAPI document: every input gets an answer below 500."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from spanscope.server import ServerThread


def test_no_input_makes_a_server_error(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "fuzz") as srv:
        schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 4
        seen: dict[str, set[int]] = {}
        for op in operations:

            @given(case=op.as_strategy())
            @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: schemathesis.Case) -> None:
                response = case.call()
                seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
                assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

            fuzz()
        assert srv.store is not None
        print({k: sorted(v) for k, v in seen.items()})
