"""Fixtures for the local runtime: the tiny test template and a runtime on free ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.runtime import LocalRuntime, local_runtime
from tests.runtime import recorder

TEST_TEMPLATE = Path(__file__).with_name("template.yaml")


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    """The test template on the embedded AWS; the router does not run by itself (tests drain it)."""
    recorder.reset()
    with local_runtime(template=TEST_TEMPLATE, start_router=False, sweep_seconds=0) as rt:
        yield rt
    recorder.reset()
