"""Real ACME clients against Certwright's own ACME server on the local runtime, with the real network challenge
checker (127.0.0.0/8 allowed, names resolved through challtestsrv): the flows test_reference_pebble.py runs
against pebble, and what Certwright adds — an ACME certificate is a CSR-kind Certwright certificate, a renewal is
its next version, a revocation reaches the issuing CA's CRL.

certbot: certonly --standalone (http-01) with EAB, renew --force-renewal, revoke; dns-01 through manual hooks.
lego: http-01, tls-alpn-01. Every certificate verifies with openssl verify against the Certwright root.
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
