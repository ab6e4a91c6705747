"""Real ACME clients against an ACME server on 127.0.0.1: certbot (from .venv-acme) and lego (Debian), each with
its own state directory, and pebble (Debian) as the reference server, validating through pebble-challtestsrv.

An AcmeServer says where a client talks to (directory URL, the CA bundle for TLS to it, EAB credentials), where
the server validates (the http-01 and tls-alpn-01 ports the clients must listen on, the challtestsrv it resolves
names with) and how to check the outcome (the roots issued certificates chain to, whether a serial is revoked).
The pebble fixture builds one; a Certwright local-runtime fixture can build the same and run the same tests.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import ipaddress
import json
import os
import secrets
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.runtime import LocalRuntime, local_runtime
from tests.acme_tools import ChallTestSrv, challtestsrv, free_port, tool, wait_for_port
from tests.conftest import root_ca_body, sub_ca_body

EMAIL = "pki-team@example.test"
TIMEOUT = 180


@dataclass
class AcmeServer:
    directory: str
    ca_bundle: Path  # trusts the server's own HTTPS certificate
    http_port: int  # where the server connects for http-01 (the client's standalone server listens there)
    tls_port: int  # where it connects for tls-alpn-01
    dns: ChallTestSrv  # the resolver the server validates names (and dns-01 TXT records) with
    eab: tuple[str, str] | None  # (key id, base64url HMAC key) when External Account Binding is required
    roots: Callable[[], bytes]  # PEM trust anchors of the certificates it issues
    revoked: Callable[[int], bool]  # is this serial revoked?


# --- pebble --------------------------------------------------------------------------------------------------


def _tls_identity(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a localhost/127.0.0.1 server certificate for pebble's HTTPS (Debian's pebble ships none
    of upstream's test/certs): (ca.pem, cert.pem, key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ACME test server CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def _https_get(url: str, ca_bundle: Path) -> bytes:
    context = ssl.create_default_context(cafile=str(ca_bundle))
    with urllib.request.urlopen(url, timeout=10, context=context) as answer:  # noqa: S310 - a 127.0.0.1 URL
        body: bytes = answer.read()
    return body


@pytest.fixture(scope="module")
def dns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChallTestSrv]:
    with challtestsrv(tmp_path_factory.mktemp("challtestsrv")) as server:
        yield server


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory, dns: ChallTestSrv) -> Iterator[AcmeServer]:
    """Debian's pebble on 127.0.0.1 with EAB required, names resolved through challtestsrv, no artificial sleeps,
    no nonce rejection (PEBBLE_WFE_NONCEREJECT=0: a client's retry on badNonce is not what these tests show)."""
    binary = tool("pebble")
    home = tmp_path_factory.mktemp("pebble")
    ca, cert, key = _tls_identity(home)
    port, management = free_port(), free_port()
    kid, hmac_key = "kid-1", base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    http_port, tls_port = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(cert),
            "privateKey": str(key),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": True,
            "externalAccountMACKeys": {kid: hmac_key},
        }
    }
    (home / "pebble-config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
    env.update(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
    log = (home / "pebble.log").open("wb")
    process = subprocess.Popen(
        [binary, "-config", str(home / "pebble-config.json"), "-dnsserver", dns.resolver],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"https://127.0.0.1:{management}"

    def roots() -> bytes:
        return _https_get(f"{base}/roots/0", ca)

    def revoked(serial: int) -> bool:
        status = json.loads(_https_get(f"{base}/cert-status-by-serial/{serial:x}", ca))
        return bool(status.get("Status") == "Revoked")

    try:
        wait_for_port(port, process, "pebble")
        wait_for_port(management, process, "pebble management")
        yield AcmeServer(f"https://127.0.0.1:{port}/dir", ca, http_port, tls_port, dns, (kid, hmac_key), roots, revoked)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


# --- Certwright ------------------------------------------------------------------------------------------------


@dataclass
class CertwrightAcme:
    """The Certwright side of an AcmeServer: its API (urllib to the local gateway, as the local admin), the CA
    hierarchy the directory belongs to, and the runtime (for the CRL in S3)."""

    runtime: LocalRuntime
    root_id: str
    issuing_id: str
    server: AcmeServer

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return api_call(self.runtime.api_url, method, path, body)

    def certificate_of_serial(self, serial: int) -> dict[str, Any]:
        status, found = self.call("GET", f"/certificates?serialNumber={serial:x}")
        assert status == 200, found
        (item,) = found["items"]
        status, certificate = self.call("GET", f"/certificates/{item['id']}")
        assert status == 200, certificate
        return dict(certificate)


def api_call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - the local gateway
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - the local gateway
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read()
    return status, json.loads(text) if text else None


def _created(base: str, path: str, body: Any) -> Any:
    status, answer = api_call(base, "POST", path, body)
    assert status in (200, 201), (path, status, answer)
    return answer


@pytest.fixture(scope="module")
def certwright(tmp_path_factory: pytest.TempPathFactory, dns: ChallTestSrv) -> Iterator[CertwrightAcme]:
    """The local runtime with the REAL network challenge checker: it may connect only to 127.0.0.0/8, on the
    http-01 / tls-alpn-01 ports the clients listen on, resolving names (and dns-01 TXT records) through
    challtestsrv; the router runs in its thread, so the validator and the CRL publisher act by themselves while a
    client waits. A root and an issuing CA (names under example.test) are created through the API, and an EAB key
    bound to the calling principal (the local admin) through POST /acme/eab-keys."""
    home = tmp_path_factory.mktemp("certwright")
    http_port, tls_port = free_port(), free_port()
    settings = {
        "CERTWRIGHT_ACME_CHECKER": "network",
        "CERTWRIGHT_ACME_HTTP_PORT": str(http_port),
        "CERTWRIGHT_ACME_TLS_PORT": str(tls_port),
    }
    # The template's parameters set the validator's networks and resolver (its environment wins over the process's).
    parameters = {"CrlBatchSeconds": "0", "AcmeAllowedNetworks": "127.0.0.0/8", "AcmeDnsResolver": dns.resolver}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in settings.items():
            patch.setenv(name, value)
        with local_runtime(sweep_seconds=0, parameters=parameters) as rt:
            base = rt.api_url
            root = _created(base, "/certificate-authorities", root_ca_body(name="acme-clients-root"))
            issuing = _created(
                base,
                "/certificate-authorities",
                sub_ca_body(
                    root["id"],
                    name="acme-clients-issuing",
                    rules={"nameConstraint": {"permittedDnsSubtrees": ["example.test"]}},
                ),
            )
            eab = _created(base, "/acme/eab-keys", {"certificateAuthorityId": issuing["id"]})
            status, bundle = api_call(base, "GET", f"/certificate-authorities/{root['id']}/bundle")
            assert status == 200, bundle
            root_pem = str(bundle["certificatePem"]).encode()
            (home / "root.pem").write_bytes(root_pem)
            s3 = rt.session.client("s3")
            bucket = rt.deployment.resources["PkiBucket"].ref
            seen: dict[str, int] = {}  # the CRL number in which a revoked serial was last found

            def crl() -> x509.CertificateRevocationList | None:
                try:
                    body = s3.get_object(Bucket=bucket, Key=f"crl/{issuing['id']}/0.crl")["Body"].read()
                except s3.exceptions.NoSuchKey:
                    return None
                return x509.load_der_x509_crl(body)

            def revoked(serial: int) -> bool:
                """Is the serial in the issuing CA's CRL? Waits for the CRL publisher (on the bus) to put it there,
                unless a CRL at least as new as one that showed a revocation already says it is not."""
                deadline = time.monotonic() + 90
                while True:
                    current = crl()
                    if current is not None:
                        number = current.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
                        if current.get_revoked_certificate_by_serial_number(serial) is not None:
                            seen["number"] = number
                            return True
                        if "number" in seen and number >= seen["number"]:
                            return False
                    if time.monotonic() > deadline:
                        return False
                    time.sleep(0.5)

            server = AcmeServer(
                f"{base}/acme/{issuing['id']}/directory",
                home / "root.pem",  # the gateway speaks plain HTTP on 127.0.0.1: nothing to trust
                http_port,
                tls_port,
                dns,
                (eab["keyId"], eab["hmacKey"]),
                lambda: root_pem,
                revoked,
            )
            yield CertwrightAcme(rt, root["id"], issuing["id"], server)


# --- a recording proxy -----------------------------------------------------------------------------------------


@dataclass
class Recorded:
    """What a client sent: method, path, and for a POST its JWS decoded (protected header and payload)."""

    method: str
    path: str
    content_type: str
    protected: dict[str, Any] | None = None
    payload: Any = None


@dataclass
class RecordingProxy:
    server: AcmeServer  # the same server, its directory reached through the proxy
    requests: list[Recorded]

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]


def _b64json(raw: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


@contextmanager
def recording_proxy(upstream: AcmeServer, home: Path) -> Iterator[RecordingProxy]:
    """An HTTPS proxy on 127.0.0.1 in front of an ACME server that records every request. It keeps the Host header,
    so the server's URLs (built from Host, as pebble and Certwright's gateway do) name the proxy, and the JWS `url`
    the client signs matches what the server sees. The upstream may be plain HTTP (Certwright's local gateway):
    X-Forwarded-Proto tells it the client spoke HTTPS, as API Gateway does."""
    target = urlsplit(upstream.directory)
    requests: list[Recorded] = []
    context = ssl.create_default_context(cafile=str(upstream.ca_bundle))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            record = Recorded(self.command, self.path, self.headers.get("Content-Type", ""))
            if self.command == "POST" and body:
                jws = json.loads(body)
                record.protected = _b64json(jws["protected"])
                record.payload = _b64json(jws["payload"]) if jws.get("payload") else ""
            requests.append(record)
            connection: http.client.HTTPConnection
            if target.scheme == "https":
                connection = http.client.HTTPSConnection(
                    target.hostname or "", target.port, context=context, timeout=60
                )
            else:  # Certwright's local gateway: plain HTTP on 127.0.0.1
                connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "content-length")}
            headers["X-Forwarded-Proto"] = "https"  # what the client spoke to the proxy, as API Gateway tells it
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("connection", "content-length", "transfer-encoding"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            connection.close()

        do_GET = do_POST = do_HEAD = _forward

        def log_message(self, format: str, *args: Any) -> None:
            return None

    _, cert, key = _tls_identity(home)  # its own certificate from another throwaway CA: trust both
    bundle = home / "bundle.pem"
    bundle.write_bytes((home / "ca.pem").read_bytes() + upstream.ca_bundle.read_bytes())
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    directory = f"https://127.0.0.1:{server.server_address[1]}{target.path}"
    try:
        yield RecordingProxy(replace(upstream, directory=directory, ca_bundle=bundle), requests)
    finally:
        server.shutdown()
        server.server_close()


# --- the flows both servers are run through -------------------------------------------------------------------


def serial_of(path: Path) -> int:
    return x509.load_pem_x509_certificate(path.read_bytes()).serial_number


def names_of(path: Path) -> list[str]:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )


@dataclass
class CertbotLifecycle:
    """What certbot's certonly → renew --force-renewal → revoke left behind, the same checks against any server."""

    first: int  # the serial certonly got
    second: int  # the serial renew got
    archived: int  # certificates in certbot's archive for the name
    verified: tuple[bool, bool]  # openssl verify of each against the server's roots
    revoked: tuple[bool, bool]  # after revoke: (first, second) revoked on the server


def certbot_lifecycle(server: AcmeServer, client: Certbot, domain: str, where: Path) -> CertbotLifecycle:
    client.certonly_standalone(domain)
    live = client.live(domain)
    assert names_of(live / "cert.pem") == [domain]
    first = serial_of(live / "cert.pem")
    verified_first = openssl_verify(server.roots(), live / "chain.pem", live / "cert.pem", where)
    assert verified_first.returncode == 0, verified_first.stdout + verified_first.stderr
    client.run("renew", "--force-renewal")
    second = serial_of(live / "cert.pem")
    verified_second = openssl_verify(server.roots(), live / "chain.pem", live / "cert.pem", where)
    archived = len(list((client.home / "config" / "archive" / domain).glob("cert*.pem")))
    client.run("revoke", "--cert-name", domain, "--no-delete-after-revoke")
    second_revoked = server.revoked(second)
    return CertbotLifecycle(
        first,
        second,
        archived,
        (True, verified_second.returncode == 0),
        (server.revoked(first), second_revoked),
    )


def assert_certbot_requests(requests: RecordingProxy, eab_kid: str) -> None:
    """What certbot sent in its lifecycle, recorded through the proxy: the same against every server."""
    posts = requests.posts()
    account, *later = posts
    assert all(p.content_type == "application/jose+json" for p in posts)
    # newAccount: signed with the account's JWK (RS256: certbot's account key is RSA); the EAB is an HS256 JWS over
    # that JWK inside the payload, its protected header the EAB key id and the newAccount URL (RFC 8555 §7.3.4).
    assert account.protected is not None
    assert set(account.protected) == {"alg", "jwk", "nonce", "url"}
    assert account.protected["alg"] == "RS256"
    eab = account.payload["externalAccountBinding"]
    eab_header = json.loads(base64.urlsafe_b64decode(eab["protected"] + "=="))
    assert eab_header == {"alg": "HS256", "kid": eab_kid, "url": account.protected["url"]}
    assert account.payload["termsOfServiceAgreed"] is True
    # Everything after it is signed with the account URL as kid, the revocation included.
    assert later
    assert all(p.protected is not None and set(p.protected) == {"alg", "kid", "nonce", "url"} for p in later)
    revocations = [p for p in later if isinstance(p.payload, dict) and "certificate" in p.payload]
    assert len(revocations) == 1
    assert revocations[0].payload["reason"] == 0
    # certbot renews on the same account: one newAccount in all three runs.
    assert sum(1 for p in posts if p.protected is not None and "jwk" in p.protected) == 1


# The outcome every ACME server must give certbot's lifecycle: two different serials, both verifying, only the
# renewed one revoked.
def assert_certbot_lifecycle(outcome: CertbotLifecycle) -> None:
    assert outcome.second != outcome.first
    assert (outcome.archived, outcome.verified, outcome.revoked) == (2, (True, True), (False, True))


# --- clients --------------------------------------------------------------------------------------------------


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    if result.returncode != 0:
        raise AssertionError(
            f"{Path(args[0]).name} {' '.join(args[1:3])} failed ({result.returncode}):\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}"
        )
    return result


def _client_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REQUESTS_CA_BUNDLE", "LEGO_", "SSL_CERT"))}
    env.update(extra)
    return env


@dataclass
class Certbot:
    """certbot with its own --config-dir/--work-dir/--logs-dir, non-interactive, talking to one AcmeServer."""

    server: AcmeServer
    home: Path
    binary: str = field(default_factory=lambda: tool("certbot"))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        base = [
            self.binary,
            *args,
            "--non-interactive",
            "--server",
            self.server.directory,
            "--config-dir",
            str(self.home / "config"),
            "--work-dir",
            str(self.home / "work"),
            "--logs-dir",
            str(self.home / "logs"),
            "--no-random-sleep-on-renew",
        ]
        return _run(base, _client_env(REQUESTS_CA_BUNDLE=str(self.server.ca_bundle)), self.home)

    def account_args(self) -> list[str]:
        eab = ["--eab-kid", self.server.eab[0], "--eab-hmac-key", self.server.eab[1]] if self.server.eab else []
        return ["--agree-tos", "-m", EMAIL, *eab]

    def certonly_standalone(self, *domains: str) -> subprocess.CompletedProcess[str]:
        names = [arg for domain in domains for arg in ("-d", domain)]
        return self.run(
            "certonly",
            "--standalone",
            "--http-01-address",
            "127.0.0.1",
            "--http-01-port",
            str(self.server.http_port),
            *self.account_args(),
            *names,
        )

    def certonly_dns(self, *domains: str) -> subprocess.CompletedProcess[str]:
        """dns-01 through manual hooks that set (and clear) the TXT record in the server's challtestsrv."""
        hook = self.home / "dns_hook.py"
        hook.write_text(_DNS_HOOK)
        command = f"{sys.executable} {hook} {self.server.dns.management_port}"
        names = [arg for domain in domains for arg in ("-d", domain)]
        return self.run(
            "certonly",
            "--manual",
            "--preferred-challenges",
            "dns",
            "--manual-auth-hook",
            f"{command} present",
            "--manual-cleanup-hook",
            f"{command} cleanup",
            *self.account_args(),
            *names,
        )

    def live(self, name: str) -> Path:
        return self.home / "config" / "live" / name


# Run by certbot's --manual-*-hook: CERTBOT_DOMAIN and CERTBOT_VALIDATION name the record and its value.
_DNS_HOOK = """
import json, os, sys, urllib.request
port, action = sys.argv[1], sys.argv[2]
host = "_acme-challenge." + os.environ["CERTBOT_DOMAIN"].removeprefix("*.") + "."
body = {"host": host, "value": os.environ["CERTBOT_VALIDATION"]} if action == "present" else {"host": host}
path = "/set-txt" if action == "present" else "/clear-txt"
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode()))
"""


@dataclass
class Lego:
    """lego with its own --path, talking to one AcmeServer (LEGO_CA_CERTIFICATES trusts its HTTPS)."""

    server: AcmeServer
    home: Path
    binary: str = field(default_factory=lambda: tool("lego"))

    def run(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        eab = ["--eab", "--kid", self.server.eab[0], "--hmac", self.server.eab[1]] if self.server.eab else []
        base = [
            self.binary,
            "--accept-tos",
            "--email",
            EMAIL,
            "--server",
            self.server.directory,
            "--path",
            str(self.home / "lego"),
            *eab,
            *args,
        ]
        extra = {"LEGO_CA_CERTIFICATES": str(self.server.ca_bundle), **(env or {})}
        return _run(base, _client_env(**extra), self.home)

    def http01(self, domain: str) -> subprocess.CompletedProcess[str]:
        return self.run("--domains", domain, "--http", "--http.port", f"127.0.0.1:{self.server.http_port}", "run")

    def tls_alpn01(self, domain: str) -> subprocess.CompletedProcess[str]:
        return self.run("--domains", domain, "--tls", "--tls.port", f"127.0.0.1:{self.server.tls_port}", "run")

    def dns01(self, domain: str) -> subprocess.CompletedProcess[str]:
        """dns-01 through lego's exec provider: a script that sets the TXT record in challtestsrv."""
        script = self.home / "lego_dns.py"
        script.write_text(_LEGO_DNS)
        script.chmod(0o755)
        return self.run(
            "--domains",
            domain,
            "--dns",
            "exec",
            "--dns.resolvers",
            self.server.dns.resolver,
            "--dns.disable-cp",
            "run",
            env={"EXEC_PATH": str(script), "CHALLTESTSRV_PORT": str(self.server.dns.management_port)},
        )

    def certificate(self, domain: str) -> Path:
        return self.home / "lego" / "certificates" / f"{domain}.crt"


# lego's exec provider runs `EXEC_PATH present|cleanup <fqdn> <value>` (fqdn = "_acme-challenge.<name>.").
_LEGO_DNS = f"""#!{sys.executable}
import json, os, sys, urllib.request
action, fqdn, value = sys.argv[1], sys.argv[2], sys.argv[3]
body = {{"host": fqdn, "value": value}} if action == "present" else {{"host": fqdn}}
path = "/set-txt" if action == "present" else "/clear-txt"
port = os.environ["CHALLTESTSRV_PORT"]
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{{port}}{{path}}", data=json.dumps(body).encode()))
"""


@pytest.fixture
def certbot(tmp_path: Path) -> Callable[[AcmeServer], Certbot]:
    def make(server: AcmeServer) -> Certbot:
        home = tmp_path / "certbot"
        home.mkdir(exist_ok=True)
        return Certbot(server, home)

    return make


@pytest.fixture
def lego(tmp_path: Path) -> Callable[[AcmeServer], Lego]:
    def make(server: AcmeServer) -> Lego:
        home = tmp_path / "lego"
        home.mkdir(exist_ok=True)
        return Lego(server, home)

    return make


def openssl_verify(roots: bytes, chain: Path, leaf: Path, where: Path) -> subprocess.CompletedProcess[str]:
    """openssl verify of `leaf` with the intermediates in `chain` against the `roots` (PEM)."""
    (where / "roots.pem").write_bytes(roots)
    return subprocess.run(
        ["openssl", "verify", "-CAfile", str(where / "roots.pem"), "-untrusted", str(chain), str(leaf)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
