"""Issuance checks a request against a cached issuer, and its serial claim holds only while that issuer's row is
unchanged: a CA changed by another process (another Lambda container) is read again, never trusted stale."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from certwright import bootstrap
from certwright.domain.authority import LifecycleState
from certwright.errors import ConflictError
from certwright.services.context import Runtime

from tests.adapters.test_dynamodb_store import issue, rows
from tests.conftest import Aws, Clock, Hierarchy


@pytest.fixture
def other(aws: Aws, clock: Clock, container: bootstrap.Container) -> Iterator[bootstrap.Container]:
    """A second process on the same account: its own container, caches and clients."""
    yield bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
    bootstrap.install(container)


def test_a_cached_issuer_is_not_read_again_for_the_next_certificate(
    container: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    issue(container, hierarchy.issuing["id"])
    before = aws.calls["dynamodb.GetItem"]

    issue(container, hierarchy.issuing["id"], name="second")

    assert aws.calls["dynamodb.GetItem"] == before  # the CA row came from the planner's cache


def test_an_issuer_that_stops_issuing_elsewhere_refuses_the_next_certificate_and_writes_nothing(
    container: bootstrap.Container, other: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    ca_id = hierarchy.issuing["id"]
    issue(container, ca_id)  # cached here
    stored = other.store.get_authority(ca_id)
    assert stored is not None
    other.store.save_authority(replace(stored, lifecycle_state=LifecycleState.PENDING_DELETION))
    certificates = len(rows(aws, "CERT#"))

    with pytest.raises(ConflictError) as refused:
        issue(container, ca_id, name="after")

    assert refused.value.code == "CertificateAuthorityNotActive"
    assert len(rows(aws, "CERT#")) == certificates


def test_an_issuer_changed_elsewhere_is_read_again_and_the_certificate_issued(
    container: bootstrap.Container, other: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    ca_id = hierarchy.issuing["id"]
    issue(container, ca_id)
    stored = other.store.get_authority(ca_id)
    assert stored is not None
    other.store.save_authority(replace(stored, name="renamed elsewhere"))
    cancelled = aws.calls["dynamodb.TransactWriteItems"]

    certificate, version = issue(container, ca_id, name="after")

    # One reservation refused (IssuerChanged), one on the CA read again, one completion.
    assert aws.calls["dynamodb.TransactWriteItems"] == cancelled + 3
    assert certificate.lifecycle_state is LifecycleState.ACTIVE and version.certificate_pem
    assert container.store.get_certificate(certificate.id) == certificate


def test_an_issuer_reenabled_elsewhere_issues_although_the_cached_copy_refuses(
    container: bootstrap.Container, other: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    ca_id = hierarchy.issuing["id"]
    stored = other.store.get_authority(ca_id)
    assert stored is not None
    paused = other.store.save_authority(replace(stored, lifecycle_state=LifecycleState.PENDING_DELETION))
    with pytest.raises(ConflictError):
        issue(container, ca_id)  # cached as PENDING_DELETION here
    other.store.save_authority(replace(paused, lifecycle_state=LifecycleState.ACTIVE))

    certificate, _ = issue(container, ca_id, name="after")

    assert certificate.lifecycle_state is LifecycleState.ACTIVE
