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

from tests.acme_clients.conftest import (
    AcmeServer,
    Certbot,
    Lego,
    assert_certbot_lifecycle,
    assert_certbot_requests,
    certbot_lifecycle,
    names_of,
    openssl_verify,
    recording_proxy,
)


def test_certbot_standalone_with_eab_then_renew_then_revoke(
    pebble: AcmeServer, certbot: Callable[[AcmeServer], Certbot], tmp_path: Path
) -> None:
    (tmp_path / "proxy").mkdir()
    with recording_proxy(pebble, tmp_path / "proxy") as proxy:
        outcome = certbot_lifecycle(pebble, certbot(proxy.server), "certbot.example.test", tmp_path)
    assert_certbot_lifecycle(outcome)  # the same outcome test_certwright.py asserts against Certwright
    assert_certbot_requests(proxy, pebble.eab[0])


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


def test_what_lego_sends_recorded_through_a_proxy(
    pebble: AcmeServer, lego: Callable[[AcmeServer], Lego], tmp_path: Path
) -> None:
    """lego's requests as an ACME server sees them (the compatibility the Certwright server must give lego)."""
    (tmp_path / "proxy").mkdir()
    with recording_proxy(pebble, tmp_path / "proxy") as proxy:
        lego(proxy.server).http01("lego-recorded.example.test")
    posts = proxy.posts()
    assert all(p.content_type == "application/jose+json" for p in posts)
    account, *later = posts
    assert account.protected is not None
    assert set(account.protected) == {"alg", "jwk", "nonce", "url"}
    assert account.protected["alg"] == "ES256"  # lego's default account key is P-256
    eab = account.payload["externalAccountBinding"]
    eab_header = json.loads(base64.urlsafe_b64decode(eab["protected"] + "=="))
    assert eab_header == {"alg": "HS256", "kid": pebble.eab[0], "url": account.protected["url"]}
    assert later
    assert all(p.protected is not None and set(p.protected) == {"alg", "kid", "nonce", "url"} for p in later)
    assert any(p.payload == "" for p in later)  # POST-as-GET
    assert [r.method for r in proxy.requests][:2] == ["GET", "HEAD"]  # the directory, then newNonce
