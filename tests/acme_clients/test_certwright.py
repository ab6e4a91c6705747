"""Real ACME clients against Certwright's own ACME server on the local runtime, with the real network challenge
checker (127.0.0.0/8 allowed, names resolved through challtestsrv): the flows test_reference_pebble.py runs
against pebble, and what Certwright adds — an ACME certificate is a CSR-kind Certwright certificate, a renewal is
its next version, a revocation reaches the issuing CA's CRL.

certbot: certonly --standalone (http-01) with EAB, renew --force-renewal, revoke; dns-01 through manual hooks.
certbot renew without --force-renewal follows Certwright's renewal information (ARI).
lego: http-01, tls-alpn-01, dns-01 through its exec provider. Every certificate verifies with openssl verify
against the Certwright root.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.acme_clients.conftest import (
    AcmeServer,
    Certbot,
    CertwrightAcme,
    Lego,
    assert_certbot_lifecycle,
    assert_certbot_requests,
    certbot_lifecycle,
    names_of,
    openssl_verify,
    recording_proxy,
    serial_of,
)


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the module's runtime set the process environment (endpoint, credentials)."""


def test_certbot_certonly_renew_revoke_against_certwright(
    certwright: CertwrightAcme, certbot: Callable[[AcmeServer], Certbot], tmp_path: Path
) -> None:
    server = certwright.server
    assert server.eab is not None
    (tmp_path / "proxy").mkdir()
    with recording_proxy(server, tmp_path / "proxy") as proxy:
        outcome = certbot_lifecycle(server, certbot(proxy.server), "certbot.example.test", tmp_path)
    # The same outcome, and the same requests, as against pebble (test_reference_pebble.py).
    assert_certbot_lifecycle(outcome)
    assert_certbot_requests(proxy, server.eab[0])
    # One Certwright certificate of the CSR kind, its second version the renewed serial (revoked now).
    first = certwright.certificate_of_serial(outcome.first)
    second = certwright.certificate_of_serial(outcome.second)
    assert first["id"] == second["id"]
    assert second["configType"] == "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA"
    assert second["currentVersion"]["versionNumber"] == 2
    current = second["currentVersion"]["serialNumber"].replace(":", "").lower().lstrip("0")
    assert current == format(outcome.second, "x")


def test_certbot_renew_follows_certwrights_renewal_information(
    certwright: CertwrightAcme, certbot: Callable[[AcmeServer], Certbot]
) -> None:
    """certbot renew (no --force-renewal) asks Certwright's ARI (RFC 9773) about each certificate: one whose window
    is ahead is not due; one revoked through the Certwright API is due at once, and its renewal is the next version
    of the same Certwright certificate. (certbot then waits for renewalInfo's Retry-After, 6 hours, before asking
    about a certificate again: that is why the revoked one is never asked about before its revocation here.)"""
    client = certbot(certwright.server)
    client.certonly_standalone("ari-kept.example.test")
    client.certonly_standalone("ari-revoked.example.test")
    kept, revoked = client.live("ari-kept.example.test"), client.live("ari-revoked.example.test")
    kept_serial, revoked_serial = serial_of(kept / "cert.pem"), serial_of(revoked / "cert.pem")
    certificate = certwright.certificate_of_serial(revoked_serial)
    status, answer = certwright.call(
        "POST",
        f"/certificates/{certificate['id']}/versions/1/actions/revoke",
        {"revocationReason": "KEY_COMPROMISE"},
    )
    assert status == 200, answer
    renew = client.run("renew")
    assert "ari-kept.example.test/fullchain.pem expires on" in renew.stdout  # listed as not due (skipped)
    assert "ari-revoked.example.test/fullchain.pem (success)" in renew.stdout
    assert serial_of(kept / "cert.pem") == kept_serial
    log = "".join(path.read_text() for path in (client.home / "logs").glob("letsencrypt.log*"))
    assert log.count("/renewal-info/") >= 2  # both decisions came from the renewalInfo resource
    renewed = certwright.certificate_of_serial(serial_of(revoked / "cert.pem"))
    assert renewed["id"] == certificate["id"]
    assert renewed["currentVersion"]["versionNumber"] == 2


def test_certbot_dns01_against_certwright(
    certwright: CertwrightAcme, certbot: Callable[[AcmeServer], Certbot], tmp_path: Path
) -> None:
    server = certwright.server
    client = certbot(server)
    client.certonly_dns("dns.example.test", "*.dns.example.test")
    live = client.live("dns.example.test")
    assert sorted(names_of(live / "cert.pem")) == ["*.dns.example.test", "dns.example.test"]
    verified = openssl_verify(server.roots(), live / "chain.pem", live / "cert.pem", tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert certwright.certificate_of_serial(serial_of(live / "cert.pem"))["currentVersion"]["versionNumber"] == 1


def test_lego_http01_against_certwright(
    certwright: CertwrightAcme, lego: Callable[[AcmeServer], Lego], tmp_path: Path
) -> None:
    client = lego(certwright.server)
    client.http01("lego-http.example.test")
    bundle = client.certificate("lego-http.example.test")
    assert names_of(bundle) == ["lego-http.example.test"]
    verified = openssl_verify(certwright.server.roots(), bundle, bundle, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_lego_tls_alpn01_against_certwright(
    certwright: CertwrightAcme, lego: Callable[[AcmeServer], Lego], tmp_path: Path
) -> None:
    client = lego(certwright.server)
    client.tls_alpn01("lego-tls.example.test")
    bundle = client.certificate("lego-tls.example.test")
    assert names_of(bundle) == ["lego-tls.example.test"]
    verified = openssl_verify(certwright.server.roots(), bundle, bundle, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_lego_dns01_against_certwright(
    certwright: CertwrightAcme, lego: Callable[[AcmeServer], Lego], tmp_path: Path
) -> None:
    client = lego(certwright.server)
    client.dns01("lego-dns.example.test")
    bundle = client.certificate("lego-dns.example.test")
    assert names_of(bundle) == ["lego-dns.example.test"]
    verified = openssl_verify(certwright.server.roots(), bundle, bundle, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
