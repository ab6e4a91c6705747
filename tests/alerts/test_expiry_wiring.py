"""Expiry alerts through the real wiring: a vendor certificate with seconds left, imported over HTTP, is told by the
router's sweep schedule, the table stream, stream_publisher, the bus rule and alert_notifier to a subscriber of
the alert topic: CertificateExpiring (the nearest threshold) at once, then CertificateExpired; the API shows it."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.runtime import LocalRuntime, local_runtime
from tests.alerts.vendor import vendor_import

SECONDS_LEFT = 8  # enough for the sweep, the stream, the bus and SNS on a loaded machine; each second is waited
SWEEP_SECONDS = 0.5


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(sweep_seconds=SWEEP_SECONDS) as rt:
        yield rt


def call(rt: LocalRuntime, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        rt.api_url + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local gateway
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def subscriber(rt: LocalRuntime) -> str:
    sqs = rt.session.client("sqs")
    url = str(sqs.create_queue(QueueName="expiry-alert-subscriber")["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = rt.deployment.resources["AlertTopic"].ref
    rt.session.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def wait_for(rt: LocalRuntime, url: str, event_type: str, seen: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    """The first message of `event_type` on the subscriber's queue; every message read is kept in `seen`."""
    sqs = rt.session.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in seen:
            if message["MessageAttributes"]["eventType"]["Value"] == event_type:
                return message
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for raw in answer.get("Messages", []):
            seen.append(json.loads(raw["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=raw["ReceiptHandle"])
    failed = [d for d in rt.router.deliveries if not d.ok]
    raise AssertionError(f"no {event_type} within {timeout} s; messages {seen}; failed deliveries {failed}")


def more_sweeps(rt: LocalRuntime, count: int, timeout: float = 30) -> None:
    """Wait until the sweep schedule has run `count` more times and the router has delivered what they wrote."""

    def sweeps() -> int:
        return sum(1 for d in list(rt.router.deliveries) if d.function == "RenewalSweepFunction")

    wanted = sweeps() + count
    deadline = time.monotonic() + timeout
    while sweeps() < wanted or rt.router.pending():
        assert time.monotonic() < deadline, f"fewer than {count} sweeps within {timeout} s"
        time.sleep(0.1)


def test_an_imported_certificate_with_seconds_left_is_told_expiring_then_expired(runtime: LocalRuntime) -> None:
    url = subscriber(runtime)
    not_after = (datetime.now(UTC) + timedelta(seconds=SECONDS_LEFT)).replace(microsecond=0)
    status, created = call(runtime, "POST", "/certificates", vendor_import(not_after, name="vendor-web"))
    assert status == 201, created
    cert_id = created["id"]

    seen: list[dict[str, Any]] = []
    expiring = wait_for(runtime, url, "CertificateExpiring", seen, timeout=SECONDS_LEFT)
    assert expiring["MessageAttributes"]["resourceId"]["Value"] == cert_id
    assert expiring["Message"].startswith(f"Certificate 'vendor-web' ({cert_id}) expires within 7 days")
    assert time.time() < not_after.timestamp(), "told before it expired"
    assert created["expired"] is False

    expired = wait_for(runtime, url, "CertificateExpired", seen, timeout=SECONDS_LEFT + 30)
    assert expired["MessageAttributes"]["resourceId"]["Value"] == cert_id
    assert expired["Message"].startswith(
        f"Certificate 'vendor-web' ({cert_id}) has expired: version 1, its CURRENT version, was valid until "
        f"{not_after.isoformat()}."
    )
    assert expired["Subject"] == "Certwright: certificate 'vendor-web' has expired"
    assert [m["MessageAttributes"]["eventType"]["Value"] for m in seen] == ["CertificateExpiring", "CertificateExpired"]

    status, shown = call(runtime, "GET", f"/certificates/{cert_id}")
    assert status == 200
    assert (shown["lifecycleState"], shown["expired"], shown["currentVersion"]["expired"]) == ("ACTIVE", True, True)
    more_sweeps(runtime, 3)  # a few more sweeps: nothing is told twice
    sqs = runtime.session.client("sqs")
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []) == []
    notified = [d for d in runtime.router.deliveries if d.function == "AlertNotifierFunction"]
    assert notified and all(d.ok for d in notified)
