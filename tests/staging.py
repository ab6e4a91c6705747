"""A stage shared by the tests of one module: one embedded AWS, session and container, rewound before every test.

Building a container costs its clients (made on first use) and a hierarchy two CA creations; a module of many short tests
that each start from the same state pays that once here. Every test on tests/conftest.py's `aws` is staged unless
its module opts out with `pytestmark = pytest.mark.fresh(reason=...)`: its `aws`, `clock`, `container` and
`hierarchy` then come from the module's Stage. `rewind()` puts moto's backends back exactly as they were at a
checkpoint (every table item, KMS key, object and queue), the clock back to its start and the call counts to zero,
so each test still starts from a fresh account; the container, its clients and their caches keyed by content
(public keys by KMS key id, which a rewind restores unchanged) are reused; what the container remembers of the
rewound state (issuers as last read, alert ids sent) is emptied.

The clock starts each test at the stage's start (when the module's first test began), not at the wall clock.
A `before-send` hook a test registers on the session would miss the container's clients, which exist already:
such hooks go into `aws.hooks` (tests/lifecycle/faults.py does), and the stage's forwarder calls them. Not for
modules whose tests change the container or its settings in place; a container a test builds itself is fine
(the next rewind points PynamoDB's model back at the stage).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from certwright import bootstrap
from certwright.adapters.dynamodb_models import Row, bind
from moto import mock_aws

from infra import persistence
from tests.conftest import (
    ApiClient,
    Aws,
    CallCounter,
    Clock,
    Hierarchy,
    _deploy_once,
    aws_session,
    build_hierarchy,
    set_aws_environment,
)

# botocore's service ids a test may hook (`Aws.hooks`); a `before-send.<id>` handler runs before moto's own.
HOOKED_SERVICES = ("kms", "acm", "elastic-load-balancing-v2", "dynamodb", "eventbridge", "s3", "sns", "sqs", "iam")


@dataclass
class Stage:
    aws: Aws
    clock: Clock
    container: bootstrap.Container
    mock: Any
    start: datetime
    saved: dict[str, tuple[bytes, Any]] = field(default_factory=dict)
    table: Any = field(default_factory=lambda: Row._connection)  # PynamoDB's process-wide table connection

    def checkpoint(self, name: str, values: Any = None) -> None:
        """Remember moto's backends (and what was made on them, e.g. a hierarchy) as a state to rewind to."""
        self.saved[name] = (persistence.capture_backends(), values)

    def forward(self, event_name: str, **kwargs: Any) -> Any:
        """The session's `before-send.<service>` handler: calls the hooks the test added for that service."""
        service = event_name.split(".")[1]
        for services, hook in list(self.aws.hooks or ()):
            if service in services:
                answer = hook(event_name=event_name, **kwargs)
                if answer is not None:
                    return answer
        return None

    def rewind(self, name: str = "deployed") -> Any:
        """Every backend back to checkpoint `name`, the clock to its start and the call counts to zero."""
        backends, values = self.saved[name]
        self.mock.reset()
        persistence.restore_backends(backends)
        self.clock.now = self.start
        self.aws.calls.calls.clear()
        forget_the_timeline(self.container)
        bootstrap.install(self.container)
        if Row._connection is not self.table:  # a test built a container of its own, which bound the model to it
            settings = self.aws.settings
            bind(settings.table_name, self.aws.session, settings.region, self.aws.dynamodb.meta.endpoint_url)
            self.table = Row._connection
        return copy.deepcopy(values)

    def hierarchy(self) -> Hierarchy:
        """The shared fixture's root and issuing CA, made once (on the first test that asks) and rewound to."""
        if "hierarchy" not in self.saved:
            self.rewind()
            self.checkpoint("hierarchy", build_hierarchy(ApiClient()))
        made: Hierarchy = self.rewind("hierarchy")
        return made


def forget_the_timeline(container: bootstrap.Container) -> None:
    """Empty what a warm container remembers of state a rewind undoes: the issuers as last read (a row version in
    the next test's timeline may equal the cached copy's while its content differs), the alert ids sent and the
    page-token key (its row is rewound away: another container would make a different one).
    Caches keyed by content (public keys by KMS key id, signers by CA certificate) stay: they hold in every timeline."""
    container.issuance._plans._issuers.clear()
    container.alerts._sent.clear()
    container.page_tokens._key._key = None  # type: ignore[attr-defined]


@contextmanager
def staged() -> Iterator[Stage]:
    """The template's account (as tests/conftest.py's `aws` makes it) and a container on it."""
    with pytest.MonkeyPatch.context() as monkeypatch:  # module scope: the per-test environment is not set yet
        set_aws_environment(monkeypatch)
        deployed = _deploy_once()
        with mock_aws() as mock:
            persistence.restore_backends(deployed.backends)
            session = aws_session()
            aws = Aws(session, deployed.settings, CallCounter(session), hooks=[])
            clock = Clock()
            from certwright.services.context import Runtime

            forwarder: list[Stage] = []
            for service in HOOKED_SERVICES:  # before the clients are made: botocore copies the handlers then
                session.events.register(f"before-send.{service}", lambda **kw: forwarder[0].forward(**kw))
            instance = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
            try:
                stage = Stage(aws, clock, instance, mock, clock.now)
                forwarder.append(stage)
                stage.checkpoint("deployed")
                yield stage
            finally:
                bootstrap.install(None)
