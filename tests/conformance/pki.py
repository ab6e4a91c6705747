"""Conformance helpers: KMS-signed hierarchies made through the API, PEM files, and the openssl and pkilint tools."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import ApiClient, leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
HOST_SESSION = "arn:aws:sts::123456789012:assumed-role/web-host/i-1"
DNS_SANS = ("www.example.com", "api.example.com")
NOT_A_SAN = "mail.example.org"
PROFILES = ("TLS_SERVER_OR_CLIENT", "TLS_SERVER", "TLS_CLIENT", "TLS_CODE_SIGN")
SERVER_PROFILES = ("TLS_SERVER_OR_CLIENT", "TLS_SERVER")
CLIENT_PROFILES = ("TLS_SERVER_OR_CLIENT", "TLS_CLIENT")
TOOL_TIMEOUT = 120

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Algorithms:
    """Key algorithms of one hierarchy: the root, every CA below it, and leaves."""

    root: str
    issuing: str
    leaf: str


# Between them the two hierarchies use every key algorithm the service offers.
KINDS = {
    "ecdsa": Algorithms(root="ECDSA_P384", issuing="ECDSA_P256", leaf="ECDSA_P256"),
    "rsa": Algorithms(root="RSA4096", issuing="RSA3072", leaf="RSA2048"),
}


@dataclass(frozen=True)
class Issued:
    """A leaf as the bundle API returned it; `chain_pem` is issuer first, up to and including the root."""

    profile: str
    serial_number: str
    certificate_pem: str
    chain_pem: str
    private_key_pem: str | None


@dataclass
class Pki:
    """A CA hierarchy made through the API; `ca_pems` is root first, the issuing CA (leaves hang off it) last."""

    api: ApiClient
    algorithms: Algorithms
    directory: Path
    ca_ids: list[str] = field(default_factory=list)
    ca_pems: list[str] = field(default_factory=list)

    def add_ca(self) -> str:
        """A root if there is none yet, else a subordinate of the current issuing CA; returns its certificate PEM."""
        if not self.ca_ids:
            body = root_ca_body(keyAlgorithm=self.algorithms.root)
        else:
            depth = len(self.ca_ids)
            subject = {
                "commonName": f"Certwright Test Issuing CA {depth}",
                "organization": "Certwright",
                "country": "US",
            }
            body = sub_ca_body(
                self.ca_ids[-1], name=f"issuing-{depth}", keyAlgorithm=self.algorithms.issuing, subject=subject
            )
        created = self.api.post("/certificate-authorities", body)
        assert created.status == 201, created.body
        bundle = self.api.get(f"/certificate-authorities/{created.body['id']}/bundle")
        assert bundle.status == 200, bundle.body
        self.ca_ids.append(created.body["id"])
        self.ca_pems.append(bundle.body["certificatePem"])
        return str(bundle.body["certificatePem"])

    def issue(
        self,
        profile: str,
        *,
        sans: list[dict[str, str]] | None = None,
        subject: dict[str, str] | None = None,
        with_key: bool = False,
    ) -> Issued:
        """A leaf of `profile` from the issuing CA; with_key reads its private key as the associated principal."""
        overrides: dict[str, Any] = {
            "profile": profile,
            "keyAlgorithm": self.algorithms.leaf,
            "subjectAlternativeNames": sans or [{"type": "DNS", "value": name} for name in DNS_SANS],
        }
        if subject is not None:
            overrides["subject"] = subject
        created = self.api.post("/certificates", leaf_body(self.ca_ids[-1], **overrides))
        assert created.status == 201, created.body
        cert_id = created.body["id"]
        caller = None
        if with_key:
            association = {"certificateId": cert_id, "associatedResourceId": HOST_ROLE}
            consent(None, HOST_ROLE, cert_id)  # the host's role consents by tag (services/consent.py)
            assert self.api.post("/associations", association).status == 201
            caller = HOST_SESSION
        query = "?includePrivateKey=true" if with_key else ""
        bundle = self.api.get(f"/certificates/{cert_id}/bundle{query}", caller=caller)
        assert bundle.status == 200, bundle.body
        assert bundle.body["serialNumber"] == created.body["currentVersion"]["serialNumber"]
        return Issued(
            profile=profile,
            serial_number=bundle.body["serialNumber"],
            certificate_pem=bundle.body["certificatePem"],
            chain_pem=bundle.body["certChainPem"],
            private_key_pem=bundle.body.get("privateKeyPem"),
        )

    def write(self, name: str, pem: str) -> Path:
        path = self.directory / name
        path.write_text(pem)
        return path

    def root_file(self) -> Path:
        return self.write("root.pem", self.ca_pems[0])

    def leaf_files(self, issued: Issued) -> tuple[Path, Path]:
        """The leaf and the chain the bundle API returned with it."""
        return self.write("leaf.pem", issued.certificate_pem), self.write("chain.pem", issued.chain_pem)


def build(api: ApiClient, directory: Path, kind: str, *, depth: int = 2) -> Pki:
    """A hierarchy of `depth` CAs (root included) of the given kind."""
    pki = Pki(api, KINDS[kind], directory)
    for _ in range(depth):
        pki.add_ca()
    return pki


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def openssl_verify(
    root: Path,
    certificate: Path,
    untrusted: Path | None = None,
    *,
    purpose: str | None = None,
    hostname: str | None = None,
    ip: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`openssl verify -x509_strict` of `certificate` with `root` as the only trust anchor."""
    args: list[str | Path] = ["openssl", "verify", "-x509_strict", "-CAfile", root]
    if untrusted is not None:
        args += ["-untrusted", untrusted]
    if purpose is not None:
        args += ["-purpose", purpose]
    if hostname is not None:
        args += ["-verify_hostname", hostname]
    if ip is not None:
        args += ["-verify_ip", ip]
    return run(*args, certificate)


@dataclass(frozen=True)
class Finding:
    severity: str
    code: str
    node: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity} {self.code} @ {self.node}: {self.message}"


def pkilint(linter: str, *arguments: str | Path) -> list[Finding]:
    """Findings at WARNING and above from a pkilint console script of this virtualenv (its JSON output)."""
    script = Path(sys.executable).parent / linter
    done = run(script, "lint", "-s", "WARNING", "-f", "JSON", *arguments)
    # pkilint exits with the number of findings, so the exit status says nothing about whether it ran.
    assert done.stdout.startswith("{"), f"{linter} did not run: {done.stderr}"
    return [
        Finding(description["severity"], description["code"], result["node_path"], description["message"] or "")
        for result in json.loads(done.stdout)["results"]
        for description in result["finding_descriptions"]
    ]


def pkilint_all(jobs: Mapping[K, Sequence[str | Path]]) -> dict[K, list[Finding]]:
    """Several pkilint runs at once (each job is a linter name and its arguments), keyed as `jobs` is."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {key: pool.submit(pkilint, str(job[0]), *job[1:]) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}
