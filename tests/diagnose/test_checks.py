"""The pure verdicts of diagnose (checks.diagnose) on observations built by hand: no socket, a fixed `now`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from certwright.x509.endpoint_checks import Handshake, Observation, Severity, TrustStore, covers, diagnose
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from tests.diagnose.servers import DAY, HOST, NOW, Issued, crl, issue

ROOT = issue("Checks Root", ca=True)
ISSUING = issue("Checks Issuing", ROOT, ca=True)
TRUST = TrustStore("test roots", (ROOT.certificate,))


def observe(*chain: Issued, without_sni: Issued | None = None, **fields: object) -> Observation:
    served = Handshake(tuple(c.certificate for c in chain), "TLSv1.3", "TLS_AES_128_GCM_SHA256")
    other = None if without_sni is None else Handshake((without_sni.certificate,), "TLSv1.3", None)
    return Observation("127.0.0.1", 443, HOST, served, other, **fields)  # type: ignore[arg-type]


def codes(observation: Observation, trust: TrustStore = TRUST) -> list[tuple[str, Severity]]:
    return [(f.code, f.severity) for f in diagnose(observation, trust, NOW)]


@pytest.mark.parametrize(
    ("pattern", "host", "covered"),
    [
        ("*.example.com", "www.example.com", True),
        ("*.example.com", "WWW.Example.COM", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("www.example.com", "www.example.com.", True),
        ("w*.example.com", "www.example.com", False),
        ("*.*.example.com", "a.b.example.com", False),
    ],
)
def test_wildcard_rules(pattern: str, host: str, covered: bool) -> None:
    assert covers(issue("x", ISSUING, sans=[pattern]).certificate, host) is covered


def test_an_ip_address_is_matched_only_by_an_ip_san() -> None:
    import ipaddress

    key = ISSUING.key
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ISSUING.certificate.subject)
        .public_key(issue("k").certificate.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    assert covers(cert, "127.0.0.1") and not covers(cert, "127.0.0.2")


def test_a_healthy_chain_has_no_finding() -> None:
    assert codes(observe(issue(HOST, ISSUING), ISSUING)) == []


def test_an_rsa_1024_leaf_is_a_weak_key() -> None:
    small = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the weak key under test
    leaf = issue(HOST, ISSUING)
    weak = x509.CertificateBuilder(
        issuer_name=leaf.certificate.issuer,
        subject_name=leaf.certificate.subject,
        public_key=small.public_key(),
        serial_number=leaf.certificate.serial_number,
        not_valid_before=leaf.certificate.not_valid_before_utc,
        not_valid_after=leaf.certificate.not_valid_after_utc,
        extensions=list(leaf.certificate.extensions),
    ).sign(ISSUING.key, hashes.SHA256())
    assert ("WEAK_KEY", Severity.ERROR) in codes(observe(Issued(weak, leaf.key), ISSUING))


def test_no_sni_default_certificate_for_another_name_is_a_warning() -> None:
    observation = observe(issue(HOST, ISSUING), ISSUING, without_sni=issue("default.example.test", ISSUING))
    assert codes(observation) == [("SNI_REQUIRED", Severity.WARNING)]


def test_a_crl_not_signed_by_the_issuer_is_not_believed() -> None:
    leaf = issue(HOST, ISSUING, crl_url="http://127.0.0.1:1/issuing.crl")
    forger = issue("Checks Issuing", ROOT, ca=True)  # same name, another key
    forged = crl(forger, [leaf.certificate])
    assert codes(observe(leaf, ISSUING, crls={"http://127.0.0.1:1/issuing.crl": forged})) == []
    genuine = crl(ISSUING, [leaf.certificate])
    assert codes(observe(leaf, ISSUING, crls={"http://127.0.0.1:1/issuing.crl": genuine})) == [
        ("REVOKED", Severity.ERROR)
    ]


def test_an_unreadable_crl_is_a_warning() -> None:
    leaf = issue(HOST, ISSUING, crl_url="http://127.0.0.1:1/issuing.crl")
    observation = observe(leaf, ISSUING, crls={"http://127.0.0.1:1/issuing.crl": "cannot download: refused"})
    assert codes(observation) == [("CRL_UNAVAILABLE", Severity.WARNING)]


def test_an_expired_leaf_is_expired_and_nothing_else() -> None:
    leaf = issue(HOST, ISSUING, not_before=NOW - 10 * DAY, not_after=NOW - timedelta(minutes=1))
    assert codes(observe(leaf, ISSUING)) == [("EXPIRED", Severity.ERROR)]


def test_an_expired_intermediate_is_untrusted() -> None:
    old = issue("Checks Old Issuing", ROOT, ca=True, not_before=NOW - 10 * DAY, not_after=NOW - DAY)
    leaf = issue(HOST, old, not_before=NOW - 5 * DAY, not_after=NOW + 60 * DAY)
    assert codes(observe(leaf, old)) == [("UNTRUSTED", Severity.ERROR)]
