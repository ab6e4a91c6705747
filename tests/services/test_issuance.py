"""Issuance, renewal, the sweep and associations on the fakes: service behaviour in milliseconds, no embedded AWS.

The container is bootstrap's composition with every port a fake (tests/services/conftest.py); what the services
wrote is read back from the fakes' memory, so each case checks what the service decided, not how a table stores it.
"""

from __future__ import annotations

import pytest
from certwright import bootstrap
from certwright.domain.stages import Stage
from certwright.errors import DependencyError
from certwright.services.context import Runtime
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import ApiClient, Clock, Hierarchy, leaf_body
from tests.fakes import World, build_fake, fake_settings

LISTENER = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2"


def _issue(api: ApiClient, issuer_id: str, **overrides: object) -> dict[str, object]:
    answer = api.post("/certificates", leaf_body(issuer_id, **overrides))
    assert answer.status == 201, answer.body
    return answer.body  # type: ignore[no-any-return]


def test_a_certificate_is_issued_with_its_key_sealed_for_its_own_version_only(
    api: ApiClient, hierarchy: Hierarchy, world: World
) -> None:
    created = _issue(api, hierarchy.issuing["id"])
    cert_id = str(created["id"])
    row = world.memory.versions[(cert_id, 1)]
    assert row.version.stages == frozenset({Stage.CURRENT, Stage.LATEST}) and row.in_flight_at is None
    assert row.sealed_key is not None
    key = serialization.load_der_private_key(world.vault.open(row.sealed_key, cert_id, 1), None)
    certificate = x509.load_pem_x509_certificate(row.version.certificate_pem.encode())
    assert key.public_key() == certificate.public_key()
    with pytest.raises(DependencyError):
        world.vault.open(row.sealed_key, cert_id, 2)
    assert (hierarchy.issuing["id"], row.version.serial_number) in world.memory.serials
    assert [r.action for r in world.memory.audit if r.resource_id == cert_id] == ["CreateCertificate"]


def test_a_serial_already_claimed_refuses_the_issuance_and_keeps_nothing(
    api: ApiClient, hierarchy: Hierarchy, world: World, clock: Clock
) -> None:
    first = _issue(api, hierarchy.issuing["id"])
    serial = int(world.memory.versions[(str(first["id"]), 1)].version.serial_number, 16)
    issued = set(world.memory.certificates)
    # The same world, but every serial now collides with the first certificate's (ids stay unique).
    colliding, _ = build_fake(fake_settings(), Runtime(clock=clock, serials=lambda: serial), world)
    bootstrap.install(colliding)
    answer = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="second"))
    assert (answer.status, answer.body["code"]) == (409, "ConcurrentModification")
    assert set(world.memory.certificates) == issued
    assert all(r.version.stages for r in world.memory.versions.values())


def test_renewal_makes_a_new_current_version_and_the_old_one_previous(
    api: ApiClient, hierarchy: Hierarchy, world: World
) -> None:
    created = _issue(api, hierarchy.issuing["id"])
    cert_id = str(created["id"])
    renewed = api.post(f"/certificates/{cert_id}/versions", {})
    assert renewed.status == 201, renewed.body
    versions = {n: world.memory.versions[(cert_id, n)].version for n in (1, 2)}
    assert versions[1].stages == frozenset({Stage.PREVIOUS})
    assert versions[2].stages == frozenset({Stage.CURRENT, Stage.LATEST})
    assert versions[1].serial_number != versions[2].serial_number
    sealed = world.memory.versions[(cert_id, 2)].sealed_key
    assert sealed is not None and world.vault.open(sealed, cert_id, 2)
    stored = world.memory.certificates[cert_id]
    assert (stored.current_version_number, stored.latest_version_number) == (2, 2)


def test_the_sweep_renews_a_certificate_whose_renewal_time_has_come(
    api: ApiClient, hierarchy: Hierarchy, world: World, container: bootstrap.Container, clock: Clock
) -> None:
    created = _issue(
        api, hierarchy.issuing["id"], renewalRule={"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
    )
    cert_id = str(created["id"])
    assert world.memory.certificates[cert_id].next_check_at is not None
    container.sweep.run()
    assert (cert_id, 2) not in world.memory.versions  # not due yet
    clock.advance(days=21)
    container.sweep.run()
    renewed = world.memory.versions[(cert_id, 2)].version
    assert renewed.stages == frozenset({Stage.CURRENT, Stage.LATEST})
    assert world.memory.versions[(cert_id, 1)].version.stages == frozenset({Stage.PREVIOUS})
    next_check = world.memory.certificates[cert_id].next_check_at
    assert next_check is not None and next_check > clock.now


def test_a_listener_association_needs_its_owners_consent_and_is_counted(
    api: ApiClient, hierarchy: Hierarchy, world: World
) -> None:
    cert_id = str(_issue(api, hierarchy.issuing["id"])["id"])
    body = {"certificateId": cert_id, "associatedResourceId": LISTENER}
    missing = api.post("/associations", body)
    assert (missing.status, missing.body["code"]) == (403, "ConsentRequired")
    world.tags.tags[LISTENER] = {}
    refused = api.post("/associations", body)
    assert (refused.status, refused.body["code"]) == (403, "ConsentRequired")
    assert world.memory.associations == {} and world.memory.certificates[cert_id].association_count == 0
    world.tags.consent(LISTENER, cert_id)
    created = api.post("/associations", body)
    assert created.status == 201, created.body
    assert world.memory.certificates[cert_id].association_count == 1
    again = api.post("/associations", body)
    assert again.status == 409, again.body
    assert world.memory.certificates[cert_id].association_count == 1
    scheduled = api.post(f"/certificates/{cert_id}/actions/schedule-deletion", {})
    assert (scheduled.status, scheduled.body["code"]) == (409, "CertificateInUse")
    assert api.call("DELETE", f"/associations/{created.body['id']}").status == 204
    assert world.memory.certificates[cert_id].association_count == 0
    unused = api.post(f"/certificates/{cert_id}/actions/schedule-deletion", {})
    assert unused.status == 200, unused.body


def test_a_fresh_version_waits_as_pending_when_asked_and_is_promoted(
    api: ApiClient, hierarchy: Hierarchy, world: World
) -> None:
    cert_id = str(_issue(api, hierarchy.issuing["id"])["id"])
    pending = api.post(f"/certificates/{cert_id}/versions", {"stage": "PENDING"})
    assert pending.status == 201, pending.body
    assert Stage.PENDING in world.memory.versions[(cert_id, 2)].version.stages
    assert world.memory.certificates[cert_id].current_version_number == 1
    promoted = api.post(f"/certificates/{cert_id}/versions/2/actions/promote")
    assert promoted.status == 200, promoted.body
    assert world.memory.certificates[cert_id].current_version_number == 2
    assert Stage.CURRENT in world.memory.versions[(cert_id, 2)].version.stages


def test_the_sweep_leaves_no_published_version_in_flight(
    api: ApiClient, hierarchy: Hierarchy, world: World, container: bootstrap.Container, clock: Clock
) -> None:
    for n in range(3):
        _issue(api, hierarchy.issuing["id"], name=f"web-{n}")
    clock.advance(hours=1)
    container.sweep.run()
    assert len(world.memory.versions) == 3
    assert all(r.in_flight_at is None and r.version.stages for r in world.memory.versions.values())
