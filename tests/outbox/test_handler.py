"""stream_publisher's real handler on moto's own records: a record whose image its codec cannot read fails alone
(reported for retry, then to the failure queue), its content never logged; the batch's other records publish."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from certwright import bootstrap

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body
from tests.lifecycle.handlers import LambdaContext, load_function
from tests.lifecycle.table_stream import TableStream


@pytest.fixture
def stream(aws: Aws) -> TableStream:
    return TableStream(aws)


@pytest.fixture
def bus_queue(aws: Aws) -> str:
    """An SQS queue that receives every Certwright event put on the bus (a rule with an SQS target)."""
    sqs, events = aws.session.client("sqs"), aws.session.client("events")
    url = sqs.create_queue(QueueName="outbox-events-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.settings.event_bus_name
    events.put_rule(Name="outbox-tap", EventBusName=bus, EventPattern=json.dumps({"source": ["certwright"]}))
    events.put_targets(Rule="outbox-tap", EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    return str(url)


def drain(aws: Aws, url: str) -> list[dict[str, Any]]:
    sqs, received = aws.session.client("sqs"), []
    for _ in range(20):  # bounded
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            break
        for message in messages:
            received.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return received


def test_a_corrupt_image_fails_its_record_alone_and_the_rest_publish(
    api: ApiClient,
    aws: Aws,
    hierarchy: Hierarchy,
    container: bootstrap.Container,
    stream: TableStream,
    bus_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="corrupt-image")).body
    stream.skip()
    api.post(f"/certificates/{cert['id']}/versions", {})
    records = stream.read()
    assert sorted(e.detail_type for r in records for e in r.events()) == [
        "CertificateVersionCreated",
        "CertificateVersionStageChanged",
    ]
    (renewed,) = [r for r in records if r.keys == (f"CERT#{cert['id']}", "V#00000002") and r.event_name == "MODIFY"]
    data = json.loads(renewed.raw["dynamodb"]["NewImage"]["data"]["S"])
    # A version whose validity a bug wrote as text it cannot be read back from; its PEM must not reach a log.
    renewed.raw["dynamodb"]["NewImage"]["data"]["S"] = json.dumps({**data, "validity": "garbled"})

    caplog.set_level(logging.INFO)
    handler = load_function("stream_publisher").lambda_handler
    result = handler(stream.lambda_event(records), LambdaContext("stream-publisher"))

    assert result == {"batchItemFailures": [{"itemIdentifier": renewed.raw["dynamodb"]["SequenceNumber"]}]}
    assert [m["detail-type"] for m in drain(aws, bus_queue)] == ["CertificateVersionStageChanged"]
    logged = "\n".join(json.dumps(r.__dict__, default=str) for r in caplog.records)
    assert "CorruptRow" in logged or "cannot decode" in logged, "the failure is logged"
    assert data["certificatePem"].splitlines()[1] not in logged
