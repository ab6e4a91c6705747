"""tls-alpn-01 (RFC 8737) against a Python TLS server answering ALPN acme-tls/1 with a challenge certificate built
here: good, missing or non-critical acmeIdentifier, wrong digest, wrong SAN, no acme-tls/1, a stalled handshake."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from certwright.ports.acme_challenges import ChallengeResult, ChallengeType

from tests.acme_challenges.conftest import KEY_AUTHORIZATION, TOKEN, TlsSite, challenge_certificate, checker
from tests.acme_tools import ChallTestSrv

NAME = "tls.example.test"
StartTls = Callable[..., TlsSite]


def check(site: TlsSite, dns: ChallTestSrv, **overrides: object) -> ChallengeResult:
    settings = {"acme_tls_port": site.port, "acme_dns_resolver": dns.resolver, **overrides}
    return checker(**settings).check(ChallengeType.TLS_ALPN_01, NAME, TOKEN, KEY_AUTHORIZATION)


def test_a_challenge_certificate_validates_and_sni_is_the_name(tls_site: StartTls, dns: ChallTestSrv) -> None:
    site = tls_site(challenge_certificate([NAME]))
    assert check(site, dns) == ChallengeResult(valid=True)
    assert site.server_names == [NAME]


@pytest.mark.parametrize(
    ("certificate", "why"),
    [
        (lambda: challenge_certificate([NAME], None), "has no acmeIdentifier extension"),
        (lambda: challenge_certificate([NAME], critical=False), "non-critical acmeIdentifier"),
        (lambda: challenge_certificate([NAME], digest_of=TOKEN + ".other"), "not the digest of the key authorization"),
        (lambda: challenge_certificate(["other.example.test"]), f"must name exactly {NAME}"),
        (lambda: challenge_certificate([NAME, "extra.example.test"]), f"must name exactly {NAME}"),
    ],
    ids=["missing-extension", "not-critical", "wrong-digest", "wrong-san", "two-sans"],
)
def test_a_wrong_challenge_certificate_is_an_incorrect_response(
    tls_site: StartTls, dns: ChallTestSrv, certificate: Callable[[], tuple[bytes, bytes]], why: str
) -> None:
    result = check(tls_site(certificate()), dns)
    assert (result.valid, result.problem) == (False, "incorrectResponse")
    assert why in result.detail
    assert KEY_AUTHORIZATION not in result.detail


def test_a_server_without_acme_tls_1_is_a_tls_problem(tls_site: StartTls, dns: ChallTestSrv) -> None:
    result = check(tls_site(challenge_certificate([NAME]), alpn=["h2", "http/1.1"]), dns)
    assert (result.valid, result.problem) == (False, "tls")


def test_a_stalled_handshake_is_cut_at_the_time_cap(tls_site: StartTls, dns: ChallTestSrv) -> None:
    site = tls_site(challenge_certificate([NAME]), delay=5.0)
    started = time.monotonic()
    result = check(site, dns, acme_validation_timeout_seconds=0.5)
    assert (result.valid, result.problem) == (False, "connection")
    assert time.monotonic() - started < 4  # the server would have waited 5 s before its handshake
