"""`certwright diagnose` against local TLS servers, each with exactly one thing wrong (and one healthy)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from certwright_client.cli import main

from tests.diagnose.servers import DAY, HOST, NOW, Issued, crl, http_files, issue, server_context, tls_server

EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_COULD_NOT_CHECK = 0, 1, 4


@pytest.fixture(scope="module")
def pki() -> tuple[Issued, Issued]:
    root = issue("Diagnose Test Root", ca=True)
    return root, issue("Diagnose Test Issuing CA", root, ca=True)


@pytest.fixture
def ca_file(tmp_path: Path, pki: tuple[Issued, Issued]) -> Path:
    path = tmp_path / "root.pem"
    path.write_bytes(pki[0].pem)
    return path


def diagnose(port: int, ca_file: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "diagnose",
            f"127.0.0.1:{port}",
            "--servername",
            HOST,
            "--ca-file",
            str(ca_file),
            "--output",
            "json",
            "--no-lookup",
            *extra,
        ]
    )
    captured = capsys.readouterr()
    assert captured.out, captured.err
    return code, json.loads(captured.out)


def errors(report: dict[str, Any]) -> set[str]:
    return {f["code"] for f in report["findings"] if f["severity"] == "error"}


def test_healthy(tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issuing = pki[1]
    leaf = issue(HOST, issuing)
    with tls_server(server_context(tmp_path, leaf, [issuing])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, report["healthy"], report["findings"]) == (EXIT_HEALTHY, True, [])
    assert [c["serialNumber"] for c in report["served"]["chain"]] == [
        f"{leaf.certificate.serial_number:x}",
        f"{issuing.certificate.serial_number:x}",
    ]


def test_healthy_as_text(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue(HOST, pki[1])
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code = main(["diagnose", f"127.0.0.1:{port}", "--servername", HOST, "--ca-file", str(ca_file), "--no-lookup"])
    out = capsys.readouterr().out
    assert code == EXIT_HEALTHY
    assert "verdict: HEALTHY (0 error(s), 0 warning(s))" in out
    assert f"names {HOST}" in out


def test_expired(tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaf = issue(HOST, pki[1], not_before=NOW - 90 * DAY, not_after=NOW - DAY)
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"EXPIRED"})
    finding = report["findings"][0]
    assert finding["summary"].startswith("certificate has expired")
    assert "renewal not configured or failed" in finding["cause"]


def test_expiring_within_30_days_is_a_warning_and_still_healthy(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue(HOST, pki[1], not_after=NOW + 20 * DAY)
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert code == EXIT_HEALTHY
    assert [(f["code"], f["severity"]) for f in report["findings"]] == [("EXPIRING", "warning")]


def test_expiring_within_7_days_is_unhealthy(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue(HOST, pki[1], not_after=NOW + 3 * DAY)
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"EXPIRING"})


def test_not_yet_valid_shows_both_clocks(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue(HOST, pki[1], not_before=NOW + DAY)
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"NOT_YET_VALID"})
    details = report["findings"][0]["details"]
    assert details["notBefore"] == (NOW + DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert details["localClock"] <= details["notBefore"]
    assert "Clock skew" in report["findings"][0]["cause"]


def test_leaf_only_names_where_the_intermediate_is(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, bytes] = {"/issuing.der": pki[1].der}
    with http_files(files) as base:
        leaf = issue(HOST, pki[1], ca_issuers_url=f"{base}/issuing.der")
        with tls_server(server_context(tmp_path, leaf)) as port:
            code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"INCOMPLETE_CHAIN"})
    finding = report["findings"][0]
    assert finding["summary"].startswith("unable to verify the first certificate")
    assert finding["details"]["foundThrough"] == [f"the caIssuers URL {base}/issuing.der"]
    assert "never just the leaf" in finding["fix"]


def test_leaf_only_without_any_source_of_the_intermediate(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue(HOST, pki[1])
    with tls_server(server_context(tmp_path, leaf)) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"INCOMPLETE_CHAIN"})
    assert report["findings"][0]["details"]["missingIssuer"] == "CN=Diagnose Test Issuing CA"


def test_wrong_san_spells_out_the_wildcard_rules(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # *.example.test covers one label only: not a.b.example.test.
    leaf = issue("wild", pki[1], sans=["*.example.test"])
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys, "--servername", "a.www.example.test")
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"NAME_MISMATCH"})
    finding = report["findings"][0]
    assert finding["details"]["dnsNames"] == ["*.example.test"]
    assert "not a.b.example.com" in finding["details"]["wildcardRules"]
    assert "wrong SAN or wildcard does not match subdomain" in finding["cause"]


def test_wildcard_covering_one_label_is_healthy(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaf = issue("wild", pki[1], sans=["*.example.test"])
    with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, report["findings"]) == (EXIT_HEALTHY, [])


def test_self_signed(tmp_path: Path, ca_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leaf = issue(HOST)
    with tls_server(server_context(tmp_path, leaf)) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"SELF_SIGNED"})
    assert "self-signed cert not trusted" in report["findings"][0]["cause"]


def test_private_ca_not_in_the_trust_store(
    tmp_path: Path, pki: tuple[Issued, Issued], capsys: pytest.CaptureFixture[str]
) -> None:
    other_root = tmp_path / "other.pem"
    other_root.write_bytes(issue("Some Other Root", ca=True).pem)
    leaf = issue(HOST, pki[1])
    with tls_server(server_context(tmp_path, leaf, [pki[1], pki[0]])) as port:
        code, report = diagnose(port, other_root, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"UNTRUSTED"})
    assert report["findings"][0]["details"]["trustStore"] == f"--ca-file {other_root}"


def test_revoked_by_the_crl_served_locally(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, bytes] = {}
    with http_files(files) as base:
        leaf = issue(HOST, pki[1], crl_url=f"{base}/issuing.crl")
        files["/issuing.crl"] = crl(pki[1], [leaf.certificate])
        with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
            code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"REVOKED"})
    assert report["findings"][0]["details"]["reason"] == "keyCompromise"


def test_not_revoked_when_the_crl_does_not_list_it(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files: dict[str, bytes] = {}
    with http_files(files) as base:
        leaf = issue(HOST, pki[1], crl_url=f"{base}/issuing.crl")
        files["/issuing.crl"] = crl(pki[1], [issue("other", pki[1]).certificate])
        with tls_server(server_context(tmp_path, leaf, [pki[1]])) as port:
            code, report = diagnose(port, ca_file, capsys)
    assert (code, report["findings"]) == (EXIT_HEALTHY, [])


def test_sni_mismatch(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without SNI the right certificate; with SNI for HOST the server picks another one.
    right = server_context(tmp_path, issue(HOST, pki[1]), [pki[1]])
    wrong = server_context(tmp_path, issue("other.example.test", pki[1]), [pki[1]])
    with tls_server(right, {HOST: wrong}) as port:
        code, report = diagnose(port, ca_file, capsys)
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"SNI_MISMATCH"})
    assert "SNI is not configured correctly" in report["findings"][0]["cause"]


def test_weak_protocol(
    tmp_path: Path, pki: tuple[Issued, Issued], ca_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    context = server_context(tmp_path, issue(HOST, pki[1]), [pki[1]], version=ssl.TLSVersion.TLSv1_1)
    with tls_server(context) as port:
        try:
            code, report = diagnose(port, ca_file, capsys)
        except json.JSONDecodeError:
            pytest.skip("the local OpenSSL refuses TLS 1.1 even at security level 0")
    if code == EXIT_COULD_NOT_CHECK:
        pytest.skip("the local OpenSSL refuses TLS 1.1 even at security level 0")
    assert (code, errors(report)) == (EXIT_UNHEALTHY, {"WEAK_PROTOCOL"})
    assert report["findings"][0]["details"]["accepted"] == ["TLSv1.1"]


def test_nothing_listening_could_not_check(ca_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with tls_server(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)) as port:
        pass  # the port is free again
    code = main(["diagnose", f"127.0.0.1:{port}", "--ca-file", str(ca_file), "--no-lookup"])
    assert code == EXIT_COULD_NOT_CHECK
    assert capsys.readouterr().err.startswith("error: CouldNotCheck: cannot connect to 127.0.0.1:")


def test_bad_target_is_a_usage_error(ca_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagnose", "host:99999", "--ca-file", str(ca_file)]) == 2
    assert "is not HOST[:PORT]" in capsys.readouterr().err
