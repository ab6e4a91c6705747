"""The outbox publisher: one table change in, the domain events it stands for out on the bus."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certwright.events import DomainEvent
from certwright.outbox import events_for
from certwright.ports import EventPublisher


class OutboxPublisher:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def publish_change(
        self, record_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
    ) -> list[DomainEvent]:
        """`old`/`new`: the record's images as decoded (None or `{}` when it has none); the outbox reads them once."""
        events = events_for(record_id, old, new)
        if events:
            self._publisher.publish(events)
        return events
