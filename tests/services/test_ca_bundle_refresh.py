"""CA events refresh the bundles that include the CA: a new version only when the content changed, exactly once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.authority import CaVersion, LifecycleState, Validity
from certwright.domain.revocation import Revocation, RevocationReason
from certwright.events import (
    CertificateAuthorityDeleted,
    CertificateAuthorityVersionCreated,
    CertificateAuthorityVersionRevoked,
    DomainEvent,
)
from cryptography import x509

from tests.ca_bundles.pems import ca_pem, fingerprint
from tests.conftest import ApiClient, Clock, Hierarchy
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function


@pytest.fixture
def association_change() -> Any:
    return load_function("association_change").lambda_handler


def _deliver(handler: Any, event: DomainEvent) -> dict[str, Any]:
    return dict(handler(eventbridge_envelope(event), LambdaContext()))


def _renew(container: bootstrap.Container, ca_id: str, name: str) -> str:
    """Stand-in for the lead's CA renewal: the CA row gets a new current version with a new certificate."""
    ca = container.store.get_authority(ca_id)
    assert ca is not None and ca.current_version is not None
    pem = ca_pem(name)
    certificate = x509.load_pem_x509_certificate(pem.encode())
    version = CaVersion(
        ca.current_version.version_number + 1,
        f"{certificate.serial_number:x}",
        Validity(certificate.not_valid_before_utc, certificate.not_valid_after_utc),
        pem,
    )
    container.store.save_authority(replace(ca, current_version=version))
    return pem


def _revoke(container: bootstrap.Container, ca_id: str, clock: Clock) -> None:
    ca = container.store.get_authority(ca_id)
    assert ca is not None and ca.current_version is not None
    revoked = replace(ca.current_version, revocation=Revocation(RevocationReason.KEY_COMPROMISE, clock()))
    container.store.save_authority(replace(ca, current_version=revoked))


def _versions(api: ApiClient, bundle_id: str) -> dict[int, list[str]]:
    return {v["versionNumber"]: v["stages"] for v in api.get(f"/ca-bundles/{bundle_id}/versions").body["items"]}


def _fingerprints(api: ApiClient, bundle_id: str) -> list[str]:
    bundle = api.get(f"/ca-bundles/{bundle_id}").body
    return [c["sha256Fingerprint"] for c in bundle["currentVersion"]["certificates"]]


def _bundle(api: ApiClient, **body: Any) -> str:
    answer = api.post("/ca-bundles", {"name": "trust", **body})
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def test_a_renewed_ca_gives_every_bundle_that_includes_it_one_new_version(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, association_change: Any
) -> None:
    issuing = hierarchy.issuing["id"]
    partner = ca_pem("Partner Root")
    mixed = _bundle(api, caBundlePem=partner, certificateAuthorityIds=[issuing], includeCertificateAuthorityChain=False)
    plain = _bundle(api, certificateAuthorityIds=[issuing])
    unrelated = _bundle(api, caBundlePem=ca_pem("Someone else"))

    renewed = _renew(container, issuing, "Certwright Test Issuing CA (renewed)")
    event = CertificateAuthorityVersionCreated("evt-1", issuing, 3, 2, "abc")
    result = _deliver(association_change, event)

    assert result["bundles"] == {mixed: "version 2", plain: "version 2"}
    assert _fingerprints(api, mixed) == [fingerprint(partner), fingerprint(renewed)]
    assert _fingerprints(api, plain)[0] == fingerprint(renewed)
    assert _versions(api, mixed) == {1: ["PREVIOUS"], 2: ["CURRENT", "LATEST"]}
    assert _versions(api, unrelated) == {1: ["CURRENT", "LATEST"]}

    # The same event again, or a late duplicate with another delivery id: nothing changes.
    again = _deliver(association_change, event)
    assert again["bundles"] == {mixed: "unchanged", plain: "unchanged"}
    _deliver(association_change, replace(event, event_id="evt-1-redelivered"))
    assert _versions(api, mixed) == {1: ["PREVIOUS"], 2: ["CURRENT", "LATEST"]}
    audit = [r.action for r in container.store.list_for(mixed, 20)]
    assert audit.count("RefreshCaBundle") == 1


def test_a_revoked_ca_is_withdrawn_and_a_bundle_left_empty_keeps_its_last_version_flagged(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock, association_change: Any
) -> None:
    issuing = hierarchy.issuing["id"]
    partner = ca_pem("Partner Root")
    mixed = _bundle(api, caBundlePem=partner, certificateAuthorityIds=[issuing])
    only = _bundle(api, certificateAuthorityIds=[issuing], includeCertificateAuthorityChain=False)
    before = _fingerprints(api, only)

    _revoke(container, issuing, clock)
    event = CertificateAuthorityVersionRevoked(
        "evt-2", issuing, 3, 1, "abc", hierarchy.root["id"], "KEY_COMPROMISE", clock.now.isoformat(), "issuing"
    )
    result = _deliver(association_change, event)
    assert result["bundles"] == {mixed: "version 2", only: "stale"}

    assert _fingerprints(api, mixed) == [fingerprint(partner)]
    flagged = api.get(f"/ca-bundles/{mixed}").body
    assert flagged["withdrawnCertificateAuthorityIds"] == [issuing] and flagged["stale"] is False
    assert flagged["certificateAuthorityIds"] == [issuing]  # still a source: trusted again if it comes back

    stale = api.get(f"/ca-bundles/{only}").body
    assert stale["stale"] is True and stale["withdrawnCertificateAuthorityIds"] == [issuing]
    assert _fingerprints(api, only) == before and _versions(api, only) == {1: ["CURRENT", "LATEST"]}
    assert _deliver(association_change, event)["bundles"] == {mixed: "unchanged", only: "unchanged"}

    # New sources clear the flag.
    answer = api.post(
        f"/ca-bundles/{only}/versions", {"caBundlePem": ca_pem("Replacement"), "certificateAuthorityIds": []}
    )
    assert answer.status == 201, answer.body
    cleared = api.get(f"/ca-bundles/{only}").body
    assert cleared["stale"] is False and cleared["certificateAuthorityIds"] == []
    assert container.ca_bundles.refresh_for_authority(issuing) == {mixed: "unchanged"}


def test_a_deleted_ca_is_withdrawn(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, association_change: Any
) -> None:
    root = hierarchy.root["id"]
    partner = ca_pem("Partner Root")
    bundle = _bundle(api, caBundlePem=partner, certificateAuthorityIds=[root])
    ca = container.store.get_authority(root)
    assert ca is not None
    container.store.save_authority(ca.with_state(LifecycleState.DELETED))

    result = _deliver(association_change, CertificateAuthorityDeleted("evt-3", root, 9, "root"))
    assert result["bundles"] == {bundle: "version 2"}
    assert _fingerprints(api, bundle) == [fingerprint(partner)]


def test_a_ca_event_for_a_ca_no_bundle_includes_does_nothing(
    hierarchy: Hierarchy, container: bootstrap.Container, association_change: Any
) -> None:
    event = CertificateAuthorityVersionCreated("evt-4", hierarchy.root["id"], 3, 2, "abc")
    assert _deliver(association_change, event)["bundles"] == {}


def test_bundles_that_were_given_other_sources_are_no_longer_refreshed_for_the_old_ca(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container
) -> None:
    issuing = hierarchy.issuing["id"]
    bundle = _bundle(api, certificateAuthorityIds=[issuing])
    answer = api.post(f"/ca-bundles/{bundle}/versions", {"certificateAuthorityIds": [hierarchy.root["id"]]})
    assert answer.status == 201, answer.body
    assert container.ca_bundles.refresh_for_authority(issuing) == {}
    assert container.ca_bundles.refresh_for_authority(hierarchy.root["id"]) == {bundle: "unchanged"}
