"""Service tests on the fakes (tests/fakes.py): the real services, API and authorization, no embedded AWS.

`container` here is bootstrap's composition with every port a fake, so the shared `api` and `hierarchy` fixtures
(tests/conftest.py) run on it unchanged; `world` holds the fakes a test arranges and inspects.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from certwright import bootstrap

from tests.conftest import Aws, Clock
from tests.fakes import World, build_fake, fake_settings, runtime


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def container(clock: Clock, world: World) -> Iterator[bootstrap.Container]:
    instance, _ = build_fake(fake_settings(), runtime(clock), world)
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


@pytest.fixture
def aws() -> Aws:
    raise AssertionError("tests/services run on the fakes; a test that needs the embedded AWS belongs elsewhere")
