"""The demo's proofs from outside Certwright: what a relying party does with what it was given — a TLS handshake
that trusts only the root, openssl, the CRL fetched over HTTP from a certificate's distribution point."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization


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


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=False)


def crl_url(certificate_pem: str) -> str | None:
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return None
    return next((str(name.value) for point in points for name in (point.full_name or [])), None)


def fetch_crl(url: str) -> x509.CertificateRevocationList | None:
    """The CRL as any relying party gets it: a plain HTTP GET of the certificate's distribution point."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the URL is ours (http, local)
            return x509.load_der_x509_crl(answer.read())
    except (OSError, ValueError):
        return None


def crl_number(crl: x509.CertificateRevocationList) -> int:
    return crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def root_pem_of(bundle: dict[str, Any]) -> str:
    chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
    return chain[-1].public_bytes(serialization.Encoding.PEM).decode()
