"""openssl verify -x509_strict accepts KMS-signed chains for exactly the purposes and names each certificate is for."""

from __future__ import annotations

import functools
import itertools
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.conformance.pki import DNS_SANS, KINDS, NOT_A_SAN, PROFILES, build, openssl_verify, run
from tests.conftest import ApiClient

pytestmark = pytest.mark.conformance

# The openssl purposes each profile's leaf must pass; every other TLS purpose must fail.
PURPOSES = {
    "TLS_SERVER_OR_CLIENT": {"sslserver", "sslclient"},
    "TLS_SERVER": {"sslserver"},
    "TLS_CLIENT": {"sslclient"},
    "TLS_CODE_SIGN": {"codesign"},
}
TLS_PURPOSES = {"sslserver", "sslclient"}


@functools.cache
def openssl_purposes() -> frozenset[str]:
    """Purposes this openssl knows; "codesign" only arrived in openssl 3.2."""
    done = run("openssl", "verify", "-help")
    listing = done.stdout + done.stderr
    section = listing.split("Recognized certificate chain purposes:")[1].split("Recognized")[0]
    return frozenset(line.split()[0] for line in section.splitlines() if line.strip())


def ok(result: subprocess.CompletedProcess[str]) -> bool:
    return result.returncode == 0 and result.stdout.rstrip().endswith(": OK")


@pytest.mark.parametrize(("kind", "profile"), list(itertools.product(sorted(KINDS), PROFILES)))
def test_a_leaf_verifies_for_exactly_the_purposes_of_its_profile(
    api: ApiClient, tmp_path: Path, kind: str, profile: str
) -> None:
    pki = build(api, tmp_path, kind)
    leaf, chain = pki.leaf_files(pki.issue(profile))
    root = pki.root_file()

    plain = openssl_verify(root, leaf, chain)
    assert ok(plain), plain.stdout + plain.stderr
    for purpose in sorted(PURPOSES[profile] & openssl_purposes()):
        passed = openssl_verify(root, leaf, chain, purpose=purpose)
        assert ok(passed), f"{purpose}: {passed.stdout}{passed.stderr}"
    if "sslserver" in PURPOSES[profile]:
        for name in DNS_SANS:
            named = openssl_verify(root, leaf, chain, purpose="sslserver", hostname=name)
            assert ok(named), f"{name}: {named.stdout}{named.stderr}"
    for purpose in sorted(TLS_PURPOSES - PURPOSES[profile]):
        refused = openssl_verify(root, leaf, chain, purpose=purpose)
        assert refused.returncode != 0, f"{profile} leaf passed {purpose}"
        assert "unsuitable certificate purpose" in refused.stderr + refused.stdout

    usages = x509.load_pem_x509_certificate(leaf.read_bytes()).extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    expected = {
        "sslserver": ExtendedKeyUsageOID.SERVER_AUTH,
        "sslclient": ExtendedKeyUsageOID.CLIENT_AUTH,
        "codesign": ExtendedKeyUsageOID.CODE_SIGNING,
    }
    assert set(usages.value) == {expected[purpose] for purpose in PURPOSES[profile]}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_root_self_verifies_and_the_issuing_ca_verifies_under_it_alone(
    api: ApiClient, tmp_path: Path, kind: str
) -> None:
    pki = build(api, tmp_path, kind)
    root = pki.root_file()
    issuing = pki.write("issuing.pem", pki.ca_pems[1])

    for certificate in (root, issuing):
        result = openssl_verify(root, certificate, purpose="crlsign")
        assert ok(result), result.stdout + result.stderr
    other_root = pki.write("other-root.pem", build(api, tmp_path, kind, depth=1).ca_pems[0])
    refused = openssl_verify(other_root, issuing)
    assert refused.returncode != 0
    assert "unable to get local issuer certificate" in refused.stderr + refused.stdout


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_three_level_hierarchy_verifies_down_to_the_leaf(api: ApiClient, tmp_path: Path, kind: str) -> None:
    pki = build(api, tmp_path, kind, depth=3)
    root = pki.root_file()
    sub, sub_sub = pki.write("sub.pem", pki.ca_pems[1]), pki.write("sub-sub.pem", pki.ca_pems[2])
    issued = pki.issue("TLS_SERVER")
    leaf, chain = pki.leaf_files(issued)

    assert ok(openssl_verify(root, sub))
    assert ok(openssl_verify(root, sub_sub, sub))
    verified = openssl_verify(root, leaf, chain, purpose="sslserver", hostname=DNS_SANS[0])
    assert ok(verified), verified.stdout + verified.stderr
    assert x509.load_pem_x509_certificates(issued.chain_pem.encode()) == [
        x509.load_pem_x509_certificate(pem.encode()) for pem in reversed(pki.ca_pems)
    ]
    without_middle = openssl_verify(root, leaf, sub_sub, purpose="sslserver")
    assert without_middle.returncode != 0, "the leaf verified without the middle CA"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_name_outside_the_sans_is_refused(api: ApiClient, tmp_path: Path, kind: str) -> None:
    pki = build(api, tmp_path, kind)
    leaf, chain = pki.leaf_files(pki.issue("TLS_SERVER"))

    refused = openssl_verify(pki.root_file(), leaf, chain, purpose="sslserver", hostname=NOT_A_SAN)
    assert refused.returncode != 0
    assert "hostname mismatch" in refused.stderr + refused.stdout
    assert ok(openssl_verify(pki.root_file(), leaf, chain, purpose="sslserver", hostname=DNS_SANS[1]))


def test_an_ip_san_verifies_for_that_address_only(api: ApiClient, tmp_path: Path) -> None:
    pki = build(api, tmp_path, "ecdsa")
    sans = [{"type": "DNS", "value": DNS_SANS[0]}, {"type": "IP", "value": "127.0.0.1"}]
    leaf, chain = pki.leaf_files(pki.issue("TLS_SERVER", sans=sans))

    assert ok(openssl_verify(pki.root_file(), leaf, chain, purpose="sslserver", ip="127.0.0.1"))
    refused = openssl_verify(pki.root_file(), leaf, chain, purpose="sslserver", ip="127.0.0.2")
    assert refused.returncode != 0
    assert "IP address mismatch" in refused.stderr + refused.stdout
