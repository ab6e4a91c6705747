"""Fixtures for the crash tests: the crash hook on the embedded AWS session, installed before the container's
clients are created (botocore copies a session's handlers into each client when it is made)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from certwright import bootstrap

from tests.conftest import Aws
from tests.crash.crashes import CrashHook


@pytest.fixture
def crash(aws: Aws) -> Iterator[CrashHook]:
    hook = CrashHook()
    hook.install(aws.session)
    yield hook
    hook.uninstall(aws.session)


@pytest.fixture(name="container")
def container_with_crash_hook(crash: CrashHook, container: bootstrap.Container) -> bootstrap.Container:
    return container
