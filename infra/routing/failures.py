"""Failure routing as Lambda does it: an asynchronous invocation retried MaximumRetryAttempts times, and what
gives up going to the on-failure destination (SQS, SNS or an EventBridge bus) in Lambda's record format."""

from __future__ import annotations

import json
import logging
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra import template_model as tm
from infra.resources import REGION, Deployment
from infra.routing.deliveries import DeliveryLog, describe_error, result_text
from infra.routing.handlers import Handlers

log = logging.getLogger("infra.local")


@dataclass(frozen=True)
class ResolvedDestination:
    type: str
    arn: str


class Destinations:
    """Resolves the template's on-failure destinations and sends failure records to them."""

    def __init__(self, deployment: Deployment, session: Any) -> None:
        self.deployment = deployment
        self._events = session.client("events", region_name=REGION)
        self._sqs = session.client("sqs", region_name=REGION)
        self._sns = session.client("sns", region_name=REGION)

    def resolve(self, destination: tm.Destination | None) -> ResolvedDestination | None:
        if destination is None:
            return None
        return ResolvedDestination(destination.type, self.deployment.resolve_str(destination.target))

    def send(self, destination: ResolvedDestination | None, message: dict[str, Any]) -> str:
        """Deliver `message`; returns where it went, for the delivery's log line."""
        if destination is None:
            return "dropped (no on-failure destination)"
        body = json.dumps(message, default=str)
        name = destination.arn.rsplit(":", 1)[-1]
        kind = destination.type.upper()
        if kind == "SQS":
            url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
            return f"-> queue {name}"
        if kind == "SNS":
            self._sns.publish(TopicArn=destination.arn, Message=body)
            return f"-> topic {name}"
        if kind == "EVENTBRIDGE":
            self._events.put_events(
                Entries=[
                    {
                        "EventBusName": destination.arn,
                        "Source": "lambda",
                        "DetailType": "Lambda Function Invocation Result - Failure",
                        "Detail": body,
                    }
                ]
            )
            return f"-> bus {name.rsplit('/', 1)[-1]}"
        return f"dropped ({destination.type} destinations are not emulated locally)"


def stream_failure_record(
    function_arn: str,
    shard_id: str,
    stream_arn: str,
    record: dict[str, Any],
    attempts: int,
    function_error: bool,
) -> dict[str, Any]:
    """What Lambda sends the on-failure destination of a stream source for a record whose retries ran out."""
    arrival = datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC).isoformat()
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled" if function_error else None,
        },
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival,
            "approximateArrivalOfLastRecord": arrival,
            "batchSize": 1,
            "streamArn": stream_arn,
        },
        # Local addition (Lambda sends only the batch coordinates): the record itself, for inspection.
        "record": record,
    }


def async_failure_record(
    function_arn: str, payload: dict[str, Any], error: BaseException, attempts: int
) -> dict[str, Any]:
    """What Lambda sends the on-failure destination of an asynchronous invocation whose retries ran out."""
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(error)[-3:],
        },
    }


class AsyncInvoker:
    """Invokes a handler as an asynchronous event source does (bus rules, schedules): retry, then dead-letter."""

    def __init__(self, handlers: Handlers, destinations: Destinations, deliveries: DeliveryLog) -> None:
        self.handlers = handlers
        self.destinations = destinations
        self.deliveries = deliveries

    def invoke(
        self,
        function: tm.Function,
        kind: str,
        summary: str,
        payload: dict[str, Any],
        on_failure: ResolvedDestination | None,
    ) -> int:
        """Retried EventInvokeConfig.MaximumRetryAttempts times, then dead-lettered; returns the calls made."""
        retries = max(0, function.invoke_config.maximum_retry_attempts)
        for attempt in range(1, retries + 2):
            try:
                result = self.handlers.invoke(function, payload)
            except Exception as err:  # noqa: BLE001 - Lambda retries a failed asynchronous invocation
                log.debug("%s", traceback.format_exc())
                if attempt <= retries:
                    self.deliveries.record(
                        function,
                        kind,
                        summary,
                        f"error {describe_error(err)}; retry {attempt}/{retries}",
                        False,
                        payload,
                    )
                    continue
                function_arn = self.destinations.deployment.function_arn(function)
                where = self.destinations.send(on_failure, async_failure_record(function_arn, payload, err, attempt))
                self.deliveries.record(
                    function, kind, summary, f"error {describe_error(err)}; retries exhausted, {where}", False, payload
                )
                return attempt
            else:
                self.deliveries.record(function, kind, summary, result_text(result), True, payload)
                return attempt
        return retries + 1
