"""A second opinion from cryptography's path validator: server and client verifiers accept exactly their profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from tests.conformance.pki import CLIENT_PROFILES, DNS_SANS, KINDS, NOT_A_SAN, PROFILES, SERVER_PROFILES, Issued, build
from tests.conftest import ApiClient

pytestmark = pytest.mark.conformance


def parsed(issued: Issued) -> tuple[x509.Certificate, list[x509.Certificate]]:
    leaf = x509.load_pem_x509_certificate(issued.certificate_pem.encode())
    return leaf, x509.load_pem_x509_certificates(issued.chain_pem.encode())


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_server_verifier_accepts_server_profiles_for_their_names_only(
    api: ApiClient, tmp_path: Path, kind: str
) -> None:
    pki = build(api, tmp_path, kind, depth=3)
    root, *intermediates = (x509.load_pem_x509_certificate(pem.encode()) for pem in pki.ca_pems)
    builder = PolicyBuilder().store(Store([root]))
    issued = {profile: parsed(pki.issue(profile)) for profile in PROFILES}

    for profile in SERVER_PROFILES:
        leaf, chain = issued[profile]
        for name in DNS_SANS:
            path = builder.build_server_verifier(x509.DNSName(name)).verify(leaf, chain)
            assert path == [leaf, *reversed(intermediates), root], profile
        with pytest.raises(VerificationError):
            builder.build_server_verifier(x509.DNSName(NOT_A_SAN)).verify(leaf, chain)
    for profile in sorted(set(PROFILES) - set(SERVER_PROFILES)):
        leaf, chain = issued[profile]
        with pytest.raises(VerificationError, match="required EKU not found"):
            builder.build_server_verifier(x509.DNSName(DNS_SANS[0])).verify(leaf, chain)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_client_verifier_accepts_client_profiles_only(api: ApiClient, tmp_path: Path, kind: str) -> None:
    pki = build(api, tmp_path, kind)
    root = x509.load_pem_x509_certificate(pki.ca_pems[0].encode())
    verifier = PolicyBuilder().store(Store([root])).build_client_verifier()
    issued = {profile: parsed(pki.issue(profile)) for profile in PROFILES}

    for profile in CLIENT_PROFILES:
        leaf, chain = issued[profile]
        verified = verifier.verify(leaf, chain)
        assert verified.chain[0] == leaf
        assert verified.chain[-1] == root
        assert verified.subjects == [x509.DNSName(name) for name in DNS_SANS]
    for profile in sorted(set(PROFILES) - set(CLIENT_PROFILES)):
        leaf, chain = issued[profile]
        with pytest.raises(VerificationError, match="required EKU not found"):
            verifier.verify(leaf, chain)
