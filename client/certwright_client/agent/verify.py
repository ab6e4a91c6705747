"""Checks before and after installing: the bundle itself (key, chain, validity, version) and what a server serves."""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


class BundleRejected(Exception):
    """The bundle must not be installed; the reason is safe to log and report (it never holds key material)."""


@dataclass(frozen=True)
class Material:
    """A checked bundle, ready to write."""

    certificate_pem: str
    chain_pem: str
    private_key_pem: str
    version: int
    serial: int
    domains: tuple[str, ...]  # the certificate's DNS names (RENEWED_DOMAINS)

    def __repr__(self) -> str:  # never the key, not even in a traceback's locals
        return f"Material(version={self.version}, serial={self.serial:x})"


def check_bundle(bundle: Any, *, version: int, serial_hex: str, now: datetime) -> Material:
    """The bundle as the API answered it, checked whole; BundleRejected says why not."""
    if not isinstance(bundle, dict):
        raise BundleRejected("the bundle is not a JSON object (a partial or garbled download)")
    cert_pem, chain_pem, key_pem = (bundle.get(k) for k in ("certificatePem", "certChainPem", "privateKeyPem"))
    if not isinstance(cert_pem, str) or not isinstance(chain_pem, str):
        raise BundleRejected("the bundle has no certificatePem or certChainPem")
    if not isinstance(key_pem, str) or not key_pem.strip():
        raise BundleRejected("the bundle has no private key")
    if bundle.get("versionNumber") != version:
        raise BundleRejected(f"asked for version {version}, the bundle is version {bundle.get('versionNumber')}")
    certificates = _certificates(cert_pem, "certificatePem")
    if len(certificates) != 1:
        raise BundleRejected(f"certificatePem holds {len(certificates)} certificates, not one")
    leaf = certificates[0]
    chain = _certificates(chain_pem, "certChainPem")
    if not chain:
        raise BundleRejected("certChainPem is empty: the chain cannot be checked")
    if leaf.serial_number != int(serial_hex, 16):
        raise BundleRejected(f"the certificate's serial {leaf.serial_number:x} is not the polled {serial_hex}")
    try:
        key: PrivateKeyTypes = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise BundleRejected("the private key is not a readable unencrypted PEM key") from None
    if _spki(key.public_key()) != _spki(leaf.public_key()):
        raise BundleRejected("the private key does not match the certificate")
    for child, parent in zip([leaf, *chain], chain, strict=False):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            raise BundleRejected(
                f"the chain does not link: {child.subject.rfc4514_string()} is not issued by "
                f"{parent.subject.rfc4514_string()}"
            ) from None
    for certificate in [leaf, *chain]:
        if now < certificate.not_valid_before_utc:
            raise BundleRejected(
                f"{certificate.subject.rfc4514_string()} is not valid before "
                f"{certificate.not_valid_before_utc.isoformat()}"
            )
        if now >= certificate.not_valid_after_utc:
            raise BundleRejected(
                f"{certificate.subject.rfc4514_string()} expired at {certificate.not_valid_after_utc.isoformat()}"
            )
    return Material(
        certificate_pem=_ending(cert_pem),
        chain_pem=_ending(chain_pem),
        private_key_pem=_ending(key_pem),
        version=version,
        serial=leaf.serial_number,
        domains=_domains(leaf),
    )


def _certificates(pem: str, field: str) -> list[x509.Certificate]:
    if not pem.strip():
        return []
    try:
        return x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise BundleRejected(f"{field} is not readable PEM (a partial download?)") from None


def _spki(public_key: Any) -> bytes:
    data: bytes = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return data


def _ending(pem: str) -> str:
    return pem if pem.endswith("\n") else pem + "\n"


def _domains(certificate: x509.Certificate) -> tuple[str, ...]:
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple(sans.get_values_for_type(x509.DNSName))


def served_serial(host: str, port: int, server_name: str | None, timeout: float = 5.0) -> int:
    """The serial of the certificate a TLS server presents (a real handshake; trust is not what is checked here)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # we compare the exact serial we installed, whatever the trust store says
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=server_name or None) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server presented no certificate")
    return x509.load_der_x509_certificate(der).serial_number


def verify_served(
    host: str, port: int, server_name: str | None, serial: int, within: float, in_a_row: int = 3
) -> str | None:
    """None once the server presents `serial` on `in_a_row` handshakes in a row (a reloading server's old
    workers may still answer a few), tried until `within` seconds pass; else what it served instead."""
    deadline, streak = time.monotonic() + within, 0
    while True:
        try:
            seen = served_serial(host, port, server_name)
            streak = streak + 1 if seen == serial else 0
            if streak >= in_a_row:
                return None
            problem = f"{host}:{port} serves serial {seen:x}, not {serial:x}"
        except (OSError, ssl.SSLError, ValueError) as err:
            streak = 0
            problem = f"TLS handshake with {host}:{port} failed: {err}"
        if time.monotonic() >= deadline:
            return problem
        time.sleep(0.05 if streak else 0.2)
