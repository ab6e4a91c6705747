"""The local event router: delivers table stream records, bus events and schedules to the handlers the template wires.

Everything it does is read from the template (infra/template_model.py) and resolved against the embedded AWS
(infra/resources.py):

- DynamoDB stream events: the router reads the table's stream (dynamodbstreams API) and calls the function with
  batches shaped as Lambda's DynamoDB event. With ReportBatchItemFailures it honours `batchItemFailures`: the
  next batch starts at the first failed record; after MaximumRetryAttempts retries that record goes to the
  on-failure destination and the router moves past it. A raised exception fails the whole batch
  (BisectBatchOnFunctionError halves the next batch).
- EventBridgeRule events: for each one the router puts a real rule (the template's pattern) on the moto bus with
  an SQS queue as its target, then polls the queue; the moto bus does the matching. An exception is retried
  EventInvokeConfig.MaximumRetryAttempts times (default 2), then the event goes to the on-failure destination.
- Schedule events: called every `schedule_seconds` (the local override) or at the template's rate.

Handlers are loaded from `<CodeUri>/<module>.py` with a unique module name; a missing or broken one is logged
once and its events are not wired. `run_once()` does one pass; `drain(timeout)` delivers until nothing is
pending; `start()` runs passes on a background thread.

This module owns the passes and the background loop; the parts live in infra/routing/: handlers.py (loading
and calling handlers), lambda_events.py (the events' shapes), streams.py, rules.py, schedules.py (one per kind
of event source), failures.py (retries and on-failure destinations), deliveries.py (what was delivered).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from infra import template_model as tm
from infra.resources import Deployment
from infra.routing.deliveries import Delivery, DeliveryLog, describe_error
from infra.routing.failures import AsyncInvoker, Destinations, ResolvedDestination
from infra.routing.handlers import Handlers, HandlerUnavailable, LocalLambdaContext
from infra.routing.lambda_events import lambda_stream_record, scheduled_event
from infra.routing.rules import Rules
from infra.routing.schedules import Schedules
from infra.routing.streams import Streams

__all__ = [
    "Delivery",
    "HandlerUnavailable",
    "Handlers",
    "LocalLambdaContext",
    "ResolvedDestination",
    "Router",
    "lambda_stream_record",
    "scheduled_event",
]

log = logging.getLogger("infra.local")


class Router:
    def __init__(
        self,
        deployment: Deployment,
        session: Any,
        handlers: Handlers | None = None,
        *,
        schedule_seconds: float | None = None,
        poll_interval: float = 0.25,
        changes: Callable[[], int] | None = None,
        quiet_poll_seconds: float = 2.0,
    ) -> None:
        """`schedule_seconds`: run every Schedule event this often (None: the template's rate; 0: never).

        `changes`: a count of the writes the embedded AWS has answered (its gate's). When given, the background loop
        polls the streams and rule queues only after a write since its last empty pass, or every
        `quiet_poll_seconds` (what no write announces: a message whose visibility timeout ran out); in between it
        only fires due schedules, every `poll_interval`. An idle router then costs next to no CPU (polling every
        source each 0.25 s cost about 14% of a core) and notices a change within `poll_interval`.
        """
        self.deployment = deployment
        self.handlers = handlers or Handlers(deployment)
        self.schedule_seconds = schedule_seconds
        self.poll_interval = poll_interval
        self._changes = changes
        self.quiet_poll_seconds = quiet_poll_seconds
        self._log = DeliveryLog()
        self.deliveries: deque[Delivery] = self._log.entries
        destinations = Destinations(deployment, session)
        invoker = AsyncInvoker(self.handlers, destinations, self._log)
        self._streams = Streams(session, self.handlers, destinations, self._log)
        self._rules = Rules(session, invoker)
        self._schedules = Schedules(invoker, schedule_seconds)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wired = False

    # ------------------------------------------------------------------ wiring

    def wire(self) -> None:
        """Read the template's event sources; create the bus rules and their queues. Idempotent."""
        with self._lock:
            if self._wired:
                return
            self._wired = True
            for function in self.deployment.template.functions:
                wanted = [e for e in function.events if not isinstance(e, tm.ApiEvent)]
                if not wanted or not self.handlers.available(function):
                    continue
                for event in wanted:
                    try:
                        self._wire_event(function, event)
                    except Exception as err:  # noqa: BLE001 - one bad event source must not stop the others
                        log.warning("%-26s %s not wired: %s", function.logical_id, event.name, describe_error(err))

    def _wire_event(self, function: tm.Function, event: tm.Event) -> None:
        if isinstance(event, tm.StreamEvent) and event.enabled:
            self._streams.wire(function, event)
        elif isinstance(event, tm.EventBridgeRuleEvent) and event.enabled:
            self._rules.wire(function, event)
        elif isinstance(event, tm.ScheduleEvent) and event.enabled:
            self._schedules.wire(function, event)

    # ------------------------------------------------------------------ passes

    def run_once(self, schedules: bool = True) -> int:
        """One pass over every source: one stream batch each, one receive per rule queue, due schedules.

        Returns how many handler calls it made.
        """
        self.wire()
        with self._lock:
            calls = self._streams.poll() + self._rules.poll()
            if schedules:
                calls += self._schedules.fire_due()
        return calls

    def stream_iterators(self) -> list[str]:
        """The current shard iterator of each stream source (call with the router paused): where it reads next."""
        with self._lock:
            return [source.iterator for source in self._streams.sources]

    def pending(self) -> list[str]:
        """What is still waiting: streams with unread records, rule queues with messages."""
        with self._lock:
            return self._streams.pending() + self._rules.pending()

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver until no stream record and no bus event is left (schedules do not fire); bounded by `timeout`.

        Returns the number of handler calls; raises TimeoutError if something is still pending at the deadline.
        """
        deadline = time.monotonic() + timeout
        total = 0
        while True:
            calls = self.run_once(schedules=False)
            total += calls
            if calls == 0:
                waiting = self.pending()
                if not waiting:
                    return total
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"still pending after {timeout:g}s: {', '.join(waiting)}")
                time.sleep(0.02)
            elif time.monotonic() >= deadline:
                raise TimeoutError(f"still delivering after {timeout:g}s ({total} calls)")

    def fire_schedules(self) -> int:
        """Run every Schedule function now (as if its rate came due); returns the number of calls."""
        self.wire()
        with self._lock:
            return self._schedules.fire_all()

    # ------------------------------------------------------------------ background loop

    def start(self) -> None:
        self.wire()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="certwright-router", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        quiet_at: int | None = None  # the change count when the last pass over every source began and found nothing
        polled = 0.0
        while not self._stop.is_set():
            try:
                count = self._changes() if self._changes is not None else None
                if count is not None and count == quiet_at and time.monotonic() - polled < self.quiet_poll_seconds:
                    with self._lock:
                        calls = self._schedules.fire_due()  # nothing was written: no stream record, no bus event
                else:
                    polled = time.monotonic()
                    calls = self.run_once()
                    quiet_at = count if calls == 0 else None
            except Exception as err:  # noqa: BLE001 - keep routing; the embedded AWS may be stopping
                if self._stop.is_set():
                    return
                log.warning("router pass failed: %s", describe_error(err))
                calls = 0
            if calls == 0:
                self._stop.wait(self.poll_interval)
