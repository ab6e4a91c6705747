"""The stream side: a new CA bundle version row is one CaBundleVersionCreated; stage updates are none.

The images are shaped like the table's (as DynamoDbCaBundles writes version rows); the row codec decodes them and
the outbox translates the typed rows.
"""

from __future__ import annotations

import json

from certwright.adapters.dynamodb_images import decode_image
from certwright.events import CaBundleVersionCreated, DomainEvent
from certwright.outbox import CaBundleVersionRow, events_for


def _image(stages: list[str], row_version: int = 1) -> dict[str, object]:
    data = {
        "bundleId": "cabundle-1",
        "versionNumber": 2,
        "stages": stages,
        "certificates": [],
        "createdAt": "2026-03-01T12:00:00+00:00",
        "createdBy": "arn:aws:iam::123456789012:user/tester",
        "reason": "Created",
        "name": "trust",
    }
    return {
        "pk": "BUNDLE#cabundle-1",
        "sk": "V#00000002",
        "kind": "CA_BUNDLE_VERSION",
        "data": json.dumps(data),
        "row_version": row_version,
    }


def _events(record_id: str, old: dict[str, object] | None, new: dict[str, object] | None) -> list[DomainEvent]:
    return events_for(record_id, decode_image(old), decode_image(new))


def test_a_new_version_row_is_one_event() -> None:
    decoded = decode_image(_image(["CURRENT", "LATEST"]))
    assert isinstance(decoded, CaBundleVersionRow) and decoded.bundle_name == "trust"
    (event,) = _events("rec-1", None, _image(["CURRENT", "LATEST"]))
    assert isinstance(event, CaBundleVersionCreated)
    assert (event.resource_id, event.version_number, event.name, event.event_id) == (
        "cabundle-1",
        2,
        "trust",
        "rec-1:0",
    )


def test_stage_changes_and_removals_are_not_new_versions() -> None:
    assert _events("rec-2", _image(["CURRENT", "LATEST"]), _image(["PREVIOUS"], 2)) == []
    assert _events("rec-3", _image(["PREVIOUS"]), None) == []
