"""The stream side: a new CA bundle version row is one CaBundleVersionCreated; stage updates are none."""

from __future__ import annotations

import json

from certwright.events import CaBundleVersionCreated
from certwright.outbox import events_for


def _image(stages: list[str]) -> dict[str, object]:
    data = {"bundleId": "cabundle-1", "versionNumber": 2, "stages": stages, "certificates": [], "name": "trust"}
    return {
        "pk": "BUNDLE#cabundle-1",
        "sk": "V#00000002",
        "kind": "CA_BUNDLE_VERSION",
        "data": json.dumps(data),
        "row_version": 1,
    }


def test_a_new_version_row_is_one_event() -> None:
    (event,) = events_for("rec-1", None, _image(["CURRENT", "LATEST"]))
    assert isinstance(event, CaBundleVersionCreated)
    assert (event.resource_id, event.version_number, event.name, event.event_id) == (
        "cabundle-1",
        2,
        "trust",
        "rec-1:0",
    )


def test_stage_changes_and_removals_are_not_new_versions() -> None:
    assert events_for("rec-2", _image(["CURRENT", "LATEST"]), _image(["PREVIOUS"])) == []
    assert events_for("rec-3", _image(["PREVIOUS"]), None) == []
