"""Real servers on 127.0.0.1 for the challenge checker: an http.server for http-01, a TLS server answering ALPN
acme-tls/1 with a challenge certificate built here, and pebble-challtestsrv as the configured DNS resolver."""

from __future__ import annotations

import datetime
import hashlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from certwright.adapters.acme_challenges import ACME_IDENTIFIER_OID, NetworkChallengeChecker
from certwright.config import Settings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.acme_tools import ChallTestSrv, challtestsrv

TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
KEY_AUTHORIZATION = TOKEN + ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
ALLOWED = ("127.0.0.0/8", "::1/128")


@pytest.fixture(scope="module")
def dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    with challtestsrv(tmp_path_factory.mktemp("challtestsrv")) as server:
        yield server


def settings(**overrides: Any) -> Settings:
    base = Settings(
        table_name="unused",
        idempotency_table_name="unused",
        key_encryption_key_id="unused",
        region="us-east-1",
        acme_allowed_networks=ALLOWED,
        acme_validation_timeout_seconds=3.0,
    )
    return replace(base, **overrides)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every TCP connection the code under test opens (socket.create_connection), in order."""
    opened: list[tuple[str, int]] = []
    original = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        opened.append((address[0], address[1]))
        return original(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", recording)
    return opened


# --- http-01 ---------------------------------------------------------------------------------------------------

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class HttpSite:
    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)

    def serve(self, path: str, body: bytes, status: int = 200) -> None:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        self.routes[path] = answer

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        self.routes[path] = answer


@pytest.fixture
def http_site() -> Iterator[HttpSite]:
    site: HttpSite

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.hosts.append(self.headers.get("Host", ""))
            route = site.routes.get(self.path)
            if route is None:
                self.send_error(404)
            else:
                route(self)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    site = HttpSite(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def challenge_path(token: str = TOKEN) -> str:
    return f"/.well-known/acme-challenge/{token}"


# --- tls-alpn-01 ------------------------------------------------------------------------------------------------


def challenge_certificate(
    names: list[str],
    key_authorization: str | None = KEY_AUTHORIZATION,
    *,
    critical: bool = True,
    digest_of: str | None = None,
) -> tuple[bytes, bytes]:
    """A self-signed RFC 8737 challenge certificate (PEM cert, PEM key): `names` as dNSName SANs and, unless
    `key_authorization` is None, the acmeIdentifier extension over SHA-256 of it (or of `digest_of`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ACME challenge")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=7))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    )
    if key_authorization is not None:
        digest = hashlib.sha256((digest_of or key_authorization).encode()).digest()
        builder = builder.add_extension(
            x509.UnrecognizedExtension(ACME_IDENTIFIER_OID, b"\x04\x20" + digest), critical=critical
        )
    certificate = builder.sign(key, hashes.SHA256())
    return (
        certificate.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


@dataclass
class TlsSite:
    port: int
    server_names: list[str | None]


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[Callable[..., TlsSite]]:
    """Start a TLS server on 127.0.0.1 serving one certificate, offering ALPN acme-tls/1 (or `alpn`)."""
    stops: list[Callable[[], None]] = []

    def start(cert_and_key: tuple[bytes, bytes], alpn: list[str] | None = None, delay: float = 0.0) -> TlsSite:
        cert_file, key_file = tmp_path / f"cert{len(stops)}.pem", tmp_path / f"key{len(stops)}.pem"
        cert_file.write_bytes(cert_and_key[0])
        key_file.write_bytes(cert_and_key[1])
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.set_alpn_protocols(alpn if alpn is not None else ["acme-tls/1"])
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.2)
        site = TlsSite(listener.getsockname()[1], [])

        def sni(_sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _ctx: ssl.SSLContext) -> None:
            site.server_names.append(name)

        context.sni_callback = sni  # type: ignore[assignment]
        running = threading.Event()
        running.set()

        def loop() -> None:
            while running.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                time.sleep(delay)
                try:
                    conn.settimeout(5)
                    with context.wrap_socket(conn, server_side=True) as tls:
                        tls.recv(1)
                except (OSError, ssl.SSLError):
                    conn.close()

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()

        def stop() -> None:
            running.clear()
            thread.join(timeout=5)
            listener.close()

        stops.append(stop)
        return site

    yield start
    for stop in stops:
        stop()


def checker(**overrides: Any) -> NetworkChallengeChecker:
    return NetworkChallengeChecker(settings(**overrides))
