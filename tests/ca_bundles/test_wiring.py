"""The template routes CA changes to the function that refreshes CA bundles."""

from __future__ import annotations

from certwright.services.ca_bundles import AUTHORITY_EVENTS

from infra import template_model as tm


def test_the_association_change_function_receives_every_ca_event_a_bundle_follows() -> None:
    by_id = {f.logical_id: f for f in tm.load().functions}
    routed = {t for e in by_id["AssociationChangeFunction"].events for t in (e.pattern or {}).get("detail-type", [])}
    assert {cls.detail_type for cls in AUTHORITY_EVENTS} <= routed
