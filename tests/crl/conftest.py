"""Fixtures for CRL publishing: the service wired with CRL URLs and a CRL policy, and the PKI bucket's objects."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from certwright import bootstrap
from certwright.services.context import Runtime
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.conftest import Aws, Clock

CRL_URL = "http://pki.certwright.test/crl/{caId}/{partition}.crl"
CA_ISSUERS_URL = "http://pki.certwright.test/ca/{caId}.cer"
TOOL_TIMEOUT = 120


@pytest.fixture
def crl_settings() -> dict[str, Any]:
    """Settings a test module overrides (e.g. a tiny partition size, a batch delay)."""
    return {}


@pytest.fixture
def container(aws: Aws, clock: Clock, crl_settings: dict[str, Any]) -> Iterator[bootstrap.Container]:
    values: dict[str, Any] = {
        "crl_url_template": CRL_URL,
        "ca_issuers_url_template": CA_ISSUERS_URL,
        "crl_batch_seconds": 0,
    }
    settings = replace(aws.settings, **(values | crl_settings))
    instance = bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock))
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


@dataclass
class Bucket:
    """The PKI bucket as a relying party sees it."""

    aws: Aws
    name: str

    def get(self, key: str) -> tuple[bytes, dict[str, str]]:
        answer = self.aws.session.client("s3").get_object(Bucket=self.name, Key=key)
        return answer["Body"].read(), dict(answer.get("Metadata") or {})

    def crl(self, ca_id: str, partition: int = 0) -> x509.CertificateRevocationList:
        return x509.load_der_x509_crl(self.get(f"crl/{ca_id}/{partition}.crl")[0])

    def crl_number(self, ca_id: str, partition: int = 0) -> int:
        return int(self.get(f"crl/{ca_id}/{partition}.crl")[1]["crl-number"])

    def versions(self, key: str) -> int:
        listed = self.aws.session.client("s3").list_object_versions(Bucket=self.name, Prefix=key)
        return len(listed.get("Versions", []))


@pytest.fixture
def bucket(aws: Aws, container: bootstrap.Container) -> Bucket:
    assert container.settings.pki_bucket
    return Bucket(aws, container.settings.pki_bucket)


def crl_pem(crl: x509.CertificateRevocationList) -> str:
    return crl.public_bytes(serialization.Encoding.PEM).decode("ascii")


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text)
    return path


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=TOOL_TIMEOUT, check=False)


def revoke(api: Any, certificate_id: str, reason: str = "KEY_COMPROMISE", version: int = 1) -> Any:
    answer = api.post(f"/certificates/{certificate_id}/versions/{version}/actions/revoke", {"revocationReason": reason})
    assert answer.status in (200, 201, 202), answer.body
    return answer
