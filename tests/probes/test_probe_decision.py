"""The pure probe decision (x509.endpoint_checks.probe_findings), endpoint parsing, and the outbox's once-per-change
translation of a recorded probe into EndpointUnhealthy / EndpointHealthy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.association import DeploymentState, Endpoint, Probe, ProbeFinding, parse_endpoint
from certwright.errors import InvalidInputError
from certwright.events import EndpointHealthy, EndpointUnhealthy
from certwright.outbox import AssociationRow, events_for
from certwright.x509.endpoint_checks import (
    Handshake,
    Observation,
    ProbeExpectation,
    Severity,
    healthy,
    probe_findings,
)

from tests.contract.builders import association
from tests.diagnose.servers import DAY, HOST, NOW, Issued, issue

ROOT = issue("Probe Root", ca=True)
ISSUING = issue("Probe Issuing", ROOT, ca=True)
V1 = issue(HOST, ISSUING, sans=[HOST])
V2 = issue(HOST, ISSUING, sans=[HOST])


def seen(leaf: Issued, *chain: Issued) -> Observation:
    served = (leaf.certificate, *(c.certificate for c in chain))
    return Observation("127.0.0.1", 8443, HOST, Handshake(served, "TLSv1.3", "TLS_AES_128_GCM_SHA256"))


def expect(*, current: int = 2, verified: bool = True) -> ProbeExpectation:
    return ProbeExpectation(
        "cert-probe",
        "web",
        current,
        {f"{V1.certificate.serial_number:x}": 1, f"{V2.certificate.serial_number:x}": 2},
        verified,
        (ISSUING.certificate, ROOT.certificate),
    )


def errors(observation: Observation | None, expectation: ProbeExpectation, failure: str | None = None) -> list[str]:
    findings = probe_findings(observation, failure, expectation, NOW)
    assert healthy(findings) == (not any(f.severity is Severity.ERROR for f in findings))
    return [f.code for f in findings if f.severity is Severity.ERROR]


def test_the_current_version_with_its_chain_is_healthy() -> None:
    findings = probe_findings(seen(V2, ISSUING), None, expect(), NOW)
    assert healthy(findings)
    assert [f.code for f in findings] == ["CERTWRIGHT_CERTIFICATE"]


def test_an_older_version_after_a_verified_deployment_is_drift() -> None:
    assert errors(seen(V1, ISSUING), expect()) == ["DEPLOYMENT_DRIFT"]


def test_an_older_version_before_the_deployment_is_verified_is_no_drift_yet() -> None:
    assert errors(seen(V1, ISSUING), expect(verified=False)) == []


def test_a_certificate_that_is_no_version_of_ours_is_unexpected_once_deployed() -> None:
    stranger = issue(HOST, ISSUING, sans=[HOST])
    assert errors(seen(stranger, ISSUING), expect()) == ["UNEXPECTED_CERTIFICATE"]
    assert errors(seen(stranger, ISSUING), expect(verified=False)) == []


def test_an_expired_leaf_is_unhealthy() -> None:
    old = issue(HOST, ISSUING, sans=[HOST], not_before=NOW - 100 * DAY, not_after=NOW - DAY)
    expectation = ProbeExpectation(
        "cert-probe", "web", 1, {f"{old.certificate.serial_number:x}": 1}, True, expect().chain
    )
    assert errors(seen(old, ISSUING), expectation) == ["EXPIRED"]


def test_a_leaf_expiring_within_seven_days_is_unhealthy_within_thirty_a_warning() -> None:
    soon = issue(HOST, ISSUING, sans=[HOST], not_after=NOW + timedelta(days=3))
    serials = {f"{soon.certificate.serial_number:x}": 1}
    expectation = ProbeExpectation("cert-probe", "web", 1, serials, True, expect().chain)
    assert errors(seen(soon, ISSUING), expectation) == ["EXPIRING"]
    later = issue(HOST, ISSUING, sans=[HOST], not_after=NOW + timedelta(days=20))
    expectation = ProbeExpectation(
        "cert-probe", "web", 1, {f"{later.certificate.serial_number:x}": 1}, True, expect().chain
    )
    assert errors(seen(later, ISSUING), expectation) == []


def test_a_broken_chain_is_unhealthy_and_names_what_is_missing() -> None:
    findings = probe_findings(seen(V2), None, expect(), NOW)  # the leaf only: the intermediate is not served
    (broken,) = [f for f in findings if f.severity is Severity.ERROR]
    assert broken.code == "INCOMPLETE_CHAIN"
    assert "Certwright certificate cert-probe" in broken.summary


def test_a_chain_to_another_root_is_unhealthy() -> None:
    other_root = issue("Other Root", ca=True)
    other = issue(HOST, other_root, sans=[HOST])
    assert errors(seen(other, other_root), expect(verified=False)) == ["UNTRUSTED"]


def test_a_failed_handshake_is_unhealthy() -> None:
    findings = probe_findings(None, "cannot connect to 127.0.0.1:1: Connection refused", expect(), NOW)
    assert [f.code for f in findings] == ["HANDSHAKE_FAILED"]
    assert "Connection refused" in findings[0].summary
    assert not healthy(findings)


# -- the endpoint an association names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "server_name", "host", "port", "name"),
    [
        ("www.example.com:443", None, "www.example.com", 443, "www.example.com"),
        ("10.0.0.7:8443", "internal.example.com", "10.0.0.7", 8443, "internal.example.com"),
        ("[2001:db8::1]:443", "v6.example.com", "2001:db8::1", 443, "v6.example.com"),
        ("WWW.Example.COM:1", "API.example.com", "www.example.com", 1, "api.example.com"),
    ],
)
def test_an_endpoint_is_host_and_port(address: str, server_name: str | None, host: str, port: int, name: str) -> None:
    endpoint = parse_endpoint(address, server_name)
    assert (endpoint.host, endpoint.port, endpoint.name) == (host, port, name)


@pytest.mark.parametrize(
    ("address", "server_name"),
    [
        ("www.example.com", None),
        ("www.example.com:0", None),
        ("www.example.com:65536", None),
        ("www.example.com:http", None),
        (":443", None),
        ("bad_host!:443", None),
        ("[not-v6]:443", None),
        ("[2001:db8::1]443", None),
        ("www.example.com:443", "*.example.com"),
        ("www.example.com:443", "nodots"),
        ("www.example.com:٤٤٣", None),
    ],
)
def test_anything_else_is_refused_with_invalid_endpoint(address: str, server_name: str | None) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_endpoint(address, server_name)
    assert refused.value.code == "InvalidEndpoint"


# -- once per change --------------------------------------------------------------------------------------------


def _image(probe: Probe | None, version: int) -> AssociationRow:
    """The association row as the stream hands it to the outbox (decoded by the codec): a deployed listener
    association with an endpoint, and its last probe."""
    base = association()
    deployed = replace(base.deployment, state=DeploymentState.DEPLOYED, deployed_version=2)
    return AssociationRow(
        replace(base, deployment=deployed, endpoint=Endpoint("10.0.0.7", 443), probe=probe), row_version=version
    )


def _probe(is_healthy: bool, code: str = "DEPLOYMENT_DRIFT") -> Probe:
    findings = () if is_healthy else (ProbeFinding(code, "error", "serving v1, CURRENT is v2"),)
    return Probe(
        checked_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
        served_serial="ab",
        healthy=is_healthy,
        findings=findings,
        expected_serial="cd",
    )


def test_a_change_of_health_is_an_event_and_an_unchanged_one_is_none() -> None:
    (unhealthy,) = events_for("r1", _image(None, 3), _image(_probe(False), 4))
    assert isinstance(unhealthy, EndpointUnhealthy)
    assert (unhealthy.endpoint, unhealthy.served_serial, unhealthy.expected_serial) == ("10.0.0.7:443", "ab", "cd")
    assert unhealthy.findings == ("DEPLOYMENT_DRIFT: serving v1, CURRENT is v2",)
    # Probed again, still unhealthy (even with other findings): nothing new to tell.
    assert events_for("r2", _image(_probe(False), 4), _image(_probe(False, "EXPIRED"), 5)) == []
    (recovered,) = events_for("r3", _image(_probe(False), 5), _image(_probe(True), 6))
    assert isinstance(recovered, EndpointHealthy) and recovered.served_serial == "ab"
    assert events_for("r4", _image(_probe(True), 6), _image(_probe(True), 7)) == []
    # Healthy from the first probe: nothing recovered, nothing said.
    assert events_for("r5", _image(None, 1), _image(_probe(True), 2)) == []


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254:80", "[fd00:ec2::254]:80", "169.254.10.1:443", "[fe80::1]:443", "0.0.0.0:443", "224.0.0.1:443"],
)
def test_metadata_link_local_and_non_unicast_endpoints_are_refused(address: str) -> None:
    """The prober runs in the account's VPC: it must not be pointed at the instance-metadata service (SSRF)."""
    with pytest.raises(InvalidInputError) as refused:
        parse_endpoint(address)
    assert refused.value.code == "InvalidEndpoint"


@pytest.mark.parametrize("address", ["10.0.0.7:443", "127.0.0.1:8443", "[::1]:443", "[2001:db8::7]:443"])
def test_private_and_loopback_endpoints_are_probed(address: str) -> None:
    assert parse_endpoint(address).port in (443, 8443)


def test_a_name_that_resolves_to_the_metadata_address_is_not_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from certwright.adapters.tls_endpoint import TlsEndpoint

    def resolve(host: str, port: int, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the prober connected to a refused address")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(socket, "create_connection", never)
    reason = TlsEndpoint(timeout=1).observe("innocent.example.com", 443, "innocent.example.com")
    assert isinstance(reason, str) and "instance-metadata" in reason
