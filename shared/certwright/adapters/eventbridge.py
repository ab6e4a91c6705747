"""EventBridge: publish domain events to Certwright's bus; a partly failed PutEvents is an error, never ignored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.errors import TransientError
from certwright.events import SOURCE, DomainEvent

MAX_ENTRIES = 10


class EventBusPublisher:
    def __init__(self, events: Any, bus_name: str) -> None:
        self._events = events
        self._bus = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        for start in range(0, len(events), MAX_ENTRIES):
            chunk = events[start : start + MAX_ENTRIES]
            entries = [
                {
                    "Source": SOURCE,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.to_detail()),
                    "Resources": [],
                    "EventBusName": self._bus,
                }
                for event in chunk
            ]
            try:
                response = self._events.put_events(Entries=entries)
            except (ClientError, BotoCoreError) as err:
                raise translate(err, "EventBridge PutEvents") from err
            if response.get("FailedEntryCount"):
                codes = {e.get("ErrorCode") for e in response.get("Entries", []) if e.get("ErrorCode")}
                # Consumers are idempotent, so publishing the whole record again is safe.
                raise TransientError(f"EventBridge refused {response['FailedEntryCount']} event(s): {sorted(codes)}")
