"""The diagnose tests' Certwright: the local runtime (embedded AWS, HTTP API, router) on free ports, one per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.runtime import LocalRuntime, local_runtime


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Replaces the root conftest's per-test AWS environment, which would unset the module runtime's endpoint."""


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """Schedules off: nothing renews behind the tests' back."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            patch.setenv(name, value)
        with local_runtime(sweep_seconds=0) as rt:
            yield rt
