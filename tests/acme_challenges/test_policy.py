"""The network policy: a name resolving (through the configured resolver) to a metadata, link-local or
unspecified address, or to one outside the allowed networks, is a rejectedIdentifier and nothing is connected to;
every resolved address counts, not just the first; and the settings that carry the policy."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from typing import Any

import pytest
from certwright.adapters.acme_challenges import NetworkChallengeChecker
from certwright.config import Settings
from certwright.ports.acme_challenges import ChallengeType

from tests.acme_challenges.conftest import KEY_AUTHORIZATION, TOKEN, HttpSite, challenge_path, checker
from tests.acme_tools import ChallTestSrv

ENV = {"CERTWRIGHT_TABLE": "t", "CERTWRIGHT_IDEMPOTENCY_TABLE": "i", "CERTWRIGHT_KEY_ENCRYPTION_KEY_ID": "k"}


@pytest.mark.parametrize(
    ("name", "a", "aaaa", "why"),
    [
        ("metadata.test", ["169.254.169.254"], [], "instance-metadata"),
        ("metadata6.test", [], ["fd00:ec2::254"], "instance-metadata"),
        ("link-local.test", ["169.254.10.20"], [], "link-local"),
        ("link-local6.test", [], ["fe80::1"], "link-local"),
        ("unspecified.test", ["0.0.0.0"], [], "not a unicast address"),  # noqa: S104 - a resolved address, not a bind
        ("broadcast.test", ["255.255.255.255"], [], "not a unicast address"),
        ("multicast.test", ["224.0.0.1"], [], "not a unicast address"),
        ("outside.test", ["10.1.2.3"], [], "outside the networks ACME validation may reach"),
        ("mixed.test", ["127.0.0.1", "10.1.2.3"], [], "outside the networks"),
    ],
)
@pytest.mark.parametrize("challenge_type", [ChallengeType.HTTP_01, ChallengeType.TLS_ALPN_01])
def test_a_name_resolving_to_a_refused_address_is_rejected_without_connecting(
    dns: ChallTestSrv,
    connections: list[tuple[str, int]],
    challenge_type: ChallengeType,
    name: str,
    a: list[str],
    aaaa: list[str],
    why: str,
) -> None:
    if a:
        dns.add_a(name, *a)
    if aaaa:
        dns.add_aaaa(name, *aaaa)
    before = len(connections)  # the management API calls above
    result = checker(acme_dns_resolver=dns.resolver).check(challenge_type, name, TOKEN, KEY_AUTHORIZATION)
    assert (result.valid, result.problem) == (False, "rejectedIdentifier")
    assert why in result.detail
    assert connections[before:] == []


def test_an_allowed_private_network_is_reached(http_site: HttpSite, dns: ChallTestSrv) -> None:
    """The allowlist is what decides: with 127.0.0.0/8 not allowed the same site is refused."""
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode())
    allowed = checker(acme_http_port=http_site.port, acme_dns_resolver=dns.resolver)
    refused = checker(
        acme_http_port=http_site.port, acme_dns_resolver=dns.resolver, acme_allowed_networks=("10.0.0.0/8",)
    )
    assert allowed.check(ChallengeType.HTTP_01, "site.test", TOKEN, KEY_AUTHORIZATION).valid
    result = refused.check(ChallengeType.HTTP_01, "site.test", TOKEN, KEY_AUTHORIZATION)
    assert (result.valid, result.problem) == (False, "rejectedIdentifier")
    assert len(http_site.hosts) == 1


def test_the_settings_default_to_the_private_networks_and_parse_the_environment() -> None:
    default = Settings.from_env(ENV)
    assert default.acme_allowed_networks == ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
    assert (default.acme_http_port, default.acme_tls_port, default.acme_dns_resolver) == (80, 443, "")
    custom = Settings.from_env(
        {
            **ENV,
            "CERTWRIGHT_ACME_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128",
            "CERTWRIGHT_ACME_HTTP_PORT": "5002",
            "CERTWRIGHT_ACME_TLS_PORT": "5001",
            "CERTWRIGHT_ACME_DNS_RESOLVER": "127.0.0.1:8053",
        }
    )
    assert custom.acme_allowed_networks == ("127.0.0.0/8", "::1/128")
    assert (custom.acme_http_port, custom.acme_tls_port, custom.acme_dns_resolver) == (5002, 5001, "127.0.0.1:8053")
    NetworkChallengeChecker(custom)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CERTWRIGHT_ACME_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-network"),
        ("CERTWRIGHT_ACME_HTTP_PORT", "0"),
        ("CERTWRIGHT_ACME_TLS_PORT", "https"),
    ],
)
def test_bad_settings_stop_the_start(variable: str, value: str) -> None:
    with pytest.raises(RuntimeError, match=variable):
        Settings.from_env({**ENV, variable: value})


@pytest.mark.parametrize("resolver", ["resolver.internal", "127.0.0.1:99999"])
def test_a_bad_resolver_setting_stops_the_start(resolver: str) -> None:
    with pytest.raises(RuntimeError, match="CERTWRIGHT_ACME_DNS_RESOLVER"):
        checker(acme_dns_resolver=resolver)


def test_the_connection_goes_to_the_checked_address_and_the_name_is_not_resolved_again(
    http_site: HttpSite, dns: ChallTestSrv, connections: list[tuple[str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once (here by the configured resolver); the HTTP client connects to that
    address and never asks the system resolver, which would be free to answer something else."""
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode())

    system = socket.getaddrinfo

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Any:
        ipaddress.ip_address(host)  # an address literal is fine (create_connection passes it through); a name is not
        return system(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    result = checker(acme_http_port=http_site.port, acme_dns_resolver=dns.resolver).check(
        ChallengeType.HTTP_01, "rebind.test", TOKEN, KEY_AUTHORIZATION
    )
    assert result.valid, result
    assert connections == [("127.0.0.1", http_site.port)]
    assert http_site.hosts == [f"rebind.test:{http_site.port}"]


def test_a_redirect_to_https_is_checked_against_the_policy_like_the_first_hop(
    http_site: HttpSite, dns: ChallTestSrv, connections: list[tuple[str, int]]
) -> None:
    dns.add_a("private-elsewhere.test", "10.9.8.7")
    http_site.redirect(challenge_path(), "https://private-elsewhere.test/.well-known/acme-challenge/x")
    before = len(connections)
    result = checker(acme_http_port=http_site.port, acme_dns_resolver=dns.resolver).check(
        ChallengeType.HTTP_01, "hop.test", TOKEN, KEY_AUTHORIZATION
    )
    assert (result.valid, result.problem) == (False, "connection")
    assert "10.9.8.7, which is outside the networks ACME validation may reach" in result.detail
    assert connections[before:] == [("127.0.0.1", http_site.port)]


def test_the_adapter_loads_without_dnspython_until_a_dns_question_is_asked() -> None:
    """The layer has no dnspython: importing the adapter (and checking http-01 on the system resolver) must not
    need it; only the validator function, which carries it, asks DNS questions."""
    code = (
        "import sys, certwright.adapters.acme_challenges\n"
        "assert not [m for m in sys.modules if m == 'dns' or m.startswith('dns.')], 'dnspython loaded at import'\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
