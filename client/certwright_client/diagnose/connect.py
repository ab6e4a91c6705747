"""Reading what an endpoint serves: its chain with and without SNI, its protocol, and the CRLs and issuers it names.

Everything here is I/O; the verdicts are the layer's pure certwright.x509.endpoint_checks (shared with the
scheduled endpoint prober), which takes the Observation this module makes.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from certwright.x509.endpoint_checks import Handshake, Observation
from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID
from OpenSSL import SSL

TIMEOUT = 10.0
MAX_DOWNLOAD = 4 * 1024 * 1024
# Versions below TLS 1.2 are probed one by one: a server that still accepts one of them is a finding.
WEAK_VERSIONS = (("TLSv1", SSL.TLS1_VERSION), ("TLSv1.1", SSL.TLS1_1_VERSION))


class CouldNotCheck(Exception):
    """The endpoint could not be reached or gave no certificate: nothing can be said about its health."""


def _context(min_version: int | None = None, max_version: int | None = None) -> SSL.Context:
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # Read whatever the server serves: verification is ours (endpoint_checks), never the handshake's.
    context.set_verify(SSL.VERIFY_NONE, lambda *_: True)
    # Security level 0 lets the handshake complete with old protocols and weak keys, so they can be reported.
    context.set_cipher_list(b"ALL:@SECLEVEL=0")
    if min_version is not None:
        context.set_min_proto_version(min_version)
    if max_version is not None:
        context.set_max_proto_version(max_version)
    return context


def handshake(
    host: str, port: int, servername: str | None, *, min_version: int | None = None, max_version: int | None = None
) -> Handshake:
    """Connect, shake hands (sending `servername` as SNI unless None) and return what was served."""
    try:
        sock = socket.create_connection((host, port), timeout=TIMEOUT)
    except OSError as err:
        raise CouldNotCheck(f"cannot connect to {host}:{port}: {err.strerror or err}") from err
    try:
        connection = SSL.Connection(_context(min_version, max_version), sock)
        if servername:
            connection.set_tlsext_host_name(servername.encode("idna"))
        connection.set_connect_state()
        sock.settimeout(TIMEOUT)
        _shake(connection, sock, f"{host}:{port}")
        chain = connection.get_peer_cert_chain(as_cryptography=True) or []
        if not chain:
            raise CouldNotCheck(f"{host}:{port} completed the handshake without a certificate")
        cipher = connection.get_cipher_name()
        protocol = connection.get_protocol_version_name()
        with contextlib.suppress(SSL.Error, OSError):
            connection.shutdown()
        return Handshake(tuple(chain), protocol, cipher)
    finally:
        sock.close()


def _shake(connection: SSL.Connection, sock: socket.socket, where: str) -> None:
    """do_handshake on a socket with a timeout: pyOpenSSL asks to be called again until the handshake is done."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        wait: tuple[list[socket.socket], list[socket.socket], list[socket.socket]]
        try:
            connection.do_handshake()
            return
        except SSL.WantReadError:
            wait = ([sock], [], [])
        except SSL.WantWriteError:
            wait = ([], [sock], [])
        except (SSL.Error, OSError) as err:
            raise CouldNotCheck(f"TLS handshake with {where} failed: {_ssl_reason(err)}") from err
        left = deadline - time.monotonic()
        if left <= 0 or not any(select.select(*wait, left)[:2]):
            raise CouldNotCheck(f"TLS handshake with {where} timed out after {TIMEOUT:g}s")


def _ssl_reason(err: BaseException) -> str:
    if isinstance(err, SSL.Error) and err.args and isinstance(err.args[0], list) and err.args[0]:
        return "; ".join(str(entry[-1]) for entry in err.args[0])
    return str(err) or type(err).__name__


def _urls(chain: tuple[x509.Certificate, ...]) -> tuple[list[str], list[str]]:
    """The http CRL distribution points and caIssuers URLs the served certificates name."""
    crls: list[str] = []
    issuers: list[str] = []
    for certificate in chain:
        try:
            points: list[x509.DistributionPoint] = list(
                certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
            )
        except x509.ExtensionNotFound:
            points = []
        for point in points:
            for name in point.full_name or []:
                if isinstance(name, x509.UniformResourceIdentifier) and name.value.startswith("http"):
                    crls.append(name.value)
        try:
            access: list[x509.AccessDescription] = list(
                certificate.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
            )
        except x509.ExtensionNotFound:
            access = []
        for description in access:
            location = description.access_location
            if (
                description.access_method == AuthorityInformationAccessOID.CA_ISSUERS
                and isinstance(location, x509.UniformResourceIdentifier)
                and location.value.startswith("http")
            ):
                issuers.append(location.value)
    return list(dict.fromkeys(crls)), list(dict.fromkeys(issuers))


def download(url: str) -> bytes | str:
    """The body at an http(s) URL, or the reason it could not be read (as text)."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - http(s) only, checked by _urls
            body: bytes = response.read(MAX_DOWNLOAD + 1)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = err.reason if isinstance(err, urllib.error.URLError) else err
        return f"cannot download {url}: {reason}"
    if len(body) > MAX_DOWNLOAD:
        return f"{url} is larger than {MAX_DOWNLOAD} bytes"
    return body


def observe(
    host: str, port: int, servername: str | None = None, *, fetch: Callable[[str], bytes | str] = download
) -> Observation:
    """Everything endpoint_checks.diagnose needs about host:port. Raises CouldNotCheck when no handshake succeeds."""
    name = servername or host
    observation = Observation(host, port, name, handshake(host, port, name))
    try:
        observation.without_sni = handshake(host, port, None)
    except CouldNotCheck as err:
        observation.without_sni_error = str(err)
    for label, version in WEAK_VERSIONS:
        try:
            handshake(host, port, name, min_version=version, max_version=version)
        except CouldNotCheck:
            continue
        observation.weak_protocols.append(label)
    crl_urls, issuer_urls = _urls(observation.with_sni.chain)
    observation.crls = {url: fetch(url) for url in crl_urls}
    observation.issuers = {url: fetch(url) for url in issuer_urls}
    return observation
