"""http-01 against a real http.server on 127.0.0.1: the key authorization served, wrong, too big, redirected
(followed, looping, to a metadata address), and a slow server cut at the time cap."""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest
from certwright.adapters.acme_challenges import MAX_BODY, MAX_REDIRECTS
from certwright.ports.acme_challenges import ChallengeResult, ChallengeType

from tests.acme_challenges.conftest import KEY_AUTHORIZATION, TOKEN, HttpSite, challenge_path, checker
from tests.acme_tools import ChallTestSrv

NAME = "www.example.test"


def check(site: HttpSite, dns: ChallTestSrv, name: str = NAME, **overrides: object) -> ChallengeResult:
    settings = {"acme_http_port": site.port, "acme_dns_resolver": dns.resolver, **overrides}
    return checker(**settings).check(ChallengeType.HTTP_01, name, TOKEN, KEY_AUTHORIZATION)


def test_the_key_authorization_served_validates_with_trailing_whitespace_ignored(
    http_site: HttpSite, dns: ChallTestSrv
) -> None:
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode() + b"\r\n")
    assert check(http_site, dns) == ChallengeResult(valid=True)
    assert http_site.hosts == [f"{NAME}:{http_site.port}"]


def test_the_system_resolver_is_used_when_none_is_configured(http_site: HttpSite) -> None:
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode())
    result = checker(acme_http_port=http_site.port).check(ChallengeType.HTTP_01, "localhost", TOKEN, KEY_AUTHORIZATION)
    assert result == ChallengeResult(valid=True)


def test_a_wrong_body_is_an_incorrect_response_that_does_not_echo_the_key_authorization(
    http_site: HttpSite, dns: ChallTestSrv
) -> None:
    http_site.serve(challenge_path(), TOKEN.encode() + b".someone-elses-thumbprint")
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "incorrectResponse")
    assert TOKEN in result.detail
    assert KEY_AUTHORIZATION not in result.detail


def test_a_missing_file_is_unauthorized(http_site: HttpSite, dns: ChallTestSrv) -> None:
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "unauthorized")
    assert "404" in result.detail


def test_a_body_over_the_cap_is_refused(http_site: HttpSite, dns: ChallTestSrv) -> None:
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode() + b" " * MAX_BODY)
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "incorrectResponse")
    assert f"larger than {MAX_BODY} bytes" in result.detail


def test_a_redirect_on_the_same_site_is_followed(http_site: HttpSite, dns: ChallTestSrv) -> None:
    http_site.redirect(challenge_path(), "/elsewhere/key")
    http_site.serve("/elsewhere/key", KEY_AUTHORIZATION.encode())
    assert check(http_site, dns).valid
    assert len(http_site.hosts) == 2


def test_a_redirect_loop_stops_after_the_maximum(http_site: HttpSite, dns: ChallTestSrv) -> None:
    http_site.redirect(challenge_path(), challenge_path())
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "connection")
    assert f"more than {MAX_REDIRECTS} redirects" in result.detail
    assert len(http_site.hosts) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "location",
    ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/", "http://meta.test/x"],
)
def test_a_redirect_to_the_metadata_service_is_refused_without_connecting(
    http_site: HttpSite, dns: ChallTestSrv, connections: list[tuple[str, int]], location: str
) -> None:
    dns.add_a("meta.test", "169.254.169.254")
    http_site.redirect(challenge_path(), location)
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "connection")
    assert "refused redirect" in result.detail or "instance-metadata" in result.detail
    assert [c for c in connections if c[1] != dns.management_port] == [("127.0.0.1", http_site.port)]


def test_a_redirect_to_another_port_is_refused(http_site: HttpSite, dns: ChallTestSrv) -> None:
    http_site.redirect(challenge_path(), f"http://{NAME}:8081/x")
    result = check(http_site, dns)
    assert (result.valid, result.problem) == (False, "connection")
    assert "only http on port 80 or https on 443" in result.detail


def test_a_slow_server_is_cut_at_the_time_cap(http_site: HttpSite, dns: ChallTestSrv) -> None:
    release = threading.Event()

    def stall(handler: BaseHTTPRequestHandler) -> None:
        release.wait(10)

    http_site.routes[challenge_path()] = stall
    started = time.monotonic()
    try:
        result = check(http_site, dns, acme_validation_timeout_seconds=0.5)
    finally:
        release.set()
    assert (result.valid, result.problem) == (False, "connection")
    assert time.monotonic() - started < 5  # the server would have stalled for 10 s


def test_a_server_trickling_its_body_is_cut_at_the_time_cap(http_site: HttpSite, dns: ChallTestSrv) -> None:
    stop = threading.Event()

    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(KEY_AUTHORIZATION)))
        handler.end_headers()
        for char in KEY_AUTHORIZATION.encode():  # one byte every 0.2 s: ~17 s in all, each read under 1 s
            if stop.wait(0.2):
                return
            handler.wfile.write(bytes([char]))
            handler.wfile.flush()

    http_site.routes[challenge_path()] = trickle
    started = time.monotonic()
    try:
        result = check(http_site, dns, acme_validation_timeout_seconds=1.0)
    finally:
        stop.set()
    assert (result.valid, result.problem) == (False, "connection")
    assert time.monotonic() - started < 8


def test_a_connection_refused_is_a_connection_problem(dns: ChallTestSrv) -> None:
    from tests.acme_tools import free_port

    result = checker(acme_http_port=free_port(), acme_dns_resolver=dns.resolver).check(
        ChallengeType.HTTP_01, NAME, TOKEN, KEY_AUTHORIZATION
    )
    assert (result.valid, result.problem) == (False, "connection")


@pytest.mark.parametrize(
    ("identifier", "token", "key_authorization"),
    [
        ("192.0.2.1", TOKEN, KEY_AUTHORIZATION),
        ("*.example.test", TOKEN, KEY_AUTHORIZATION),
        ("bad_name.example.test", TOKEN, KEY_AUTHORIZATION),
        (NAME, "../../etc/passwd", "../../etc/passwd.x"),
        (NAME, TOKEN, "other-token.thumbprint"),
    ],
)
def test_malformed_input_is_refused_without_connecting(
    connections: list[tuple[str, int]], identifier: str, token: str, key_authorization: str
) -> None:
    result = checker().check(ChallengeType.HTTP_01, identifier, token, key_authorization)
    assert (result.valid, result.problem) == (False, "malformed")
    assert connections == []


def test_the_log_names_the_token_but_never_the_key_authorization(
    http_site: HttpSite, dns: ChallTestSrv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    http_site.serve(challenge_path(), b"not it")
    check(http_site, dns)
    http_site.serve(challenge_path(), KEY_AUTHORIZATION.encode())
    check(http_site, dns)
    checked = [r for r in caplog.records if r.getMessage() == "ACME challenge checked"]
    assert [(vars(r)["token"], vars(r)["valid"]) for r in checked] == [(TOKEN, False), (TOKEN, True)]
    logged = " ".join(str(vars(r)) for r in caplog.records)
    assert KEY_AUTHORIZATION not in logged
    assert KEY_AUTHORIZATION.split(".")[1] not in logged  # nor the account key's thumbprint
