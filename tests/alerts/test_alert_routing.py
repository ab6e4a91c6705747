"""The local runtime wires the alert notifier from template.yaml: an alert event put on the bus reaches a subscriber
of the alert topic; other events do not reach the notifier."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from certwright.events import CertificateVersionCreated, RenewalFailed

from infra.runtime import LocalRuntime, local_runtime

CERT = "cert-0123456789abcdef0123"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


def put(rt: LocalRuntime, detail_type: str, detail: dict[str, Any]) -> None:
    answer = rt.session.client("events").put_events(
        Entries=[
            {
                "EventBusName": rt.deployment.resources["EventBus"].ref,
                "Source": "certwright",
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0


def test_an_alert_event_on_the_bus_reaches_a_subscriber_of_the_alert_topic(runtime: LocalRuntime) -> None:
    session = runtime.session
    topic = runtime.deployment.resources["AlertTopic"].ref
    sqs = session.client("sqs")
    url = sqs.create_queue(QueueName="routing-alert-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    failed = RenewalFailed("stream-1:0", CERT, 3, "web-prod", 2, "ServiceUnavailable: KMS throttled")
    put(runtime, failed.detail_type, failed.to_detail())
    created = CertificateVersionCreated("stream-2:0", CERT, 4, 2, "ab", ("CURRENT",), "2026-04-01T00:00:00+00:00")
    put(runtime, created.detail_type, created.to_detail())
    runtime.router.drain(timeout=60)

    notified = [d for d in runtime.router.deliveries if d.function == "AlertNotifierFunction"]
    assert [d.summary.split()[0] for d in notified] == ["RenewalFailed"], notified
    assert all(d.ok for d in notified)
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not messages and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        messages.extend(json.loads(m["Body"]) for m in answer.get("Messages", []))
    (message,) = messages
    assert message["Message"].startswith(f"Renewal of certificate 'web-prod' ({CERT}) failed 2 times: ")
    assert message["MessageAttributes"]["eventType"]["Value"] == "RenewalFailed"
