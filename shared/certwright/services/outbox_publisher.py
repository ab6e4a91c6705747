"""The outbox publisher: one table change in, the domain events it stands for out on the bus."""

from __future__ import annotations

from typing import Any, Protocol

from certwright.events import DomainEvent
from certwright.outbox import events_for


class EventPublisher(Protocol):
    def publish(self, events: list[DomainEvent]) -> None: ...


class OutboxPublisher:
    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher

    def publish_change(
        self, record_id: str, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> list[DomainEvent]:
        events = events_for(record_id, old, new)
        if events:
            self._publisher.publish(events)
        return events
