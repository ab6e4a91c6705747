"""Revocation on the fakes, through the API: reasons, state rules, the revoked list, compromised keys,
replacement (moved from tests/revocation, which keeps the stream and table checks on the embedded AWS)."""

from __future__ import annotations

from typing import Any

import pytest
from certwright import bootstrap
from certwright.errors import ConflictError
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import ApiClient, Hierarchy, leaf_body, sub_ca_body
from tests.fakes import World
from tests.revocation.test_revocation import HOST_ROLE, _csr, _issue, _revoke, _self_signed_import


def test_a_revoked_version_is_listed_for_its_issuer_with_its_reason_and_audited(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    answer = _revoke(api, certificate["id"], 1, "SUPERSEDED")
    assert answer.status == 200, answer.body
    assert answer.body["revocationStatus"]["revocationReason"] == "SUPERSEDED"
    assert answer.body["replacement"] is None  # nothing uses it

    (entry,) = container.store.revoked_entries(hierarchy.issuing["id"])
    assert entry.serial_number == certificate["currentVersion"]["serialNumber"]
    assert entry.reason.value == "SUPERSEDED" and entry.resource_id == certificate["id"]
    version = api.get(f"/certificates/{certificate['id']}/versions/1").body
    assert version["revocationStatus"]["revocationReason"] == "SUPERSEDED"
    actions = [r.action for r in container.store.list_for(certificate["id"], 10)]
    assert "RevokeCertificateVersion" in actions


def test_revoking_twice_is_a_conflict_and_adds_nothing(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    assert _revoke(api, certificate["id"], 1).status == 200
    again = _revoke(api, certificate["id"], 1, "KEY_COMPROMISE")
    assert (again.status, again.body["code"]) == (409, "AlreadyRevoked")
    (entry,) = container.store.revoked_entries(hierarchy.issuing["id"])
    assert entry.reason.value == "UNSPECIFIED"


def test_unknown_fields_versions_and_certificates_are_refused(api: ApiClient, hierarchy: Hierarchy) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    extra = api.post(f"/certificates/{certificate['id']}/versions/1/actions/revoke", {"reason": "SUPERSEDED"})
    assert (extra.status, extra.body["code"]) == (400, "UnknownField")
    assert _revoke(api, certificate["id"], 2).status == 404
    assert _revoke(api, "cert-nope", 1).status == 404
    assert _revoke(api, certificate["id"], 0).status == 400


def test_an_imported_certificate_cannot_be_revoked_here(api: ApiClient) -> None:
    created = api.post("/certificates", _self_signed_import())
    assert created.status == 201, created.body
    answer = _revoke(api, created.body["id"], 1)
    assert (answer.status, answer.body["code"]) == (409, "RevocationNotSupported")


def test_a_key_revoked_for_key_compromise_is_refused_in_later_csrs(api: ApiClient, hierarchy: Hierarchy) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    body = leaf_body(
        hierarchy.issuing["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        csrPem=_csr(key),
        subject={"commonName": "csr.example.com"},
        subjectAlternativeNames=[],
    )
    body.pop("keyAlgorithm")
    created = api.post("/certificates", body)
    assert created.status == 201, created.body
    assert _revoke(api, created.body["id"], 1, "KEY_COMPROMISE").status == 200

    renewal = api.post(f"/certificates/{created.body['id']}/versions", {"csrPem": _csr(key)})
    assert (renewal.status, renewal.body["code"]) == (422, "KeyCompromised")
    other = api.post("/certificates", {**body, "name": "again"})
    assert (other.status, other.body["code"]) == (422, "KeyCompromised")
    fresh = api.post(
        f"/certificates/{created.body['id']}/versions", {"csrPem": _csr(ec.generate_private_key(ec.SECP256R1()))}
    )
    assert fresh.status == 201, fresh.body


def test_revoking_the_current_version_of_a_certificate_in_use_issues_a_replacement(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, world: World
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    world.tags.consent(HOST_ROLE, certificate["id"])
    association = api.post("/associations", {"certificateId": certificate["id"], "associatedResourceId": HOST_ROLE})
    assert association.status == 201, association.body

    answer = _revoke(api, certificate["id"], 1, "KEY_COMPROMISE")
    assert answer.status == 200, answer.body
    assert answer.body["replacement"]["state"] == "CREATED"
    assert answer.body["replacement"]["versionNumber"] == 2
    now = api.get(f"/certificates/{certificate['id']}").body
    assert now["currentVersion"]["versionNumber"] == 2
    assert now["currentVersion"]["serialNumber"] != certificate["currentVersion"]["serialNumber"]
    # The revoked version keeps its history and can never come back.
    old = api.get(f"/certificates/{certificate['id']}/versions/1").body
    assert old["stages"] == ["PREVIOUS"] and old["revocationStatus"]["revocationReason"] == "KEY_COMPROMISE"
    back = api.post(f"/certificates/{certificate['id']}/versions/1/actions/promote")
    assert (back.status, back.body["code"]) == (409, "VersionRevoked")


def test_a_csr_managed_certificate_in_use_is_told_to_send_a_new_csr(api: ApiClient, hierarchy: Hierarchy) -> None:
    body = leaf_body(
        hierarchy.issuing["id"],
        configType="MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
        csrPem=_csr(ec.generate_private_key(ec.SECP256R1())),
        subject={"commonName": "csr.example.com"},
        subjectAlternativeNames=[],
    )
    body.pop("keyAlgorithm")
    created = api.post("/certificates", body).body
    assert api.post("/associations", {"certificateId": created["id"], "associatedResourceId": HOST_ROLE}).status == 201
    answer = _revoke(api, created["id"], 1)
    assert answer.body["replacement"]["state"] == "NEEDS_CSR"
    assert "/versions" in answer.body["replacement"]["message"]


def test_cessation_of_operation_retires_the_certificate(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    certificate = _issue(
        api, hierarchy.issuing["id"], renewalRule={"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
    )
    answer = _revoke(api, certificate["id"], 1, "CESSATION_OF_OPERATION")
    assert answer.status == 200
    renewal = api.post(f"/certificates/{certificate['id']}/versions", {})
    assert (renewal.status, renewal.body["code"]) == (409, "CertificateRevoked")
    stored = container.store.get_certificate(certificate["id"])
    assert stored is not None and not stored.renews_itself and stored.next_check_at is None


def test_a_revoked_previous_version_does_not_touch_the_current_one(api: ApiClient, hierarchy: Hierarchy) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    assert api.post(f"/certificates/{certificate['id']}/versions", {}).status == 201
    answer = _revoke(api, certificate["id"], 1, "CESSATION_OF_OPERATION")
    assert answer.status == 200 and answer.body["replacement"] is None
    # Retiring reasons only retire the certificate when its CURRENT version is revoked.
    assert api.post(f"/certificates/{certificate['id']}/versions", {}).status == 201


def test_a_revoked_subordinate_ca_issues_nothing_more(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    issuing = hierarchy.issuing
    answer = api.post(
        f"/certificate-authorities/{issuing['id']}/versions/1/actions/revoke", {"revocationReason": "CA_COMPROMISE"}
    )
    assert answer.status == 200, answer.body
    assert answer.body["currentVersion"]["revocationStatus"]["revocationReason"] == "CA_COMPROMISE"
    (entry,) = container.store.revoked_entries(hierarchy.root["id"])
    assert entry.serial_number == issuing["currentVersion"]["serialNumber"]
    refused = api.post("/certificates", leaf_body(issuing["id"]))
    assert (refused.status, refused.body["code"]) == (409, "CertificateAuthorityRevoked")
    below = api.post("/certificate-authorities", sub_ca_body(issuing["id"], name="below"))
    assert (below.status, below.body["code"]) == (409, "CertificateAuthorityRevoked")


def test_a_root_cannot_be_revoked_and_ca_reasons_are_checked(api: ApiClient, hierarchy: Hierarchy) -> None:
    root = api.post(f"/certificate-authorities/{hierarchy.root['id']}/versions/1/actions/revoke", {})
    assert (root.status, root.body["code"]) == (409, "CannotRevokeRoot")
    odd = api.post(
        f"/certificate-authorities/{hierarchy.issuing['id']}/versions/1/actions/revoke",
        {"revocationReason": "AFFILIATION_CHANGED"},
    )
    assert (odd.status, odd.body["code"]) == (400, "InvalidRevocationReason")
    missing = api.post(f"/certificate-authorities/{hierarchy.issuing['id']}/versions/2/actions/revoke", {})
    assert missing.status == 404


def test_revoking_a_renewed_subordinate_revokes_every_version_that_still_vouches_for_its_key(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    issuing = hierarchy.issuing
    assert api.post(f"/certificate-authorities/{issuing['id']}/versions", {}).status == 201
    answer = api.post(
        f"/certificate-authorities/{issuing['id']}/versions/2/actions/revoke", {"revocationReason": "KEY_COMPROMISE"}
    )
    assert answer.status == 200, answer.body
    versions = api.get(f"/certificate-authorities/{issuing['id']}/versions").body["items"]
    assert [v["revocationStatus"]["revocationReason"] for v in versions] == ["KEY_COMPROMISE", "KEY_COMPROMISE"]
    listed = {e.serial_number for e in container.store.revoked_entries(hierarchy.root["id"])}
    assert listed == {v["serialNumber"] for v in versions}


def test_a_revocation_that_loses_a_race_with_another_writer_is_retried_from_a_fresh_read(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    store = container.store
    real = store.revoke_certificate_version
    lost: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        if not lost:  # the first write loses to a concurrent writer of the certificate row
            lost.append(1)
            raise ConflictError("changed concurrently", code="ConcurrentModification")
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "revoke_certificate_version", racing)
    answer = _revoke(api, certificate["id"], 1, "SUPERSEDED")
    assert answer.status == 200, answer.body
    assert lost == [1]
    (entry,) = store.revoked_entries(hierarchy.issuing["id"])
    assert entry.serial_number == certificate["currentVersion"]["serialNumber"]


def test_a_revocation_that_keeps_losing_races_is_a_409_with_nothing_written(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    certificate = _issue(api, hierarchy.issuing["id"])
    store = container.store
    attempts: list[int] = []

    def always_losing(*args: Any, **kwargs: Any) -> Any:
        attempts.append(1)
        raise ConflictError("changed concurrently", code="ConcurrentModification")

    monkeypatch.setattr(store, "revoke_certificate_version", always_losing)
    answer = _revoke(api, certificate["id"], 1, "SUPERSEDED")
    assert (answer.status, answer.body["code"]) == (409, "ConcurrentModification")
    assert len(attempts) == 3
    assert store.revoked_entries(hierarchy.issuing["id"]) == []
