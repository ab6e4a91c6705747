"""Schedule event sources: each function called every `schedule_seconds` (the local override) or at its rate()."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from infra import template_model as tm
from infra.resources import ACCOUNT, REGION
from infra.routing.failures import AsyncInvoker, ResolvedDestination
from infra.routing.lambda_events import constant_input, scheduled_event

log = logging.getLogger("infra.local")


@dataclass
class ScheduleSource:
    function: tm.Function
    event: tm.ScheduleEvent
    expression: str
    interval: float | None  # None: never by itself (fire_all() still runs it)
    rule_arn: str
    next_due: float
    on_failure: ResolvedDestination | None


class Schedules:
    """The schedules of a deployment: fired when due (`fire_due`) or all at once by hand (`fire_all`)."""

    def __init__(self, invoker: AsyncInvoker, schedule_seconds: float | None) -> None:
        """`schedule_seconds`: run every Schedule event this often (None: the template's rate; 0: never)."""
        self.invoker = invoker
        self.deployment = invoker.destinations.deployment
        self.schedule_seconds = schedule_seconds
        self.sources: list[ScheduleSource] = []

    def wire(self, function: tm.Function, event: tm.ScheduleEvent) -> None:
        expression = self.deployment.resolve_str(event.schedule)
        interval: float | None
        if self.schedule_seconds == 0:
            interval, shown = None, "only when fired by hand (schedules are off)"
        else:
            interval = self.schedule_seconds or tm.rate_seconds(expression)
            if interval is None:
                log.warning("%-26s %s (%s): only rate() runs locally", function.logical_id, event.name, expression)
                return
            shown = f"every {interval:g}s locally"
        rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/local-{function.logical_id}-{event.name}"
        log.info("%-26s %s <- schedule %s, %s", function.logical_id, event.name, expression, shown)
        self.sources.append(
            ScheduleSource(
                function=function,
                event=event,
                expression=expression,
                interval=interval,
                rule_arn=rule_arn,
                next_due=time.monotonic() + interval if interval is not None else float("inf"),
                on_failure=self.invoker.destinations.resolve(function.invoke_config.on_failure),
            )
        )

    def fire_due(self) -> int:
        now = time.monotonic()
        calls = 0
        for source in self.sources:
            if source.interval is not None and now >= source.next_due:
                source.next_due = max(source.next_due + source.interval, now + source.interval / 2)
                calls += self._fire(source)
        return calls

    def fire_all(self) -> int:
        return sum(self._fire(source) for source in self.sources)

    def _fire(self, source: ScheduleSource) -> int:
        if source.event.input is not None:
            payload = constant_input(self.deployment.resolve(source.event.input))
        else:
            payload = scheduled_event(source.rule_arn)
        return self.invoker.invoke(
            source.function, "schedule", f"schedule {source.expression}", payload, source.on_failure
        )
