"""RevocationStore contract: a serial is revoked once, compromised keys are remembered, counters count."""

from __future__ import annotations

from dataclasses import replace

import pytest
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.revocation import Revocation, RevocationReason, RevokedKind
from certwright.errors import ConflictError
from certwright.ports import SerialClaim

from tests.contract import builders as b
from tests.contract.conftest import Ports


def _published(ports: Ports) -> Certificate:
    c = ports.store.begin_version(b.certificate(), b.version(), None, is_new_certificate=True)
    return ports.store.complete_version(
        replace(c, current_version_number=1), b.version(stages=b.PUBLISHED), {}, None, b.audit("cert-1")
    )


def test_the_issuance_counter_counts_per_authority(ports: Ports) -> None:
    assert [ports.store.next_issuance_index("ca-1") for _ in range(3)] == [1, 2, 3]
    assert ports.store.next_issuance_index("ca-2") == 1


def test_revoking_a_version_lists_its_serial_once_and_remembers_the_key(ports: Ports) -> None:
    store = ports.store
    c = _published(ports)
    revoked_version = replace(
        b.version(stages=b.PUBLISHED), revocation=Revocation(RevocationReason.KEY_COMPROMISE, b.NOW)
    )
    entry = b.revoked("5e1")
    c = store.revoke_certificate_version(c, revoked_version, entry, b.audit("cert-1", "Revoke"), "fp-1")
    assert store.get_version("cert-1", 1) == revoked_version
    assert store.revoked_entries("ca-1") == [entry]
    assert store.revoked_entries("ca-2") == []
    assert store.key_compromised("fp-1") and not store.key_compromised("fp-2")
    with pytest.raises(ConflictError) as err:
        store.revoke_certificate_version(c, revoked_version, entry, b.audit("cert-1"), None)
    assert err.value.code == "AlreadyRevoked"
    with pytest.raises(ConflictError) as err:
        store.revoke_certificate_version(c, b.version(number=9), b.revoked("ff"), b.audit("cert-1"), None)
    assert err.value.code == "ConcurrentModification"


def test_a_stale_certificate_fails_the_whole_revocation(ports: Ports) -> None:
    store = ports.store
    c = _published(ports)
    store.save_certificate(replace(c, description="changed"), b.audit("cert-1"))
    revoked_version = replace(b.version(stages=b.PUBLISHED), revocation=Revocation(RevocationReason.SUPERSEDED, b.NOW))
    with pytest.raises(ConflictError):
        store.revoke_certificate_version(c, revoked_version, b.revoked("5e1"), b.audit("cert-1"), "fp-1")
    assert store.revoked_entries("ca-1") == []
    assert not store.key_compromised("fp-1")
    assert store.get_version("cert-1", 1).revocation is None  # type: ignore[union-attr]


def test_revoking_a_subordinate_marks_every_named_version(ports: Ports) -> None:
    store = ports.store
    ca = store.begin_authority(b.authority("sub", issuer_id="ca-1"), SerialClaim("ca-1", "ca01"))
    ca = store.complete_authority(
        replace(ca, lifecycle_state=LifecycleState.ACTIVE, current_version=b.ca_version()), b.audit("sub")
    )
    ca = store.add_authority_version(replace(ca, current_version=b.ca_version(2, "ca02")), b.audit("sub"))
    entries = [
        replace(b.revoked(serial, resource="sub", number=n), kind=RevokedKind.CERTIFICATE_AUTHORITY)
        for n, serial in ((1, "ca01"), (2, "ca02"))
    ]
    store.revoke_authority_version(ca, entries, b.audit("sub", "Revoke"), "fp-ca")
    assert all(v.revocation is not None for v in store.list_authority_versions("sub"))
    assert [e.serial_number for e in store.revoked_entries("ca-1")] == ["ca01", "ca02"]
    assert store.key_compromised("fp-ca")
    with pytest.raises(ConflictError):
        store.revoke_authority_version(ca, [b.revoked("ca09", resource="sub", number=9)], b.audit("sub"), None)
