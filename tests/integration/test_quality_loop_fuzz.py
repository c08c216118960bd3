"""Fuzz the findings, datasets and runs endpoints from the OpenAPI document: no input makes a server error."""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings

from spanscope.server import ServerThread

PREFIXES = ("/api/v1/findings", "/api/v1/datasets", "/api/v1/runs")


def test_quality_endpoints_never_answer_5xx(tmp_path: Path) -> None:
    with ServerThread(tmp_path / "fuzz") as srv:
        schema = schemathesis.openapi.from_url(srv.url + "/openapi.json")
        operations = [op for r in schema.get_all_operations() if (op := r.ok()).path.startswith(PREFIXES)]
        assert len(operations) >= 20
        seen: dict[str, set[int]] = {}
        for op in operations:

            @given(case=op.as_strategy())
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def fuzz(case: schemathesis.Case) -> None:
                response = case.call()
                seen.setdefault(f"{case.method} {case.path}", set()).add(response.status_code)
                assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:300])

            fuzz()
        assert len(seen) == len(operations)
