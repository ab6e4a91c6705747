"""The outbox publisher: one table change in, the domain events it stands for out on the bus.

It composes the two halves of the outbox: the row decoder (the adapters' codec, given by the composition root:
certwright.adapters.dynamodb_images.decode_image) turns each stream image into a typed row, and the pure
translation (certwright.outbox.events_for) compares them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from certwright.events import DomainEvent
from certwright.outbox import Row, events_for
from certwright.ports import EventPublisher


class RowDecoder(Protocol):
    def __call__(self, image: Mapping[str, Any] | None, /) -> Row | None:
        """The typed row a stream image holds; None for no image (None or `{}`) or a row that stands for no event.

        Raises CorruptRowError for an image of a known kind that cannot be read.
        """
        ...


class OutboxPublisher:
    def __init__(self, publisher: EventPublisher, decode: RowDecoder) -> None:
        self._publisher = publisher
        self._decode = decode

    def events_of(
        self, record_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> list[DomainEvent]:
        """The events one record's images stand for (`record_id`: the stream's eventID), published or not."""
        return events_for(record_id, self._decode(old), self._decode(new))

    def publish_change(
        self, record_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> list[DomainEvent]:
        """`old`/`new`: the record's images as decoded (None or `{}` when it has none); their events, published."""
        events = self.events_of(record_id, old, new)
        if events:
            self._publisher.publish(events)
        return events
