"""The reference runs: certbot and lego against Debian's pebble (EAB required), the flows issue 12 runs against
Certwright's own ACME server, so the clients are shown to behave the same against both.

certbot: certonly --standalone (http-01) with EAB, renew --force-renewal, revoke; dns-01 through manual hooks.
lego: http-01, tls-alpn-01, dns-01 through its exec provider. Every certificate verifies with openssl verify
against pebble's root; pebble validates through challtestsrv, where every name resolves to 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from cryptography import x509

from tests.acme_clients.conftest import AcmeServer, Certbot, Lego, openssl_verify


def serial_of(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def names_of(path: Path) -> list[str]:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )


def test_certbot_standalone_with_eab_then_renew_then_revoke(
    pebble: AcmeServer, certbot: Callable[[AcmeServer], Certbot], tmp_path: Path
) -> None:
    client = certbot(pebble)
    client.certonly_standalone("certbot.example.test")
    live = client.live("certbot.example.test")
    first = serial_of(live / "cert.pem")
    assert names_of(live / "cert.pem") == ["certbot.example.test"]
    verified = openssl_verify(pebble.roots(), live / "chain.pem", live / "cert.pem", tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr

    client.run("renew", "--force-renewal")
    second = serial_of(live / "cert.pem")
    assert second != first
    assert len(list((client.home / "config" / "archive" / "certbot.example.test").glob("cert*.pem"))) == 2
    assert openssl_verify(pebble.roots(), live / "chain.pem", live / "cert.pem", tmp_path).returncode == 0

    assert not pebble.revoked(second)
    client.run("revoke", "--cert-name", "certbot.example.test", "--no-delete-after-revoke")
    assert pebble.revoked(second)
    assert not pebble.revoked(first)

    sent = client.sent()
    account, *later = sent
    # newAccount: signed with the account's JWK (RS256 by default); the EAB is an HS256 JWS over that JWK inside
    # the payload, its protected header the EAB key id and the newAccount URL (RFC 8555 §7.3.4).
    assert set(account["protected"]) == {"alg", "jwk", "nonce", "url"}
    eab = account["payload"]["externalAccountBinding"]
    eab_header = json.loads(base64.urlsafe_b64decode(eab["protected"] + "=="))
    assert eab_header == {"alg": "HS256", "kid": pebble.eab[0], "url": account["url"]}
    assert account["payload"]["termsOfServiceAgreed"] is True
    # Everything after it is signed with the account URL as kid; revoke included (certbot has the account key).
    assert later
    assert all(set(r["protected"]) == {"alg", "kid", "nonce", "url"} for r in later)
    assert all(r["protected"]["url"] == r["url"] for r in sent)
    assert any("certificate" in r["payload"] for r in later if isinstance(r["payload"], dict))  # revokeCert


def test_certbot_dns01_through_manual_hooks(
    pebble: AcmeServer, certbot: Callable[[AcmeServer], Certbot], tmp_path: Path
) -> None:
    client = certbot(pebble)
    client.certonly_dns("dns.example.test", "*.dns.example.test")
    live = client.live("dns.example.test")
    assert sorted(names_of(live / "cert.pem")) == ["*.dns.example.test", "dns.example.test"]
    assert openssl_verify(pebble.roots(), live / "chain.pem", live / "cert.pem", tmp_path).returncode == 0


def test_lego_http01(pebble: AcmeServer, lego: Callable[[AcmeServer], Lego], tmp_path: Path) -> None:
    client = lego(pebble)
    client.http01("lego-http.example.test")
    bundle = client.certificate("lego-http.example.test")
    assert names_of(bundle) == ["lego-http.example.test"]
    verified = openssl_verify(pebble.roots(), bundle, bundle, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_lego_tls_alpn01(pebble: AcmeServer, lego: Callable[[AcmeServer], Lego], tmp_path: Path) -> None:
    client = lego(pebble)
    client.tls_alpn01("lego-tls.example.test")
    bundle = client.certificate("lego-tls.example.test")
    assert names_of(bundle) == ["lego-tls.example.test"]
    assert openssl_verify(pebble.roots(), bundle, bundle, tmp_path).returncode == 0


def test_lego_dns01_through_the_exec_provider(
    pebble: AcmeServer, lego: Callable[[AcmeServer], Lego], tmp_path: Path
) -> None:
    client = lego(pebble)
    client.dns01("lego-dns.example.test")
    bundle = client.certificate("lego-dns.example.test")
    assert names_of(bundle) == ["lego-dns.example.test"]
    assert openssl_verify(pebble.roots(), bundle, bundle, tmp_path).returncode == 0
