"""EventBridgeRule event sources: a real rule (the template's pattern) on the moto bus with an SQS queue as its
target, so the moto bus does the matching; the queue is polled and each event invoked asynchronously."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from infra import template_model as tm
from infra.resources import REGION
from infra.routing.deliveries import event_summary
from infra.routing.failures import AsyncInvoker, ResolvedDestination
from infra.routing.lambda_events import bus_event, constant_input, selected_input

log = logging.getLogger("infra.local")


@dataclass
class RuleSource:
    function: tm.Function
    event: tm.EventBridgeRuleEvent
    rule_name: str
    bus: str
    queue_url: str
    on_failure: ResolvedDestination | None


class Rules:
    """The bus rules of a deployment, each with its queue, received from once per pass."""

    def __init__(self, session: Any, invoker: AsyncInvoker) -> None:
        self._events = session.client("events", region_name=REGION)
        self._sqs = session.client("sqs", region_name=REGION)
        self.invoker = invoker
        self.deployment = invoker.destinations.deployment
        self.sources: list[RuleSource] = []

    def wire(self, function: tm.Function, event: tm.EventBridgeRuleEvent) -> None:
        bus = self.deployment.resolve_str(event.event_bus) if event.event_bus is not None else "default"
        pattern = self.deployment.resolve(event.pattern)
        rule_name = f"local-{function.logical_id}-{event.name}"[:64]
        queue_name = f"certwright-local-{function.logical_id}-{event.name}"[:80]
        queue_url = self._sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        self._events.put_targets(
            Rule=rule_name, EventBusName=bus, Targets=[{"Id": "certwright-local-router", "Arn": queue_arn}]
        )
        log.info("%-26s %s <- bus %s %s", function.logical_id, event.name, bus, json.dumps(pattern))
        self.sources.append(
            RuleSource(
                function=function,
                event=event,
                rule_name=rule_name,
                bus=bus,
                queue_url=queue_url,
                on_failure=self.invoker.destinations.resolve(function.invoke_config.on_failure),
            )
        )

    def poll(self) -> int:
        return sum(self._poll(source) for source in self.sources)

    def pending(self) -> list[str]:
        waiting: list[str] = []
        for source in self.sources:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=source.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if any(int(v) for v in attributes.values()):
                waiting.append(f"{source.function.logical_id}: bus events")
        return waiting

    def _poll(self, source: RuleSource) -> int:
        visibility = min(
            43200, max(30, source.function.timeout * (source.function.invoke_config.maximum_retry_attempts + 1))
        )
        answer = self._sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=visibility
        )
        calls = 0
        for message in answer.get("Messages", []):
            try:
                envelope = json.loads(message["Body"])
            except ValueError:
                log.warning("%-26s dropped a message that is not JSON", source.function.logical_id)
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            event = bus_event(envelope)
            payload = self._input(source, event)
            calls += self.invoker.invoke(source.function, "event", event_summary(event), payload, source.on_failure)
            self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return calls

    def _input(self, source: RuleSource, event: dict[str, Any]) -> dict[str, Any]:
        if source.event.input is not None:
            return constant_input(self.deployment.resolve(source.event.input))
        if source.event.input_path:
            return selected_input(event, source.event.input_path)
        return event
