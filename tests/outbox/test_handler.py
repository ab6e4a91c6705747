"""stream_publisher's real handler on moto's own records: a record whose image its codec cannot read fails alone
(reported for retry, then to the failure queue), its content never logged; the batch's other records publish."""

from __future__ import annotations

import json
import logging

import pytest
from certwright import bootstrap

from tests.bus_tap import bus_queue as bus_tap_fixture
from tests.bus_tap import drain
from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body
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
