"""Conformance runs against certificates as a deployment issues them: with CRL DP and CA-issuers URLs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from certwright import bootstrap
from certwright.services.context import Runtime

from tests.conftest import Aws, Clock

PKI_BASE_URL = "http://certwright-pki.s3.us-east-1.amazonaws.com"  # as a deployment publishes


@pytest.fixture
def container(aws: Aws, clock: Clock) -> Iterator[bootstrap.Container]:
    settings = replace(aws.settings, pki_base_url=PKI_BASE_URL)
    instance = bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock))
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)
