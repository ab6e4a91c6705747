"""Faults injected at botocore's HTTP layer (a `before-send` hook), so the real retry and translation code runs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.retries import standard
from certwright import bootstrap

from tests.conftest import Aws

# Services whose clients carry the hook (botocore's hyphenized service ids). A hook on `before-send.<service>`
# runs before moto's own handler, which is registered on plain `before-send`.
SERVICES = ("kms", "acm", "elastic-load-balancing-v2", "dynamodb", "eventbridge")
UNSERVED = "https://fault-injected.invalid/"


class LambdaTimeout(BaseException):
    """The function was stopped mid-step (Lambda timeout, out of memory): nothing after this line runs."""


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def json_error(code: str, message: str = "injected") -> tuple[int, bytes, str]:
    return 400, json.dumps({"__type": code, "message": message}).encode(), "application/x-amz-json-1.1"


def query_error(code: str, message: str = "injected") -> tuple[int, bytes, str]:
    body = (
        '<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">'
        f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>injected-fault</RequestId></ErrorResponse>"
    )
    return 400, body.encode(), "text/xml"


def json_answer(payload: dict[str, Any]) -> tuple[int, bytes, str]:
    return 200, json.dumps(payload).encode(), "application/x-amz-json-1.1"


def body_text(request: AWSPreparedRequest) -> str:
    raw = request.body
    if raw is None:
        return ""
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    content_type = request.headers.get("Content-Type", b"")
    if isinstance(content_type, bytes):
        content_type = content_type.decode()
    form = content_type.startswith("application/x-www-form-urlencoded")
    return unquote_plus(text) if form else text  # query-protocol bodies (ELBv2) are form-encoded


@dataclass
class Fault:
    """One armed fault: which operation, which requests, how many times, and what happens instead."""

    operation: str  # botocore operation name, e.g. "ModifyListener"
    answer: tuple[int, bytes, str] | None = None
    crash: bool = False
    # Run something else first (another sweep, say), then let the request through: a deterministic interleaving.
    meanwhile: Callable[[], None] | None = None
    times: int | None = None  # None: every matching attempt
    skip: int = 0  # let this many matching attempts through first
    when: Callable[[str], bool] = lambda _body: True
    # True: the request still reaches (moto's) AWS and only the answer is replaced, as when a reply is lost.
    lose_answer: bool = False
    hits: int = 0
    seen: int = 0

    def wants(self, operation: str, body: str) -> bool:
        if operation != self.operation or not self.when(body):
            return False
        self.seen += 1
        return self.seen > self.skip and (self.times is None or self.hits < self.times)


@dataclass
class Faults:
    """The hook: holds armed faults and counts attempts per operation (retries included)."""

    armed: list[Fault] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    def arm(self, fault: Fault) -> Fault:
        self.armed.append(fault)
        return fault

    def disarm(self, fault: Fault | None = None) -> None:
        self.armed = [] if fault is None else [f for f in self.armed if f is not fault]

    def __call__(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        operation = event_name.rsplit(".", 1)[-1]
        self.attempts[operation] = self.attempts.get(operation, 0) + 1
        body = body_text(request)
        for fault in self.armed:
            if not fault.wants(operation, body):
                continue
            fault.hits += 1
            if fault.crash:
                raise LambdaTimeout(f"stopped at {operation}")
            if fault.meanwhile is not None:
                fault.meanwhile()
                return None
            assert fault.answer is not None
            status, content, content_type = fault.answer
            headers = {"Content-Type": content_type, "x-amzn-RequestId": "injected-fault"}
            response = AWSResponse(request.url, status, headers, _Body(content))
            if not fault.lose_answer:
                # Every before-send hook runs, moto's too: aim this attempt where moto serves nothing, so the
                # failed request has no effect, as with a real throttled or rejected call. Our answer comes first.
                request.url = UNSERVED
            return response
        return None

    def install(self, aws: Aws) -> None:
        """Register on the session; clients created afterwards carry the hook (botocore copies handlers then).
        On a staged module the clients exist already: the stage forwards to the hook (tests/staging.py)."""
        if aws.hooks is not None:
            aws.hooks.append((SERVICES, self))
            return
        for service in SERVICES:
            aws.session.events.register(f"before-send.{service}", self)

    def uninstall(self, aws: Aws) -> None:
        if aws.hooks is not None:
            aws.hooks[:] = [(services, hook) for services, hook in aws.hooks if hook is not self]
            return
        for service in SERVICES:
            aws.session.events.unregister(f"before-send.{service}", self)


@pytest.fixture
def faults(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    """The HTTP-layer fault hook on every client the container builds; botocore retries without sleeping.

    Import it, with `container_with_faults`, into a conftest or test module that injects faults."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    hook = Faults()
    hook.install(aws)
    yield hook
    hook.uninstall(aws)


@pytest.fixture(name="container")
def container_with_faults(faults: Faults, container: bootstrap.Container) -> bootstrap.Container:
    """The shared container, built after the fault hook is installed (clients copy the hooks they are born with)."""
    return container
