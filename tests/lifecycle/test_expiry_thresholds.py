"""Expiry alert thresholds are configurable per certificate (default 30 and 7 days)."""

from __future__ import annotations

from typing import Any

import pytest
from certwright import bootstrap
from certwright.outbox import events_for

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.lifecycle.table_stream import TableStream


def _expiring(stream: TableStream) -> list[dict[str, Any]]:
    events = [e for r in stream.read() for e in events_for(r.event_id, r.old, r.new)]
    return [e.to_detail() for e in events if e.detail_type == "CertificateExpiring"]


def test_a_certificate_alerts_at_its_own_thresholds(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, aws: Aws
) -> None:
    created = api.post(
        "/certificates",
        leaf_body(hierarchy.issuing["id"], validityDuration="PT1H", expiryAlertThresholds=["PT30M", "PT5M"]),
    )
    assert created.status == 201, created.body
    assert created.body["expiryAlertThresholds"] == ["PT1800S", "PT300S"]
    stream = TableStream(aws)
    stream.skip()

    clock.advance(minutes=20)
    assert container.sweep.run()["examined"] == 0, "nothing crossed yet"
    clock.advance(minutes=11)
    container.sweep.run()
    assert [e["threshold"] for e in _expiring(stream)] == ["PT1800S"]
    clock.advance(minutes=25)
    container.sweep.run()
    assert [e["threshold"] for e in _expiring(stream)] == ["PT300S"]


def test_thresholds_can_be_changed_later(api: ApiClient, hierarchy: Hierarchy) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    assert created["expiryAlertThresholds"] == ["P30D", "P7D"]
    updated = api.call("PATCH", f"/certificates/{created['id']}", {"expiryAlertThresholds": ["P14D", "P1D"]})
    assert updated.status == 200, updated.body
    assert updated.body["expiryAlertThresholds"] == ["P14D", "P1D"]


@pytest.mark.parametrize(
    "thresholds",
    [[], ["P1M"], ["PT30S"], ["P500D"], ["P7D", "P7D"], ["P1D", "P2D", "P3D", "P4D", "P5D", "P6D"], ["soon"]],
)
def test_bad_thresholds_are_refused_and_nothing_is_written(
    api: ApiClient, hierarchy: Hierarchy, aws: Aws, thresholds: list[str]
) -> None:
    before = len(aws.table_items())
    answer = api.post("/certificates", leaf_body(hierarchy.issuing["id"], expiryAlertThresholds=thresholds))
    assert answer.status == 400, answer.body
    assert len(aws.table_items()) == before
