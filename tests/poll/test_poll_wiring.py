"""A host's poll and report through the real wiring: the local runtime's HTTP gateway (the host's identity in the
caller header), the template's table with its ByHost index, moto's own stream records handed by the router to
stream_publisher's real handler, the bus, a rule of ours targeting an SQS queue, and the alert topic's subscriber.

The host polls (PENDING_CONFIRMATION), confirms, polls again (CONFIRMED; then 304 with the etag it holds), reads its
key, reports DEPLOYED: DeploymentSucceeded reaches the bus. A renewal shows in the next poll as version 2; the host
reports FAILED with its reason: DeploymentFailed reaches the bus and an alert carrying the reason is sent.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from infra.gateway import CALLER_HEADER
from infra.runtime import local_runtime
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.wiring.conftest import Wiring

HOST_ROLE = "arn:aws:iam::123456789012:role/poll-host"
HOST = "arn:aws:sts::123456789012:assumed-role/poll-host/i-0poll"


@pytest.fixture
def wiring() -> Iterator[Wiring]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield Wiring(rt)


def as_host(
    w: Wiring, path: str, body: Any = None, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, dict[str, str], Any]:
    """An HTTP call to the gateway as the host (status, response headers, JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(w.rt.api_url + path, data=data, method=method)  # noqa: S310 - local gateway
    request.add_header("Content-Type", "application/json")
    request.add_header(CALLER_HEADER, HOST)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - our own local gateway
            status, found, text = answer.status, dict(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as err:
        status, found, text = err.code, dict(err.headers.items()), err.read()
    return status, found, json.loads(text) if text else None


def alert_queue(w: Wiring) -> str:
    sqs = w.session.client("sqs")
    queue = sqs.create_queue(QueueName="poll-alert-subscriber")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    w.session.client("sns").subscribe(
        TopicArn=w.rt.deployment.resources["AlertTopic"].ref, Protocol="sqs", Endpoint=arn
    )
    return str(queue)


def alert(w: Wiring, queue: str, event_type: str, timeout: float = 30) -> dict[str, Any]:
    sqs, deadline = w.session.client("sqs"), time.monotonic() + timeout
    while time.monotonic() < deadline:
        w.settle()
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body["MessageAttributes"]["eventType"]["Value"] == event_type:
                return dict(body)
    raise AssertionError(f"no {event_type} alert")


def test_a_host_polls_confirms_reports_and_the_bus_hears_of_it(wiring: Wiring) -> None:
    w = wiring
    alerts = alert_queue(w)
    root = w.post("/certificate-authorities", root_ca_body())
    issuing = w.post("/certificate-authorities", sub_ca_body(root["id"]))
    cert = w.post("/certificates", leaf_body(issuing["id"], name="poll-web"))
    association = w.post("/associations", {"certificateId": cert["id"], "associatedResourceId": HOST_ROLE})
    assert association["state"] == "PENDING_CONFIRMATION"
    w.settle()

    status, headers, pending = as_host(w, "/bundles/poll", {})
    assert status == 200, pending
    assert headers["ETag"] == pending["etag"]
    (item,) = pending["items"]
    assert (item["associationId"], item["consentState"], item["versionNumber"]) == (
        association["id"],
        "PENDING_CONFIRMATION",
        1,
    )
    assert as_host(w, f"/associations/{association['id']}/actions/confirm", {})[0] == 200
    w.settle()
    status, _, confirmed = as_host(w, "/bundles/poll", {}, {"If-None-Match": pending["etag"]})
    assert status == 200 and confirmed["items"][0]["consentState"] == "CONFIRMED"
    status, headers, empty = as_host(w, "/bundles/poll", {}, {"If-None-Match": confirmed["etag"]})
    assert (status, empty, headers["ETag"]) == (304, None, confirmed["etag"])

    key_path = f"/certificates/{cert['id']}/bundle?versionNumber=1&includePrivateKey=true"
    status, _, bundle = as_host(w, key_path, method="GET")
    assert status == 200 and "PRIVATE KEY" in bundle["privateKeyPem"]
    report = f"/associations/{association['id']}/actions/report-deployment"
    status, _, deployed = as_host(w, report, {"versionNumber": 1, "state": "DEPLOYED", "verified": True})
    assert status == 200, deployed
    succeeded = w.wait_for("DeploymentSucceeded", association["id"])
    assert (succeeded["deployed_version"], succeeded["serial_number"]) == (1, bundle["serialNumber"])
    assert succeeded["associated_resource_id"] == HOST_ROLE

    renewed = w.post(f"/certificates/{cert['id']}/versions", {})
    w.settle()
    status, _, after = as_host(w, "/bundles/poll", {}, {"If-None-Match": confirmed["etag"]})
    (item,) = after["items"]
    assert (status, item["versionNumber"], item["serialNumber"]) == (200, 2, renewed["serialNumber"])
    assert item["deployment"]["desiredVersion"] == 2, "the deployer's reconcile moved the host's desired version"
    stale = as_host(w, report, {"versionNumber": 1, "state": "DEPLOYED", "verified": True})
    assert (stale[0], stale[2]["code"]) == (409, "StaleDeploymentReport")

    reason = "served serial 01 after reload, expected " + renewed["serialNumber"]
    status, _, failed = as_host(w, report, {"versionNumber": 2, "state": "FAILED", "reason": reason})
    assert status == 200, failed
    event = w.wait_for("DeploymentFailed", association["id"])
    assert (event["desired_version"], event["deployed_version"], event["error"]) == (2, 1, reason)
    message = alert(w, alerts, "DeploymentFailed")["Message"]
    assert reason in message and "PRIVATE KEY" not in message
    shown = w.call("GET", f"/associations/{association['id']}")[1]["deployment"]
    assert (shown["state"], shown["deployedVersion"], shown["lastError"]) == ("FAILED", 1, reason)
