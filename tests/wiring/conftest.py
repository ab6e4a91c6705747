"""The local runtime as `make up` wires it, seen from outside: an HTTP client of its API, a subscriber of its bus.

`Wiring` starts one local runtime for a test module (the router does not run by itself: `settle()` drains it, so
moto's own stream records reach stream_publisher's real handler and the bus events reach the real consumers).
Every event the outbox puts on the bus is caught by a rule of our own that targets an SQS queue.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from certwright import bootstrap
from certwright.services.context import Runtime

from infra.runtime import LocalRuntime, local_runtime
from tests.listeners import https_listener


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the module's runtime set the process environment (endpoint, credentials)."""


class Wiring:
    def __init__(self, runtime: LocalRuntime) -> None:
        self.rt = runtime
        self.session = runtime.session
        self.bus = runtime.deployment.resources["EventBus"].ref
        self.table = runtime.settings.table_name
        sqs = self.session.client("sqs")
        self.queue_url = sqs.create_queue(QueueName="wiring-bus-observer")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events = self.session.client("events")
        events.put_rule(
            Name="wiring-observer", EventBusName=self.bus, EventPattern=json.dumps({"source": ["certwright"]})
        )
        events.put_targets(
            Rule="wiring-observer", EventBusName=self.bus, Targets=[{"Id": "observer", "Arn": queue_arn}]
        )
        self.observed: list[dict[str, Any]] = []
        self._listeners = 0

    # -- the HTTP API ---------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.rt.api_url + path, data=data, method=method)  # noqa: S310 - local
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - our own local gateway
                status, text = answer.status, answer.read()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read()
        return status, json.loads(text) if text else None

    def post(self, path: str, body: Any = None) -> Any:
        status, answer = self.call("POST", path, body if body is not None else {})
        assert status in (200, 201), (path, status, answer)
        return answer

    # -- the bus ----------------------------------------------------------------------------------------

    def collect(self) -> None:
        sqs = self.session.client("sqs")
        while True:
            messages = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self.observed.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def settle(self) -> None:
        """Deliver every pending stream record and bus event (twice: consumers' writes produce more records)."""
        for _ in range(3):
            self.rt.router.drain(timeout=180)
        self.collect()

    def events(self, detail_type: str, resource_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e["detail"]
            for e in self.observed
            if e["detail-type"] == detail_type and resource_id in (None, e["detail"].get("resource_id"))
        ]

    def wait_for(self, detail_type: str, resource_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            self.settle()
            found = self.events(detail_type, resource_id)
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                seen = sorted({(e["detail-type"], e["detail"].get("resource_id")) for e in self.observed})
                raise AssertionError(f"no {detail_type} for {resource_id} on the bus; seen: {seen}")
            time.sleep(0.2)

    # -- the embedded AWS ---------------------------------------------------------------------------------

    def services_at(self, when: datetime) -> bootstrap.Container:
        """Certwright's services on this runtime's resources with a clock standing at `when` (sweeps, CRL runs)."""
        return bootstrap.build(self.rt.settings, session=self.session, runtime=Runtime(clock=lambda: when))

    def row(self, pk: str, sk: str) -> dict[str, Any]:
        item = self.session.client("dynamodb").get_item(TableName=self.table, Key={"pk": {"S": pk}, "sk": {"S": sk}})
        return dict(json.loads(item["Item"]["data"]["S"]))

    def disable_ca_key(self, ca_id: str) -> None:
        key = str(self.row(f"CA#{ca_id}", "A")["kmsKeyId"]).rsplit("/", 1)[-1]  # moto's DisableKey wants the id
        self.session.client("kms").disable_key(KeyId=key)

    def listener(self) -> str:
        """A new application load balancer with one HTTPS listener serving a placeholder certificate."""
        self._listeners += 1
        number = self._listeners
        return https_listener(self.session, f"wiring-{number}", number, f"placeholder-{number}.example")

    def served(self, listener: str) -> tuple[str, list[str]]:
        """(default certificate ARN, SNI certificate ARNs) as ELBv2 reports them."""
        elbv2 = self.session.client("elbv2")
        default = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["Certificates"][0]
        listed = elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
        return str(default["CertificateArn"]), [c["CertificateArn"] for c in listed if not c.get("IsDefault")]


@pytest.fixture(scope="module")
def wiring() -> Iterator[Wiring]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield Wiring(rt)
