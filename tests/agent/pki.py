"""Real certificates for the agent's tests, made with the cryptography library: a root, an issuing CA, leaves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass
class Authority:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    chain: list[x509.Certificate] = field(default_factory=list)  # its own certificate first, up to the root


def root_and_issuing(now: datetime | None = None) -> Authority:
    """An issuing CA under a root; its chain is [issuing, root]."""
    now = now or datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Agent Test Root"))
        .issuer_name(_name("Agent Test Root"))
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    issuing = (
        x509.CertificateBuilder()
        .subject_name(_name("Agent Test Issuing"))
        .issuer_name(root.subject)
        .public_key(issuing_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=300))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    return Authority(issuing_key, issuing, [issuing, root])


@dataclass
class Leaf:
    version: int
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    chain_pem: str

    @property
    def serial_hex(self) -> str:
        return f"{self.certificate.serial_number:x}"

    @property
    def certificate_pem(self) -> str:
        return _pem(self.certificate)

    @property
    def key_pem(self) -> str:
        return _key_pem(self.key)

    def bundle(self, *, key_pem: str | None = None) -> dict[str, Any]:
        """The API's bundle answer (BundleOut) with the private key."""
        return {
            "certificateId": "cert-agent",
            "certificateName": "web",
            "versionNumber": self.version,
            "serialNumber": self.serial_hex,
            "stages": ["CURRENT"],
            "validity": None,
            "certificatePem": self.certificate_pem,
            "certChainPem": self.chain_pem,
            "privateKeyPem": key_pem if key_pem is not None else self.key_pem,
        }


def issue(
    ca: Authority,
    version: int,
    names: tuple[str, ...] = ("www.agent.example", "agent.example"),
    *,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> Leaf:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - timedelta(minutes=5))
        .not_valid_after(not_after or now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca.key, hashes.SHA256())
    )
    return Leaf(version, certificate, key, "".join(_pem(c) for c in ca.chain))


def other_key_pem() -> str:
    return _key_pem(ec.generate_private_key(ec.SECP256R1()))
