"""stream_publisher's real handler on moto's own records: a record whose image its codec cannot read fails alone
(reported for retry, then to the failure queue), its content never logged; the batch's other records publish;
and the removals the table's TTL makes of ACME rows (a REMOVE by the DynamoDB service) publish nothing."""

from __future__ import annotations

import json
import logging

import pytest
from certwright import bootstrap

from tests.bus_tap import bus_queue as bus_tap_fixture
from tests.bus_tap import drain
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.lifecycle.handlers import LambdaContext, load_function
from tests.lifecycle.table_stream import TableStream

bus_queue = bus_tap_fixture  # the shared fixture (tests/bus_tap.py), under the name the tests ask for


@pytest.fixture
def stream(aws: Aws) -> TableStream:
    return TableStream(aws)


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


# What a TTL deletion's stream record carries beside a REMOVE's usual fields (AWS: the DynamoDB service deleted it).
TTL_IDENTITY = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}


def test_ttl_removals_of_acme_rows_publish_nothing_and_fail_no_record(
    aws: Aws, container: bootstrap.Container, clock: Clock, stream: TableStream, bus_queue: str
) -> None:
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
    from certwright.acme.resources import Authorization, Challenge, Order, Status
    from certwright.adapters.dynamodb_acme import DynamoDbAcme
    from certwright.adapters.dynamodb_models import Row
    from certwright.ports.acme_challenges import ChallengeType

    store = DynamoDbAcme(Row, Row._get_connection().connection)
    now = clock()
    order = Order("order-gone", "acct-gone", "ca-gone", ("gone.example.com",), ("authz-gone",), now, now)
    challenge = Challenge(ChallengeType.HTTP_01, "tok", status=Status.PROCESSING, deadline=now)
    store.add_nonce("nonce-gone", now)
    store.put_order(order)
    store.put_authorization(Authorization("authz-gone", "acct-gone", "gone.example.com", now, (challenge,)))
    drain(aws, bus_queue)  # the processing challenge announced itself: not what this test is about
    stream.skip()
    keys = [
        ("ACMENONCE#nonce-gone", "N"),
        ("ACMEORDER#order-gone", "O"),
        ("ACMEORDERS#acct-gone", "order-gone"),
        ("ACMEAUTHZ#authz-gone", "Z"),
    ]
    dynamodb = aws.session.client("dynamodb")
    for pk, sk in keys:  # moto expires nothing: the deletions the table's TTL would make
        dynamodb.delete_item(TableName=aws.settings.table_name, Key={"pk": {"S": pk}, "sk": {"S": sk}})
    records = [r for r in stream.read() if r.event_name == "REMOVE"]
    assert [r.keys for r in records] == keys
    event = stream.lambda_event(records)
    for record in event["Records"]:
        record["userIdentity"] = TTL_IDENTITY
    # What the record handler is handed for a removal: the old row, and an empty new image (not None).
    first = DynamoDBRecord(event["Records"][0])
    assert first.dynamodb is not None and first.dynamodb.new_image == {}
    assert first.dynamodb.old_image["kind"] == "ACME_NONCE"
    assert first.user_identity == TTL_IDENTITY

    result = load_function("stream_publisher").lambda_handler(event, LambdaContext("stream-publisher"))

    assert result == {"batchItemFailures": []}
    assert drain(aws, bus_queue) == []
