"""Find by what you see, and diagnose naming the Certwright certificate, version, association and drift.

Through the real wiring: the local runtime's HTTP API (template, gateway, Lambda handlers, embedded AWS).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from certwright_client.cli import main
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.runtime import LocalRuntime
from tests.diagnose.servers import HOST, tls_server

OUTSIDER = "arn:aws:iam::123456789012:role/someone-else"
HOST_ROLE = "arn:aws:iam::123456789012:role/diagnose-host"


class Cli:
    def __init__(self, api_url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.api_url, self.capsys = api_url, capsys

    def __call__(self, *argv: str, caller: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        extra = ["--caller", caller] if caller else []
        code = main(["--api", self.api_url, *extra, *argv])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def ok(self, *argv: str) -> Any:
        code, out, err = self(*argv)
        assert (code, err) == (0, ""), (out, err)
        return json.loads(out)


@pytest.fixture
def cli(runtime: LocalRuntime, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(runtime.api_url, capsys)


def _csr(directory: Path, key: ec.EllipticCurvePrivateKey, name: str) -> Path:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(HOST)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    path = directory / name
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    return path


def _make(cli: Cli, directory: Path) -> dict[str, Any]:
    root = cli.ok("ca", "create", "--name", "diag-root", "--cn", "Diagnose Root")
    issuing = cli.ok(
        "ca",
        "create",
        "--name",
        "diag-issuing",
        "--issuer",
        root["id"],
        "--cn",
        "Diagnose Issuing",
        "--validity",
        "P5Y",
    )
    bundle = cli.ok("ca-bundle", "create", "--name", "diag-trust", "--ca", root["id"], "--no-chain")
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = cli.ok(
        "cert",
        "create",
        "--name",
        "diag-web",
        "--issuer",
        issuing["id"],
        "--csr",
        str(_csr(directory, key, "v1.csr")),
        "--validity",
        "P90D",
    )
    v1 = cli.ok("cert", "bundle", certificate["id"], "--version", "1")
    cli.ok("cert", "renew", certificate["id"], "--csr", str(_csr(directory, key, "v2.csr")))
    v2 = cli.ok("cert", "bundle", certificate["id"], "--version", "2")
    association = cli.ok("assoc", "create", "--cert", certificate["id"], "--resource", HOST_ROLE)
    key_file = directory / "key.pem"
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return {
        "certificate": certificate,
        "bundle": bundle,
        "association": association,
        "v1": v1,
        "v2": v2,
        "key": key_file,
    }


def _serve(directory: Path, version: dict[str, Any], key: Path, *, chain: bool = True) -> Any:
    import ssl

    pem = directory / f"served-{version['versionNumber']}-{chain}.pem"
    pem.write_text(version["certificatePem"] + (version["certChainPem"] if chain else ""))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem, key)
    return tls_server(context)


def _diagnose(cli: Cli, port: int, bundle_id: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = cli(
        "diagnose", f"127.0.0.1:{port}", "--servername", HOST, "--ca-bundle", bundle_id, "--output", "json", *extra
    )
    assert out, err
    return code, json.loads(out)


def test_find_by_serial_and_fingerprint_and_drift(cli: Cli, tmp_path: Path) -> None:
    made = _make(cli, tmp_path)
    certificate_id, v1, v2 = made["certificate"]["id"], made["v1"], made["v2"]
    v2_created = cli.ok("cert", "get", certificate_id)["currentVersion"]["timeCreated"]

    # Find by what you see: the serial as openssl prints it (upper case), and the SHA-256 fingerprint with colons.
    found = cli.ok("cert", "find", "--serial", v1["serialNumber"].upper())
    assert [c["id"] for c in found["items"]] == [certificate_id]
    der = x509.load_pem_x509_certificate(v2["certificatePem"].encode()).fingerprint(hashes.SHA256()).hex()
    colons = ":".join(der[i : i + 2] for i in range(0, len(der), 2)).upper()
    assert [c["id"] for c in cli.ok("cert", "find", "--fingerprint", colons)["items"]] == [certificate_id]
    assert cli.ok("cert", "find", "--serial", "abcdef0123")["items"] == []
    # Visible only to callers who may read it: someone else finds nothing.
    code, out, err = cli("cert", "find", "--serial", v1["serialNumber"], caller=OUTSIDER)
    assert code == 0 and json.loads(out)["items"] == [], err
    code, _, err = cli("cert", "find", "--serial", "not-hex")
    assert (code, err.split(":")[1].strip()) == (1, "InvalidLookup")

    # The endpoint still serves v1 while v2 is CURRENT: drift, naming certificate, version and association.
    with _serve(tmp_path, v1, made["key"]) as port:
        code, report = _diagnose(cli, port, made["bundle"]["id"])
    assert code == 1
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [f["code"] for f in errors] == ["DEPLOYMENT_DRIFT"]
    since = datetime.fromisoformat(v2_created).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert errors[0]["summary"] == f"serving v1, CURRENT is v2 since {since}: deployment drift"
    named = next(f for f in report["findings"] if f["code"] == "CERTWRIGHT_CERTIFICATE")
    assert named["details"]["certificateId"] == certificate_id
    assert named["details"]["versionNumber"] == 1
    assert [a["id"] for a in named["details"]["associations"]] == [made["association"]["id"]]
    assert report["trustStore"]["label"].startswith(f"Certwright CA bundle {made['bundle']['id']} v")

    # v2 served with its chain: healthy, and still named.
    with _serve(tmp_path, v2, made["key"]) as port:
        code, report = _diagnose(cli, port, made["bundle"]["id"])
    assert code == 0, report["findings"]
    assert [f["code"] for f in report["findings"]] == ["CERTWRIGHT_CERTIFICATE"]

    # v2 without its intermediate: the missing certificate is found from Certwright (and its caIssuers URL).
    with _serve(tmp_path, v2, made["key"], chain=False) as port:
        code, report = _diagnose(cli, port, made["bundle"]["id"])
    incomplete = [f for f in report["findings"] if f["severity"] == "error"]
    assert code == 1 and [f["code"] for f in incomplete] == ["INCOMPLETE_CHAIN"]
    through = incomplete[0]["details"]["foundThrough"]
    assert f"Certwright certificate {certificate_id}" in through
    assert any(source.startswith("the caIssuers URL http://127.0.0.1:") for source in through), through
