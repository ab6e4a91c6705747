"""Endpoint probes through the real wiring: the local runtime's HTTP API, the router firing the template's
schedule of endpoint_prober, moto's stream records through stream_publisher, the alert rule, the alert notifier and
the SNS alert topic, with a TLS server on 127.0.0.1 as the listener's endpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.runtime import local_runtime
from tests.consenting import consent
from tests.diagnose.servers import HOST
from tests.probes.endpoints import Endpoint, Vendor, endpoint
from tests.wiring.conftest import Wiring


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """The module's runtime set the process environment (endpoint, credentials); keep it."""


@pytest.fixture(scope="module")
def wiring() -> Iterator[Wiring]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield Wiring(rt)


class Subscriber:
    """An SQS queue subscribed to the alert topic, as a person's mailbox would be."""

    def __init__(self, wiring: Wiring) -> None:
        session = wiring.session
        self.sqs = session.client("sqs")
        self.url = self.sqs.create_queue(QueueName="probe-alert-subscriber")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        topic = wiring.rt.deployment.resources["AlertTopic"].ref
        session.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)

    def received(self, event_type: str, timeout: float = 10) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            for message in answer.get("Messages", []):
                messages.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            if any(m["MessageAttributes"]["eventType"]["Value"] == event_type for m in messages):
                break
        return [m for m in messages if m["MessageAttributes"]["eventType"]["Value"] == event_type]


def probe_run(wiring: Wiring) -> None:
    """The router fires the template's Schedule events (endpoint_prober's among them), then everything settles."""
    before = len(wiring.rt.router.deliveries)
    wiring.rt.router.fire_schedules()
    fired = [d for d in list(wiring.rt.router.deliveries)[before:] if d.function == "EndpointProberFunction"]
    assert [d.kind for d in fired] == ["schedule"] and all(d.ok for d in fired), fired
    wiring.settle()


def association(wiring: Wiring, association_id: str) -> dict[str, Any]:
    status, body = wiring.call("GET", f"/associations/{association_id}")
    assert status == 200, body
    return dict(body)


def test_drift_raises_endpoint_unhealthy_once_and_the_fix_endpoint_healthy(wiring: Wiring, tmp_path: Path) -> None:
    alerts = Subscriber(wiring)
    vendor = Vendor.create()
    v1, v2 = vendor.leaf(), vendor.leaf()
    certificate = wiring.post("/certificates", vendor.import_body(v1))
    listener = wiring.listener()
    consent(wiring.session, listener, certificate["id"])
    with endpoint(tmp_path) as served:
        served.serve(v1, (vendor.ca,))
        created = wiring.post(
            "/associations",
            {
                "certificateId": certificate["id"],
                "associatedResourceId": listener,
                "endpoint": {"address": served.address, "serverName": HOST},
            },
        )
        assert created["endpoint"] == {"address": served.address, "serverName": HOST}
        assert created["probe"] is None
        wiring.wait_for("DeploymentSucceeded", created["id"])

        # v1 deployed and served: healthy, recorded on the association, and nothing to tell anyone.
        probe_run(wiring)
        probe = association(wiring, created["id"])["probe"]
        assert probe["healthy"] is True, probe
        assert probe["servedSerial"] == f"{v1.certificate.serial_number:x}" == probe["expectedSerial"]
        assert wiring.events("EndpointUnhealthy", created["id"]) == []

        # v2 becomes CURRENT and is deployed to the listener; the endpoint still serves v1: drift.
        wiring.post(f"/certificates/{certificate['id']}/versions", vendor.version_body(v2))
        wiring.settle()
        deployment = association(wiring, created["id"])["deployment"]
        assert (deployment["state"], deployment["deployedVersion"]) == ("DEPLOYED", 2), deployment
        probe_run(wiring)
        detail = wiring.wait_for("EndpointUnhealthy", created["id"])
        assert detail["served_serial"] == f"{v1.certificate.serial_number:x}"
        assert detail["expected_serial"] == f"{v2.certificate.serial_number:x}"
        assert [f.split(":")[0] for f in detail["findings"]] == ["DEPLOYMENT_DRIFT"]
        probe = association(wiring, created["id"])["probe"]
        assert probe["healthy"] is False and [f["code"] for f in probe["findings"]] == ["DEPLOYMENT_DRIFT"]
        (alert,) = alerts.received("EndpointUnhealthy")
        assert alert["Message"].startswith(f"Endpoint {served.address} of association {created['id']} ")
        assert "serving v1, CURRENT is v2" in alert["Message"]
        assert alert["MessageAttributes"]["associationId"]["Value"] == created["id"]

        # Probed again, still drifting: once per change, no second event.
        probe_run(wiring)
        assert len(wiring.events("EndpointUnhealthy", created["id"])) == 1

        # The endpoint now serves v2: healthy again, announced once.
        served.serve(v2, (vendor.ca,))
        probe_run(wiring)
        recovered = wiring.wait_for("EndpointHealthy", created["id"])
        assert recovered["served_serial"] == f"{v2.certificate.serial_number:x}"
        (healthy,) = alerts.received("EndpointHealthy")
        assert "is healthy again" in healthy["Message"]
        assert association(wiring, created["id"])["probe"]["healthy"] is True

        # A failed handshake is unhealthy too.
        served.refuse()
        probe_run(wiring)
        detail = wiring.wait_for("EndpointUnhealthy", created["id"])
        assert [f.split(":")[0] for f in detail["findings"]] == ["HANDSHAKE_FAILED"]
        assert len(wiring.events("EndpointUnhealthy", created["id"])) == 2


@pytest.mark.parametrize(
    ("endpoint_body", "code"),
    [
        ({"address": "www.example.com"}, "InvalidEndpoint"),
        ({"address": "www.example.com:0"}, "InvalidEndpoint"),
        ({"address": "www.example.com:70000"}, "InvalidEndpoint"),
        ({"address": "bad host:443"}, "InvalidEndpoint"),
        ({"address": "www.example.com:443", "serverName": "*.example.com"}, "InvalidEndpoint"),
        # The prober runs in the account's network: never pointed at the instance-metadata service (SSRF).
        ({"address": "169.254.169.254:80"}, "InvalidEndpoint"),
        ({"address": "[fd00:ec2::254]:80"}, "InvalidEndpoint"),
    ],
)
def test_a_bad_endpoint_is_refused_and_nothing_is_created(
    wiring: Wiring, endpoint_body: dict[str, Any], code: str
) -> None:
    vendor = Vendor.create()
    certificate = wiring.post("/certificates", vendor.import_body(vendor.leaf(), name="refused"))
    listener = wiring.listener()
    consent(wiring.session, listener, certificate["id"])
    body = {"certificateId": certificate["id"], "associatedResourceId": listener, "endpoint": endpoint_body}
    status, answer = wiring.call("POST", "/associations", body)
    assert (status, answer["code"]) == (400, code), answer
    status, page = wiring.call("GET", f"/associations?certificateId={certificate['id']}")
    assert (status, page["items"]) == (200, [])


def test_the_endpoint_alone_is_shown(wiring: Wiring, tmp_path: Path) -> None:
    """An association without an endpoint shows none and is never probed."""
    vendor = Vendor.create()
    certificate = wiring.post("/certificates", vendor.import_body(vendor.leaf(), name="unprobed"))
    listener = wiring.listener()
    consent(wiring.session, listener, certificate["id"])
    created = wiring.post("/associations", {"certificateId": certificate["id"], "associatedResourceId": listener})
    assert (created["endpoint"], created["probe"]) == (None, None)
    wiring.settle()
    probe_run(wiring)
    assert association(wiring, created["id"])["probe"] is None
    _ = Endpoint  # the helper type, for readers of this module
