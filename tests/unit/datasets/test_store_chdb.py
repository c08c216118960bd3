"""The dataset store tests again on ClickHouse in-process (chDB): same test bodies, same expected results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from spanscope.store.clickhouse import ClickHouseStore
from tests.unit.datasets import test_store as duck
from tests.unit.store.engines import fresh_chdb_store

pytest.importorskip("chdb")


@pytest.fixture
def store() -> Iterator[ClickHouseStore]:
    with fresh_chdb_store() as s:
        yield s


test_versions_are_immutable_and_hashed = duck.test_versions_are_immutable_and_hashed
test_dedupe_and_updates_by_record_id = duck.test_dedupe_and_updates_by_record_id
test_ground_truth_by_key_keeps_who_and_when = duck.test_ground_truth_by_key_keeps_who_and_when
test_records_from_traces_with_mapping_sample_and_strata = duck.test_records_from_traces_with_mapping_sample_and_strata
test_deleting_a_dataset_removes_every_version = duck.test_deleting_a_dataset_removes_every_version
