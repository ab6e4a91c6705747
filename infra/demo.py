"""`make demo`: the core story on the embedded AWS, each step checked with real tools; exits non-zero if one fails.

A root and a subordinate CA whose keys live in (embedded) KMS; one certificate of each kind, each verified
with `openssl verify`; a renewal; an association that scopes who may read the private key; a real TLS
handshake with the issued chain; and the refusals a platform team relies on.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from certwright.api.app import handle
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.api_events import LOCAL_ADMIN, api_event
from infra.embedded_aws import embedded_aws

HOST_ROLE = "arn:aws:iam::123456789012:role/payments-web"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/payments-web/i-0demo"
BOLD, GREEN, RED, DIM, RESET = (
    ("\033[1m", "\033[32m", "\033[31m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("",) * 5
)


class Story:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.failures: list[str] = []
        self.summary: list[tuple[str, str]] = []

    def chapter(self, title: str) -> None:
        print(f"\n{BOLD}== {title}{RESET}")

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        mark = f"{GREEN}ok{RESET}" if ok else f"{RED}FAILED{RESET}"
        print(f"  [{mark}] {what}" + (f" {DIM}({detail}){RESET}" if detail else ""))
        if not ok:
            self.failures.append(what)
        return ok

    def call(self, method: str, path: str, body: Any = None, caller: str = LOCAL_ADMIN) -> tuple[int, Any]:
        answer = handle(api_event(method, path, body, caller=caller), None)
        text = answer.get("body") or ""
        print(f"  {DIM}{method} {path} -> {answer['statusCode']}{RESET}")
        return answer["statusCode"], json.loads(text) if text else None

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def openssl_verify(self, what: str, root: Path, leaf: Path, *extra: str, untrusted: Path | None = None) -> bool:
        command = ["openssl", "verify", "-x509_strict", *extra, "-CAfile", str(root)]
        if untrusted is not None:
            command += ["-untrusted", str(untrusted)]
        result = subprocess.run([*command, str(leaf)], capture_output=True, text=True, check=False)
        return self.check(what, result.returncode == 0, (result.stdout + result.stderr).strip().splitlines()[-1])


def customer_csr(common_name: str) -> tuple[str, str]:
    """What a customer does on their own host: make a key that never leaves it, and a CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def third_party_certificate(common_name: str) -> tuple[str, str, str]:
    """A certificate from someone else's CA, to import: (root PEM, leaf PEM, leaf key PEM)."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Third-Party Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return root.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), key_pem


def tls_handshake(chain: Path, key: Path, root: Path, hostname: str) -> tuple[bool, str]:
    """Serve the chain on 127.0.0.1 and connect as a client that trusts only the root."""
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(chain, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    port = listener.getsockname()[1]

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                tls.recv(1)
        except (OSError, ssl.SSLError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client_context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            client_context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True) or b"")
            tls.sendall(b"x")
            return True, f"{tls.version()}, peer serial {peer.serial_number:x}"
    except (OSError, ssl.SSLError) as err:
        return False, str(err)
    finally:
        thread.join(timeout=10)
        listener.close()


def run(story: Story) -> None:
    story.chapter("1. A CA hierarchy whose keys never leave KMS")
    status, root = story.call(
        "POST",
        "/certificate-authorities",
        {
            "name": "acme-root",
            "configType": "ROOT_CA_GENERATED_INTERNALLY",
            "subject": {"commonName": "Acme Root CA", "organization": "Acme", "country": "US"},
            "keyAlgorithm": "ECDSA_P384",
            "validityDuration": "P10Y",
            "rules": {"pathLengthConstraint": 1, "certificateAuthorityMaxValidityDuration": "P5Y"},
        },
    )
    story.check(
        "root CA created, self-signed through KMS Sign", status == 201, root.get("kmsKeyId", "") if root else ""
    )
    status, issuing = story.call(
        "POST",
        "/certificate-authorities",
        {
            "name": "acme-issuing",
            "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": root["id"],
            "subject": {"commonName": "Acme Issuing CA", "organization": "Acme", "country": "US"},
            "keyAlgorithm": "ECDSA_P256",
            "validityDuration": "P3Y",
            "rules": {
                "leafCertificateMaxValidityDuration": "P398D",
                "nameConstraint": {"permittedDnsSubtrees": ["acme.example"]},
            },
        },
    )
    story.check("subordinate CA signed by the root", status == 201, "name constraint: acme.example")
    _, bundle = story.call("GET", f"/certificate-authorities/{issuing['id']}/bundle")
    root_pem = story.write("root.pem", root_pem_of(bundle))
    issuing_pem = story.write("issuing.pem", bundle["certificatePem"])
    story.openssl_verify("openssl verifies the subordinate under the root", root_pem, issuing_pem)
    story.summary.append(("root CA", f"{root['id']}  serial {root['currentVersion']['serialNumber']}"))
    story.summary.append(("issuing CA", f"{issuing['id']}  serial {issuing['currentVersion']['serialNumber']}"))

    story.chapter("2. Three kinds of certificate, each verified by openssl")
    status, web = story.call(
        "POST",
        "/certificates",
        {
            "name": "payments-web",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "pay.acme.example", "organization": "Acme"},
            "subjectAlternativeNames": [{"type": "DNS", "value": "pay.acme.example"}],
            "keyAlgorithm": "ECDSA_P256",
            "validityDuration": "P30D",
            "renewalRule": {"renewalInterval": "P20D", "advanceRenewalPeriod": "P7D"},
        },
    )
    story.check(
        "service-generated key (ISSUED_BY_INTERNAL_CA)", status == 201, f"next renewal {web.get('nextRenewalAt')}"
    )
    _, web_bundle = story.call("GET", f"/certificates/{web['id']}/bundle")
    story.openssl_verify(
        "openssl: TLS server, hostname pay.acme.example",
        root_pem,
        story.write("web.pem", web_bundle["certificatePem"]),
        "-purpose",
        "sslserver",
        "-verify_hostname",
        "pay.acme.example",
        untrusted=issuing_pem,
    )

    csr_pem, _customer_key = customer_csr("ledger.acme.example")
    status, ledger = story.call(
        "POST",
        "/certificates",
        {
            "name": "ledger-client",
            "configType": "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_CLIENT",
            "csrPem": csr_pem,
            "validityDuration": "P90D",
        },
    )
    story.check("customer CSR (MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA); key stays with the customer", status == 201)
    _, ledger_bundle = story.call("GET", f"/certificates/{ledger['id']}/bundle")
    story.openssl_verify(
        "openssl: TLS client",
        root_pem,
        story.write("ledger.pem", ledger_bundle["certificatePem"]),
        "-purpose",
        "sslclient",
        untrusted=issuing_pem,
    )

    other_root, other_leaf, other_key = third_party_certificate("legacy.partner.example")
    status, imported = story.call(
        "POST",
        "/certificates",
        {
            "name": "partner-legacy",
            "configType": "IMPORTED",
            "certificatePem": other_leaf,
            "certChainPem": other_root,
            "privateKeyPem": other_key,
        },
    )
    story.check("imported certificate + key + chain (IMPORTED): key matches, chain links", status == 201)
    _, imported_bundle = story.call("GET", f"/certificates/{imported['id']}/bundle")
    story.openssl_verify(
        "openssl: imported chain",
        story.write("partner-root.pem", other_root),
        story.write("partner.pem", imported_bundle["certificatePem"]),
    )

    story.chapter("3. Versions and stages")
    status, v2 = story.call("POST", f"/certificates/{web['id']}/versions", {})
    story.check(
        "renew now: version 2 is CURRENT with a new key",
        status == 201 and "CURRENT" in v2["stages"],
        f"serial {web['currentVersion']['serialNumber']} -> {v2['serialNumber']}",
    )
    _, versions = story.call("GET", f"/certificates/{web['id']}/versions")
    stages = {v["versionNumber"]: v["stages"] for v in versions["items"]}
    story.check("version 1 is PREVIOUS, exactly one CURRENT", stages.get(1) == ["PREVIOUS"], json.dumps(stages))

    story.chapter("4. Associations: usage, deletion guard, who may read the key")
    status, association = story.call(
        "POST",
        "/associations",
        {
            "certificateId": web["id"],
            "associatedResourceId": HOST_ROLE,
            "hostnames": ["pay.acme.example"],
        },
    )
    story.check("payments-web host role associated with the certificate", status == 201, association.get("id", ""))
    status, denied = story.call("GET", f"/certificates/{web['id']}/bundle?includePrivateKey=true")
    story.check("an admin may not read the private key (no KMS Decrypt happens)", status == 403, denied["code"])
    status, keyed = story.call("GET", f"/certificates/{web['id']}/bundle?includePrivateKey=true", caller=HOST_SESSION)
    story.check("the associated host reads it (and the read is audited)", status == 200 and "privateKeyPem" in keyed)
    status, refused = story.call("POST", f"/certificates/{web['id']}/actions/schedule-deletion", {})
    story.check("deleting a certificate in use is refused", status == 409, refused["code"])

    story.chapter("5. A real TLS client accepts the issued chain")
    chain = story.write("web-chain.pem", keyed["certificatePem"] + keyed["certChainPem"])
    key = story.write("web-key.pem", keyed["privateKeyPem"])
    key.chmod(0o600)
    ok, detail = tls_handshake(chain, key, root_pem, "pay.acme.example")
    story.check("TLS handshake on 127.0.0.1 verified against the root", ok and v2["serialNumber"] in detail, detail)

    story.chapter("6. Bad input is refused before anything is signed")
    status, outside = story.call(
        "POST",
        "/certificates",
        {
            "name": "evil",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "login.evil.example"},
        },
    )
    story.check("a name outside the CA's name constraints", status == 422, outside["code"])
    status, too_long = story.call(
        "POST",
        "/certificates",
        {
            "name": "long",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "long.acme.example"},
            "validityDuration": "P2Y",
        },
    )
    story.check("a validity beyond the CA's rule", status == 422, too_long["code"])
    status, bidi = story.call(
        "POST",
        "/certificates",
        {
            "name": "bidi",
            "configType": "ISSUED_BY_INTERNAL_CA",
            "issuerCertificateAuthorityId": issuing["id"],
            "profile": "TLS_SERVER",
            "subject": {"commonName": "pay.acme.example", "organization": "Acme\u202eevil"},
        },
    )
    story.check("a bidi override hidden in the organization", status == 400, bidi["code"])

    story.summary += [
        ("payments-web", f"{web['id']}  v1 {web['currentVersion']['serialNumber']} -> v2 {v2['serialNumber']}"),
        ("ledger-client", f"{ledger['id']}  serial {ledger['currentVersion']['serialNumber']}"),
        ("partner-legacy", f"{imported['id']}  serial {imported['currentVersion']['serialNumber']}"),
    ]


def root_pem_of(bundle: dict[str, Any]) -> str:
    chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
    return chain[-1].public_bytes(serialization.Encoding.PEM).decode()


def main(steps: Callable[[Story], None] = run) -> int:
    with tempfile.TemporaryDirectory(prefix="certwright-demo-") as workdir, embedded_aws() as aws:
        print(f"{BOLD}Certwright demo{RESET} - embedded AWS (moto) at {aws.endpoint}; files in {workdir}")
        story = Story(Path(workdir))
        try:
            steps(story)
        except (KeyError, TypeError) as err:
            story.check(f"the story stopped early: an answer lacked {err}", False)
        print(f"\n{BOLD}== What happened{RESET}")
        for label, value in story.summary:
            print(f"  {label:<16} {value}")
        if story.failures:
            print(f"\n{RED}{len(story.failures)} step(s) failed:{RESET} " + "; ".join(story.failures))
            return 1
        print(f"\n{GREEN}Every step happened and was checked.{RESET}")
        return 0


if __name__ == "__main__":
    sys.exit(main())
