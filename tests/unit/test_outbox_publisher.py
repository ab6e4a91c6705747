"""The outbox publisher composes the row decoder and the translation: images in, events published (none: no call)."""

from __future__ import annotations

from certwright.adapters.dynamodb_images import decode_image
from certwright.events import AssociationCreated, DomainEvent
from certwright.services.outbox_publisher import OutboxPublisher

from tests.unit.outbox_rows import association_row, image_of


class RecordingPublisher:
    def __init__(self) -> None:
        self.batches: list[list[DomainEvent]] = []

    def publish(self, events: list[DomainEvent]) -> None:
        self.batches.append(list(events))


def test_a_change_is_decoded_translated_and_published_once() -> None:
    bus = RecordingPublisher()
    outbox = OutboxPublisher(bus, decode_image)
    inserted = image_of(association_row(1))
    published = outbox.publish_change("rec-1", {}, inserted)
    assert [type(e) for e in published] == [AssociationCreated]
    assert bus.batches == [published]
    assert outbox.events_of("rec-1", None, inserted) == published, "the same record, the same events"


def test_a_change_that_stands_for_nothing_publishes_nothing() -> None:
    bus = RecordingPublisher()
    outbox = OutboxPublisher(bus, decode_image)
    row = image_of(association_row(2))
    assert outbox.publish_change("rec-2", row, row) == []
    audit = {"pk": "AUDIT#x", "sk": "t#1", "kind": "AUDIT", "data": "{}", "row_version": 1}
    assert outbox.publish_change("rec-3", None, audit) == []
    assert bus.batches == []
