"""The publisher ports: domain events out on the bus, alerts out on the alert topic."""

from __future__ import annotations

from typing import Protocol

from certwright.domain.alerts import Alert
from certwright.events import DomainEvent


class EventPublisher(Protocol):
    def publish(self, events: list[DomainEvent]) -> None:
        """Put every event on the bus, or raise: TransientError (throttled, or an entry refused; the caller's
        retry sends them again) or DependencyError."""
        ...


class AlertPublisher(Protocol):
    def publish(self, alert: Alert) -> str:
        """Send one alert; returns the message id. Raises TransientError or DependencyError on failure."""
        ...
