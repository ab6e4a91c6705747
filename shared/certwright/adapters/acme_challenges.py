"""The ACME challenge checker (the ChallengeChecker port): http-01, dns-01 and tls-alpn-01 over the network, under
the deployment's network policy.

Policy (issue 12, item 3): a name is resolved once (through the configured resolver, else the system's), EVERY
address it resolves to must be reachable (not link-local, metadata, unspecified, multicast or reserved: the
prober's rule, domain.association.unprobeable) AND inside the allowed networks, and the connection goes to a
checked address, never to the name again (DNS rebinding). http-01 follows at most MAX_REDIRECTS redirects, each
hop checked the same way, to http on port 80 (or the configured http-01 port) or https on 443 (RFC 8555 §8.3),
reads at most MAX_BODY bytes, and the whole check has one deadline (a watchdog closes the socket when it passes).

A failed validation is a ChallengeResult with an RFC 8555 problem suffix; TransientError only when nothing could
be decided (the configured resolver did not answer, the system resolver failed temporarily). Neither the logs nor
the problem details carry the key authorization: only the token, which the challenge URL shows anyway.
dnspython is imported when a DNS question is asked (the function that validates carries it; the layer does not).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from aws_lambda_powertools import Logger
from cryptography import x509

from certwright.adapters.network_guard import Address, refusal, system_addresses
from certwright.config import Settings
from certwright.domain.association import unprobeable
from certwright.errors import TransientError
from certwright.ports.acme_challenges import ChallengeResult, ChallengeType

logger = Logger(child=True)

MAX_REDIRECTS = 10
MAX_BODY = 8 * 1024
ALPN_PROTOCOL = "acme-tls/1"
# RFC 8737 §3: the acmeIdentifier extension, critical, an OCTET STRING holding SHA-256(keyAuthorization).
ACME_IDENTIFIER_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
_REDIRECTS = {301, 302, 303, 307, 308}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class _Refused(Exception):
    """A decided failure inside one check, carried up to check() as its ChallengeResult."""

    def __init__(self, problem: str, detail: str) -> None:
        super().__init__(detail)
        self.result = ChallengeResult(valid=False, problem=problem, detail=detail)


def _fail(problem: str, detail: str) -> _Refused:
    return _Refused(problem, detail)


def expected_txt(key_authorization: str) -> str:
    """The dns-01 TXT value: base64url(SHA-256(key authorization)) without padding (RFC 8555 §8.4)."""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class _Policy:
    allowed: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    def refuse(self, address: Address) -> str | None:
        why = unprobeable(address)
        if why:
            return why
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        candidate = mapped or address
        if str(candidate) == "255.255.255.255":
            return "is the broadcast address"
        if not any(candidate.version == net.version and candidate in net for net in self.allowed):
            return "is outside the networks ACME validation may reach"
        return None


class NetworkChallengeChecker:
    def __init__(self, settings: Settings) -> None:
        self._policy = _Policy(tuple(ipaddress.ip_network(n, strict=False) for n in settings.acme_allowed_networks))
        self._http_port = settings.acme_http_port
        self._tls_port = settings.acme_tls_port
        self._timeout = settings.acme_validation_timeout_seconds
        self._nameserver: tuple[str, int] | None = _nameserver(settings.acme_dns_resolver)

    def check(
        self, challenge_type: ChallengeType, identifier: str, token: str, key_authorization: str
    ) -> ChallengeResult:
        deadline = time.monotonic() + self._timeout
        try:
            name = _identifier(identifier, wildcard=challenge_type == ChallengeType.DNS_01)
            if (
                not _TOKEN.match(token)
                or not key_authorization.startswith(token + ".")
                or not key_authorization.isascii()
            ):
                raise _fail("malformed", "the token or the key authorization is malformed")
            if challenge_type == ChallengeType.HTTP_01:
                self._http01(name, token, key_authorization, deadline)
            elif challenge_type == ChallengeType.DNS_01:
                self._dns01(name, key_authorization, deadline)
            elif challenge_type == ChallengeType.TLS_ALPN_01:
                self._tls_alpn01(name, key_authorization, deadline)
            else:
                raise _fail("malformed", f"unsupported challenge type {challenge_type!r}")
            result = ChallengeResult(valid=True)
        except _Refused as refused:
            result = refused.result
        logger.info(
            "ACME challenge checked",
            extra={
                "challenge_type": str(challenge_type),
                "identifier": identifier,
                "token": token,
                "valid": result.valid,
                "problem": result.problem,
                "detail": result.detail,
            },
        )
        return result

    # --- resolution under the policy ---------------------------------------------------------------------------

    def _addresses(self, name: str, port: int, deadline: float, *, what: str) -> list[Address]:
        """Every address of `name`, all allowed by the policy (else a refusal with problem `what`)."""
        addresses = self._resolve(name, port, deadline)
        if not addresses:
            raise _fail("dns", f"{name} has no A or AAAA record")
        why = refusal(name, addresses, self._policy.refuse)
        if why:
            raise _fail(what, f"{why}: not connected")
        return addresses

    def _resolve(self, name: str, port: int, deadline: float) -> list[Address]:
        if self._nameserver is None:
            try:
                return system_addresses(name, port)
            except socket.gaierror as err:
                if err.errno == socket.EAI_AGAIN:
                    raise TransientError(f"cannot resolve {name} now: {err.strerror}") from err
                raise _fail("dns", f"cannot resolve {name}: {err.strerror or err}") from err
            except OSError as err:
                raise TransientError(f"cannot resolve {name}: {err}") from err
        found: list[Address] = []
        for rdtype in ("A", "AAAA"):
            for record in self._query(name, rdtype, deadline):
                found.append(ipaddress.ip_address(str(record)))
        return found

    def _query(self, name: str, rdtype: str, deadline: float) -> list[Any]:
        """The answer records of `name`/`rdtype` from the configured resolver (CNAMEs followed as it does);
        [] for NXDOMAIN or no answer; TransientError when the resolver did not answer."""
        import dns.exception
        import dns.resolver

        resolver = dns.resolver.Resolver(configure=self._nameserver is None)
        if self._nameserver is not None:
            resolver.nameservers = [self._nameserver[0]]
            resolver.port = self._nameserver[1]
        left = max(deadline - time.monotonic(), 0.1)
        resolver.timeout = resolver.lifetime = left
        try:
            answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as err:
            raise TransientError(f"the resolver did not answer for {name} {rdtype}: {err}") from err
        except dns.exception.DNSException as err:
            raise _fail("dns", f"cannot look up {name} {rdtype}: {err}") from err
        return list(answer)

    @contextlib.contextmanager
    def _connection(self, name: str, port: int, deadline: float, *, what: str) -> Iterator[socket.socket]:
        """A TCP connection to a checked address of `name`, closed by a watchdog when the deadline passes."""
        addresses = self._addresses(name, port, deadline, what=what)
        errors = []
        for address in addresses:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                sock = socket.create_connection((str(address), port), timeout=left)
            except OSError as err:
                errors.append(f"{address}: {err.strerror or err}")
                continue
            watchdog = threading.Timer(left, _shut, args=(sock,))
            watchdog.daemon = True
            watchdog.start()
            try:
                yield sock
            finally:
                watchdog.cancel()
                sock.close()
            return
        if not errors:
            raise _fail("connection", f"timed out connecting to {name}:{port} after {self._timeout:g}s")
        raise _fail("connection", f"cannot connect to {name}:{port}: {'; '.join(errors)}")

    # --- http-01 -----------------------------------------------------------------------------------------------

    def _http01(self, name: str, token: str, key_authorization: str, deadline: float) -> None:
        url = (
            f"http://{name}{'' if self._http_port == 80 else f':{self._http_port}'}/.well-known/acme-challenge/{token}"
        )
        for hop in range(MAX_REDIRECTS + 1):
            status, location, body = self._get(url, deadline, what="rejectedIdentifier" if hop == 0 else "connection")
            if status in _REDIRECTS and location is not None:
                url = self._redirect_target(url, location)
                continue
            if status != 200:
                raise _fail("unauthorized", f"{url} answered HTTP {status}, not 200")
            if body.rstrip(b" \t\r\n") != key_authorization.encode("ascii"):
                raise _fail(
                    "incorrectResponse", f"the body served at {url} is not the key authorization for token {token}"
                )
            return
        raise _fail("connection", f"more than {MAX_REDIRECTS} redirects fetching the challenge for token {token}")

    def _redirect_target(self, current: str, location: str) -> str:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        try:
            port = parts.port
        except ValueError:
            port = -1
        allowed = {"http": {80, self._http_port}, "https": {443}}.get(parts.scheme, set())
        effective = port if port is not None else {"http": 80, "https": 443}.get(parts.scheme, -1)
        if not parts.hostname or effective not in allowed:
            raise _fail("connection", f"refused redirect to {target}: only http on port 80 or https on 443 is followed")
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            try:
                _identifier(parts.hostname, wildcard=False)
            except _Refused as refused:
                raise _fail("connection", f"refused redirect to {target}: {refused.result.detail}") from None
            return target
        why = self._policy.refuse(literal)
        raise _fail(
            "connection",
            f"refused redirect to {target}: {f'{literal} {why}; ' if why else ''}redirects go to names only",
        )

    def _get(self, url: str, deadline: float, *, what: str) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        name = _identifier(host, wildcard=False)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        with self._connection(name, port, deadline, what=what) as sock:
            try:
                stream: socket.socket = sock
                if parts.scheme == "https":
                    # RFC 8555 §8.3 lets the server skip certificate validation on a redirect to https.
                    context = ssl.create_default_context()
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                    stream = context.wrap_socket(sock, server_hostname=name)
                connection = _OnSocket(stream, name, port)
                default = port == (443 if parts.scheme == "https" else 80)
                headers = {"Host": name if default else f"{name}:{port}", "User-Agent": "certwright-acme-validator"}
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read(MAX_BODY + 1)
            except (OSError, http.client.HTTPException, ssl.SSLError) as err:
                if time.monotonic() >= deadline or isinstance(err, TimeoutError):
                    raise _fail("connection", f"{url} did not answer within {self._timeout:g}s") from err
                raise _fail("connection", f"fetching {url} failed: {err}") from err
            if time.monotonic() >= deadline:  # the watchdog closed the socket: what was read is cut short
                raise _fail("connection", f"{url} did not answer within {self._timeout:g}s")
            if len(body) > MAX_BODY:
                raise _fail("incorrectResponse", f"the body served at {url} is larger than {MAX_BODY} bytes")
            return response.status, response.getheader("Location"), body

    # --- dns-01 ------------------------------------------------------------------------------------------------

    def _dns01(self, name: str, key_authorization: str, deadline: float) -> None:
        base = name.removeprefix("*.")
        record = f"_acme-challenge.{base}"
        values = []
        for rdata in self._query(record, "TXT", deadline):
            values.append(b"".join(rdata.strings).decode("ascii", errors="replace"))
        if not values:
            raise _fail("dns", f"no TXT record at {record}")
        if expected_txt(key_authorization) not in values:
            raise _fail("incorrectResponse", f"no TXT record at {record} holds the digest of the key authorization")

    # --- tls-alpn-01 -------------------------------------------------------------------------------------------

    def _tls_alpn01(self, name: str, key_authorization: str, deadline: float) -> None:
        where = f"{name}:{self._tls_port}"
        with self._connection(name, self._tls_port, deadline, what="rejectedIdentifier") as sock:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols([ALPN_PROTOCOL])
            try:
                with context.wrap_socket(sock, server_hostname=name) as tls:
                    protocol = tls.selected_alpn_protocol()
                    der = tls.getpeercert(binary_form=True)
            except (OSError, ssl.SSLError) as err:
                if time.monotonic() >= deadline or isinstance(err, TimeoutError):
                    raise _fail("connection", f"TLS handshake with {where} timed out after {self._timeout:g}s") from err
                raise _fail("tls", f"TLS handshake with {where} failed: {err}") from err
        if protocol != ALPN_PROTOCOL:
            raise _fail("tls", f"{where} did not negotiate ALPN {ALPN_PROTOCOL}")
        if not der:
            raise _fail("tls", f"{where} sent no certificate")
        why = challenge_certificate_problem(x509.load_der_x509_certificate(der), name, key_authorization)
        if why:
            raise _fail("incorrectResponse", f"the certificate {where} served for {ALPN_PROTOCOL} {why}")


def challenge_certificate_problem(certificate: x509.Certificate, name: str, key_authorization: str) -> str | None:
    """What is wrong with a tls-alpn-01 challenge certificate for `name` (RFC 8737 §3), or None: exactly one
    subjectAltName, a dNSName equal to `name`, and a critical acmeIdentifier extension holding the DER OCTET STRING
    of SHA-256(key authorization)."""
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "has no subjectAltName"
    except ValueError as err:
        return f"has unreadable extensions: {err}"
    entries = list(sans)
    names = sans.get_values_for_type(x509.DNSName)
    if len(entries) != 1 or len(names) != 1 or names[0].lower().rstrip(".") != name:
        return f"must name exactly {name} in its subjectAltName"
    try:
        extension = certificate.extensions.get_extension_for_oid(ACME_IDENTIFIER_OID)
    except x509.ExtensionNotFound:
        return "has no acmeIdentifier extension"
    if not extension.critical:
        return "has a non-critical acmeIdentifier extension"
    value = extension.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    digest = hashlib.sha256(key_authorization.encode("ascii")).digest()
    if raw != b"\x04\x20" + digest:
        return "has an acmeIdentifier that is not the digest of the key authorization"
    return None


class _OnSocket(http.client.HTTPConnection):
    """An HTTP/1.1 client on a socket already connected to a checked address (http.client would resolve again)."""

    def __init__(self, sock: socket.socket, host: str, port: int) -> None:
        super().__init__(host, port)
        self.sock = sock

    def connect(self) -> None:  # the socket is given; connecting again would resolve the name
        return None


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _identifier(value: str, *, wildcard: bool) -> str:
    """A DNS identifier, lower-cased without a trailing dot; IP literals and bad labels are malformed."""
    name = value.lower().removesuffix(".")
    labels = name.split(".")
    if wildcard and labels[0] == "*" and len(labels) > 2:
        labels = labels[1:]
    try:
        ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        raise _fail("malformed", f"{value!r} is an IP address, not a DNS identifier")
    if not name.isascii() or len(name) > 253 or not all(_LABEL.match(label) for label in labels):
        raise _fail("malformed", f"{value!r} is not a DNS identifier")
    return name


def _nameserver(raw: str) -> tuple[str, int] | None:
    """CERTWRIGHT_ACME_DNS_RESOLVER: "ip", "ip:port" or "[v6]:port"; empty for the system's resolver."""
    if not raw:
        return None
    host, port = raw, "53"
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError as err:
        raise RuntimeError(f"CERTWRIGHT_ACME_DNS_RESOLVER must be ip or ip:port, not {raw!r}") from err
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise RuntimeError(f"CERTWRIGHT_ACME_DNS_RESOLVER has an invalid port in {raw!r}")
    return host, int(port)
