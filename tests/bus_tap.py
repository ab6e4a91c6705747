"""A tap on the event bus for tests on the in-process embedded AWS: an SQS queue behind a rule that matches every
Certwright event, and a bounded drain of what reached it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Aws


@pytest.fixture
def bus_queue(aws: Aws) -> str:
    """An SQS queue that receives every Certwright event put on the bus (a rule with an SQS target)."""
    sqs, events = aws.session.client("sqs"), aws.session.client("events")
    url = sqs.create_queue(QueueName="certwright-events-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.settings.event_bus_name
    events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["certwright"]}))
    events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def drain(aws: Aws, url: str) -> list[dict[str, Any]]:
    """Every event that reached the tap since the last drain (at most 200: the loop is bounded)."""
    sqs, received = aws.session.client("sqs"), []
    for _ in range(20):
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received
