"""GrantStore contract: a grant is written once, removed once, and listed under its resource."""

from __future__ import annotations

import pytest
from certwright.authorization.grants import Grant, ResourceKind, Role
from certwright.errors import ConflictError

from tests.contract import builders as b
from tests.contract.conftest import Ports


def grant(grant_id: str = "grant-1", resource: str = "cert-1") -> Grant:
    return Grant(
        grant_id, resource, ResourceKind.CERTIFICATE, "arn:aws:iam::123456789012:role/host", Role.READER, b.ACTOR, b.NOW
    )


def test_grants_are_added_once_listed_by_resource_and_removed_once(ports: Ports) -> None:
    grants = ports.grants
    grants.add_grant(grant("grant-1"), b.audit("cert-1"))
    grants.add_grant(grant("grant-2"), b.audit("cert-1"))
    grants.add_grant(grant("grant-3", "cert-2"), b.audit("cert-2"))
    assert grants.get_grant("grant-1") == grant("grant-1")
    assert [g.id for g in grants.grants_of("cert-1")] == ["grant-1", "grant-2"]
    with pytest.raises(ConflictError):
        grants.add_grant(grant("grant-1"), b.audit("cert-1"))
    grants.remove_grant(grant("grant-1"), b.audit("cert-1"))
    assert grants.get_grant("grant-1") is None
    assert [g.id for g in grants.grants_of("cert-1")] == ["grant-2"]
    with pytest.raises(ConflictError):
        grants.remove_grant(grant("grant-1"), b.audit("cert-1"))
    grants.record(b.audit("cert-1", "Denied", n=1))  # later than the grants' own records
    assert ports.store.list_for("cert-1", 1)[0].action == "Denied"
