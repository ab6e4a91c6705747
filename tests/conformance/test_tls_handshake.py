"""Real TLS handshakes on 127.0.0.1 with issued chains and keys: clients trusting only the root see the issued serial."""

from __future__ import annotations

import itertools
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509

from tests.conformance.pki import DNS_SANS, KINDS, NOT_A_SAN, SERVER_PROFILES, Issued, Pki, build
from tests.conftest import ApiClient

pytestmark = pytest.mark.conformance

TIMEOUT = 10.0
GREETING = b"hello over tls"


@dataclass
class Served:
    """What the server thread saw of its one connection."""

    peer_der: bytes | None = None
    errors: list[Exception] = field(default_factory=list)


def full_chain(pki: Pki, issued: Issued, name: str) -> tuple[Path, Path]:
    """The leaf followed by its chain, and its private key, as files a TLS endpoint loads."""
    assert issued.private_key_pem is not None
    return (
        pki.write(f"{name}-fullchain.pem", issued.certificate_pem + issued.chain_pem),
        pki.write(f"{name}-key.pem", issued.private_key_pem),
    )


@contextmanager
def tls_server(context: ssl.SSLContext) -> Iterator[tuple[int, Served]]:
    """Serves one TLS connection on an ephemeral 127.0.0.1 port from a thread, joined on exit."""
    served = Served()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(TIMEOUT)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
            connection.settimeout(TIMEOUT)
            with connection, context.wrap_socket(connection, server_side=True) as tls:
                served.peer_der = tls.getpeercert(binary_form=True)
                tls.sendall(GREETING)
        except (ssl.SSLError, OSError) as error:
            served.errors.append(error)

    thread = threading.Thread(target=serve, name="tls-server", daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], served
    finally:
        thread.join(TIMEOUT)
        listener.close()
        assert not thread.is_alive(), "the TLS server thread did not finish"


def server_context(certificate: Path, key: Path, *, client_ca: Path | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)
    if client_ca is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=client_ca)
    return context


def connect(port: int, context: ssl.SSLContext, hostname: str) -> tuple[x509.Certificate, bytes]:
    """Handshake as a client for `hostname`; the server's leaf and what it sent."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
        assert der is not None
        return x509.load_der_x509_certificate(der), tls.recv(len(GREETING))


@pytest.mark.parametrize(("kind", "profile"), list(itertools.product(sorted(KINDS), SERVER_PROFILES)))
def test_a_client_trusting_only_the_root_sees_the_issued_serial(
    api: ApiClient, tmp_path: Path, kind: str, profile: str
) -> None:
    pki = build(api, tmp_path, kind)
    issued = pki.issue(profile, with_key=True)
    certificate, key = full_chain(pki, issued, "server")

    with tls_server(server_context(certificate, key)) as (port, served):
        peer, greeting = connect(port, ssl.create_default_context(cafile=pki.root_file()), DNS_SANS[1])

    assert served.errors == []
    assert peer.serial_number == int(issued.serial_number, 16)
    assert greeting == GREETING


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_client_for_a_name_outside_the_sans_refuses_the_server(api: ApiClient, tmp_path: Path, kind: str) -> None:
    pki = build(api, tmp_path, kind)
    certificate, key = full_chain(pki, pki.issue("TLS_SERVER", with_key=True), "server")

    with (
        tls_server(server_context(certificate, key)) as (port, served),
        pytest.raises(ssl.SSLCertVerificationError) as refused,
    ):
        connect(port, ssl.create_default_context(cafile=pki.root_file()), NOT_A_SAN)

    assert "Hostname mismatch" in str(refused.value.verify_message)
    assert len(served.errors) == 1, "the server should see the client abort the handshake"


def test_a_server_named_by_an_ip_san_is_accepted_at_that_address(api: ApiClient, tmp_path: Path) -> None:
    pki = build(api, tmp_path, "ecdsa")
    sans = [{"type": "DNS", "value": DNS_SANS[0]}, {"type": "IP", "value": "127.0.0.1"}]
    issued = pki.issue("TLS_SERVER", sans=sans, with_key=True)
    certificate, key = full_chain(pki, issued, "server")

    with tls_server(server_context(certificate, key)) as (port, served):
        peer, _ = connect(port, ssl.create_default_context(cafile=pki.root_file()), "127.0.0.1")

    assert served.errors == []
    assert peer.serial_number == int(issued.serial_number, 16)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_mutual_tls_accepts_a_client_certificate_and_refuses_a_server_only_one(
    api: ApiClient, tmp_path: Path, kind: str
) -> None:
    pki = build(api, tmp_path, kind)
    root = pki.root_file()
    server_certificate, server_key = full_chain(pki, pki.issue("TLS_SERVER", with_key=True), "server")
    client = pki.issue("TLS_CLIENT", with_key=True)
    server_only = pki.issue("TLS_SERVER", with_key=True)

    client_context = ssl.create_default_context(cafile=root)
    client_context.load_cert_chain(*full_chain(pki, client, "client"))
    with tls_server(server_context(server_certificate, server_key, client_ca=root)) as (port, served):
        connect(port, client_context, DNS_SANS[0])
    assert served.errors == []
    assert served.peer_der is not None
    assert x509.load_der_x509_certificate(served.peer_der).serial_number == int(client.serial_number, 16)

    impostor_context = ssl.create_default_context(cafile=root)
    impostor_context.load_cert_chain(*full_chain(pki, server_only, "impostor"))
    # Under TLS 1.3 the client finishes its handshake first and learns of the refusal only when it reads.
    with (
        tls_server(server_context(server_certificate, server_key, client_ca=root)) as (port, served),
        pytest.raises((ssl.SSLError, ConnectionError)),
    ):
        connect(port, impostor_context, DNS_SANS[0])
    assert [type(error) for error in served.errors] == [ssl.SSLCertVerificationError]
    assert "unsuitable certificate purpose" in str(served.errors[0])
