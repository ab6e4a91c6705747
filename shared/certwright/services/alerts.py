"""Alert delivery: an alert-worthy domain event becomes one message on the alert topic."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from certwright.domain.alerts import alert_for
from certwright.events import DomainEvent
from certwright.ports import AlertPublisher

REMEMBERED = 1000


class AlertNotifier:
    """Sends each alert once per warm container: an event id already sent here is not sent again.

    SNS itself does not deduplicate, and EventBridge delivers at least once; remembering the last ids costs
    nothing and stops the common duplicate (a retry that reaches the same container). A failed publish raises,
    so EventBridge retries the event and then parks it in the failure queue.
    """

    def __init__(self, publisher: AlertPublisher, remembered: int = REMEMBERED) -> None:
        self._publisher = publisher
        self._sent: OrderedDict[str, str] = OrderedDict()
        self._remembered = remembered

    def notify(self, event: DomainEvent) -> dict[str, Any]:
        alert = alert_for(event)
        if alert is None:
            return {"skipped": f"{event.detail_type} is not an alert"}
        if event.event_id and event.event_id in self._sent:
            return {"duplicate": event.event_id, "messageId": self._sent[event.event_id]}
        message_id = self._publisher.publish(alert)
        if event.event_id:
            self._sent[event.event_id] = message_id
            while len(self._sent) > self._remembered:
                self._sent.popitem(last=False)
        return {"sent": alert.event_type, "resourceId": alert.resource_id, "messageId": message_id}
