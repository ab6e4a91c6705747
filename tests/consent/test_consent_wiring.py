"""Consent through the real wiring: the local runtime's HTTP API, moto's own stream and bus records delivered by the
router to the real handlers, a listener and a role in the embedded AWS, and an SQS subscriber of the alert topic."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from certwright_client.cli import Client

from infra.api_events import LOCAL_ADMIN
from infra.runtime import LocalRuntime, local_runtime
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent, withdraw
from tests.lifecycle.conftest import make_load_balancer

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/web-host/i-1"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


def call(rt: LocalRuntime, method: str, path: str, body: Any = None, caller: str = LOCAL_ADMIN) -> tuple[int, Any]:
    status, answer = Client(rt.api_url, caller, sign=False).call(method, path, body)
    rt.router.drain(timeout=90)
    return status, answer


def alerts(rt: LocalRuntime, queue: str, wanted: str, count: int = 2, timeout: float = 20) -> list[dict[str, Any]]:
    sqs, found = rt.session.client("sqs"), []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            body = json.loads(message["Body"])
            if body["MessageAttributes"]["eventType"]["Value"] == wanted:
                found.append(body)
    return found


def test_withdrawn_consent_suspends_deployment_and_key_reads_with_an_alert_and_restored_consent_resumes(
    runtime: LocalRuntime,
) -> None:
    rt, session = runtime, runtime.session
    sqs = session.client("sqs")
    queue = sqs.create_queue(QueueName="consent-alert-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    session.client("sns").subscribe(
        TopicArn=rt.deployment.resources["AlertTopic"].ref, Protocol="sqs", Endpoint=queue_arn
    )

    _, root = call(rt, "POST", "/certificate-authorities", root_ca_body())
    _, issuing = call(rt, "POST", "/certificate-authorities", sub_ca_body(root["id"]))
    status, cert = call(rt, "POST", "/certificates", leaf_body(issuing["id"]))
    assert status == 201, cert
    listener = make_load_balancer(SimpleNamespace(session=session), listeners=1).listeners[0]  # type: ignore[arg-type]

    body = {"certificateId": cert["id"], "associatedResourceId": listener}
    status, refused = call(rt, "POST", "/associations", body)
    assert (status, refused["code"]) == (403, "ConsentRequired")
    consent(session, listener, cert["id"])
    status, association = call(rt, "POST", "/associations", body)
    assert (status, association["state"]) == (201, "ACTIVE")
    _, now = call(rt, "GET", f"/associations/{association['id']}")
    assert now["deployment"]["state"] == "DEPLOYED" and now["deployment"]["deployedVersion"] == 1

    consent(session, HOST_ROLE, cert["id"])
    status, host = call(rt, "POST", "/associations", {"certificateId": cert["id"], "associatedResourceId": HOST_ROLE})
    assert (status, host["state"]) == (201, "ACTIVE")
    assert call(rt, "GET", f"/certificates/{cert['id']}/bundle?includePrivateKey=true", caller=HOST_SESSION)[0] == 200

    # The owners withdraw consent: the next deployment refuses, the association is SUSPENDED, people are told.
    withdraw(session, listener, cert["id"])
    withdraw(session, HOST_ROLE, cert["id"])
    assert call(rt, "POST", f"/certificates/{cert['id']}/versions", {})[0] == 201
    _, now = call(rt, "GET", f"/associations/{association['id']}")
    assert now["state"] == "SUSPENDED" and now["deployment"]["deployedVersion"] == 1
    assert "does not consent" in now["stateReason"]
    suspended = alerts(rt, queue, "AssociationSuspended")
    (alert,) = [a for a in suspended if association["id"] in a["Message"]]
    assert cert["id"] in alert["Message"] and listener in alert["Message"]
    assert "certwright:consent" in alert["Message"] and "PRIVATE KEY" not in alert["Message"]
    status, denied = call(rt, "GET", f"/certificates/{cert['id']}/bundle?includePrivateKey=true", caller=HOST_SESSION)
    assert (status, denied["code"]) == (403, "NotAuthorized")
    _, trail = call(rt, "GET", f"/audit-events?resourceId={cert['id']}")
    reads = [(e["result"], e["details"].get("reason")) for e in trail["items"] if e["action"] == "ReadPrivateKey"]
    assert ("DENIED", "SUSPENDED") in reads and ("SUCCEEDED", "ASSOCIATED_PRINCIPAL") in reads
    assert ("SUCCEEDED", "DEPLOYER_ROLE") in reads

    # Consent restored: the next deployment resumes it and brings the listener to the CURRENT version.
    consent(session, listener, cert["id"])
    assert call(rt, "POST", f"/certificates/{cert['id']}/versions", {})[0] == 201
    _, now = call(rt, "GET", f"/associations/{association['id']}")
    assert (now["state"], now["deployment"]["state"], now["deployment"]["deployedVersion"]) == ("ACTIVE", "DEPLOYED", 3)
