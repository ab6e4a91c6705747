"""`certwright diagnose HOST[:PORT]`: its arguments, its trust store, its Certwright lookup and its exit code."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from certwright.x509 import endpoint_checks as checks
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certwright_client.diagnose import connect, render

EXIT_HEALTHY = 0
EXIT_UNHEALTHY = 1  # at least one finding of severity error
EXIT_USAGE = 2  # bad arguments or an unreadable --ca-file
EXIT_COULD_NOT_CHECK = 4  # no handshake, no certificate, or no trust store: nothing can be said

HELP = """Connects to HOST:PORT (default port 443), reads the served chain and reports each finding with its cause and
fix. Exit codes: 0 healthy (warnings allowed), 1 unhealthy, 2 bad arguments, 4 could not check (no connection,
no handshake, or the trust store could not be read). When the leaf is a Certwright certificate (found by its serial
number through the API), the report names the certificate, version and associations, and any deployment drift."""


class Unchecked(Exception):
    """diagnose could not produce a verdict; the message says why."""

    def __init__(self, message: str, exit_code: int = EXIT_COULD_NOT_CHECK) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `diagnose` to the `certwright` command's subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "diagnose",
        help="check what an endpoint serves (the TLS runbook as a command)",
        description=HELP,
    )
    parser.add_argument("target", metavar="HOST[:PORT]")
    parser.add_argument("--servername", help="the SNI name to send and the name to check (default HOST)")
    trust = parser.add_mutually_exclusive_group()
    trust.add_argument("--ca-file", help="PEM file of the roots to trust instead of the system trust store")
    trust.add_argument("--ca-bundle", metavar="ID", help="trust the CURRENT version of this Certwright CA bundle")
    parser.add_argument("--output", choices=("text", "json"), default="text")
    parser.add_argument(
        "--no-lookup", action="store_true", help="do not ask the Certwright API about the served certificate"
    )
    parser.set_defaults(run=run)
    return parser


def parse_target(target: str) -> tuple[str, int]:
    """HOST, HOST:PORT, [V6]:PORT or a bare IPv6 address; the port defaults to 443."""
    host, port = target, "443"
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise Unchecked(f"{target!r} is not HOST[:PORT]", EXIT_USAGE)
            port = rest[1:]
    elif target.count(":") == 1:
        host, port = target.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise Unchecked(f"{target!r} is not HOST[:PORT] with a port from 1 to 65535", EXIT_USAGE)
    return host, int(port)


# -- the API (HTTP only: of the layer this package imports only the pure verdicts, endpoint_checks) ----------


class Api:
    """GETs against the Certwright API with the command's --api, --caller and --sigv4."""

    def __init__(self, base_url: str, caller: str | None, sign: bool) -> None:
        self.base_url = base_url.rstrip("/")
        self.caller = caller
        self.sign = sign

    def get(self, path: str, query: dict[str, Any] | None = None) -> tuple[int, Any]:
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        headers = {"Accept": "application/json"}
        if self.caller:
            headers["X-Certwright-Caller"] = self.caller
        if self.sign:
            headers = _sigv4(url, headers)
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            with err:
                try:
                    return err.code, json.loads(err.read() or b"null")
                except ValueError:
                    return err.code, None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            raise ConnectionError(f"cannot reach {self.base_url}: {reason}") from err


def _sigv4(url: str, headers: dict[str, str]) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise Unchecked("--sigv4: no AWS credentials found to sign the request", EXIT_USAGE)
    host = urlsplit(url).hostname or ""
    region = host.split(".")[2] if ".execute-api." in host else (session.region_name or "us-east-1")
    request = AWSRequest(method="GET", url=url, headers=headers)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _api(args: argparse.Namespace) -> Api:
    return Api(
        getattr(args, "api", None) or os.environ.get("CERTWRIGHT_API_URL", "http://127.0.0.1:8080"),
        getattr(args, "caller", None),
        bool(getattr(args, "sigv4", False)),
    )


# -- trust stores ------------------------------------------------------------------------------------


def _pem_certificates(data: bytes, source: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as err:
        raise Unchecked(f"{source}: no PEM certificate in it ({err})", EXIT_USAGE) from None


def system_trust_store() -> checks.TrustStore:
    """The roots OpenSSL's default paths hold (what `openssl s_client` and Python's ssl trust)."""
    paths = ssl.get_default_verify_paths()
    files = [p for p in (paths.cafile, paths.openssl_cafile) if p and os.path.isfile(p)]
    for directory in (paths.capath, paths.openssl_capath):
        if directory and os.path.isdir(directory):
            files.extend(
                str(p) for p in sorted(Path(directory).iterdir()) if p.is_file() and p.suffix in (".pem", ".crt", ".0")
            )
    roots: dict[bytes, x509.Certificate] = {}
    for name in dict.fromkeys(files):
        try:
            for certificate in x509.load_pem_x509_certificates(Path(name).read_bytes()):
                roots[certificate.fingerprint(hashes.SHA256())] = certificate
        except (ValueError, OSError):
            continue
    return checks.TrustStore("the system trust store", tuple(roots.values()))


def trust_store(args: argparse.Namespace, api: Api) -> checks.TrustStore:
    if args.ca_file:
        try:
            data = Path(args.ca_file).read_bytes()
        except OSError as err:
            raise Unchecked(f"--ca-file {args.ca_file}: {err.strerror or err}", EXIT_USAGE) from None
        return checks.TrustStore(f"--ca-file {args.ca_file}", tuple(_pem_certificates(data, args.ca_file)))
    if args.ca_bundle:
        try:
            status, body = api.get(f"/ca-bundles/{quote(args.ca_bundle, safe='')}/bundle")
        except ConnectionError as err:
            raise Unchecked(f"--ca-bundle {args.ca_bundle}: {err}") from None
        if status != 200 or not isinstance(body, dict) or not isinstance(body.get("caBundlePem"), str):
            code = body.get("code") if isinstance(body, dict) else None
            raise Unchecked(f"--ca-bundle {args.ca_bundle}: the API answered HTTP {status} {code or ''}".rstrip())
        version = body.get("versionNumber")
        roots = _pem_certificates(body["caBundlePem"].encode(), f"CA bundle {args.ca_bundle}")
        return checks.TrustStore(f"Certwright CA bundle {args.ca_bundle} v{version}", tuple(roots))
    store = system_trust_store()
    if not store.roots:
        raise Unchecked("the system trust store is empty or unreadable; pass --ca-file or --ca-bundle")
    return store


# -- Certwright's record of the served certificate ---------------------------------------------------


def lookup(api: Api, leaf: x509.Certificate) -> tuple[checks.CertwrightView | None, str | None]:
    """Certwright's certificate, version and associations for the served leaf, found by serial; or a note why not."""
    serial = f"{leaf.serial_number:x}"
    try:
        status, body = api.get("/certificates", {"serialNumber": serial})
        if status != 200 or not isinstance(body, dict):
            return None, f"Certwright lookup by serial {serial}: the API answered HTTP {status}"
        items = [i for i in body.get("items") or [] if isinstance(i, dict)]
        if not items:
            return None, f"serial {serial} is not a Certwright certificate you may read"
        certificate = items[0]
        certificate_id = str(certificate["id"])
        _, versions = api.get(f"/certificates/{quote(certificate_id, safe='')}/versions")
        served = next(
            (v for v in (versions or {}).get("items") or [] if v.get("serialNumber") == serial),
            None,
        )
        if served is None:
            return None, f"serial {serial}: certificate {certificate_id} lists no such version"
        number = int(served["versionNumber"])
        _, associations = api.get("/associations", {"certificateId": certificate_id, "limit": 100})
        _, bundle = api.get(f"/certificates/{quote(certificate_id, safe='')}/bundle", {"versionNumber": number})
    except ConnectionError as err:
        return None, f"Certwright not asked about serial {serial}: {err}"
    chain: list[x509.Certificate] = []
    if isinstance(bundle, dict) and isinstance(bundle.get("certChainPem"), str) and bundle["certChainPem"].strip():
        try:
            chain = x509.load_pem_x509_certificates(bundle["certChainPem"].encode())
        except ValueError:
            chain = []
    current = certificate.get("currentVersion") or {}
    view = checks.CertwrightView(
        certificate_id=certificate_id,
        certificate_name=str(certificate.get("name")),
        version_number=number,
        stages=tuple(served.get("stages") or ()),
        current_version_number=current.get("versionNumber"),
        current_since=_moment(current.get("timeCreated")),
        associations=tuple(
            {k: a.get(k) for k in ("id", "associatedResourceId", "associationType", "hostnames", "deployment")}
            for a in ((associations or {}).get("items") or [])
            if isinstance(a, dict)
        ),
        chain=tuple(chain),
    )
    return view, None


def _moment(text: Any) -> str | None:
    """An API timestamp to the second, as the report prints times (2026-12-01T10:02:00Z)."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return text


def diagnose(args: argparse.Namespace, now: datetime | None = None) -> render.Diagnosis:
    host, port = parse_target(args.target)
    api = _api(args)
    trust = trust_store(args, api)
    try:
        observation = connect.observe(host, port, args.servername)
    except connect.CouldNotCheck as err:
        raise Unchecked(str(err)) from None
    notes: list[str] = []
    view = None
    if not args.no_lookup:
        view, note = lookup(api, observation.with_sni.chain[0])
        if note:
            notes.append(note)
    if observation.without_sni_error:
        notes.append(f"without SNI: {observation.without_sni_error}")
    moment = now or datetime.now(UTC)
    return render.Diagnosis(observation, trust, moment, checks.diagnose(observation, trust, moment, view), notes)


def run(args: argparse.Namespace) -> int:
    """Run diagnose for parsed arguments; print the report; return the exit code."""
    try:
        diagnosis = diagnose(args)
    except Unchecked as err:
        if getattr(args, "output", "text") == "json":
            print(json.dumps({"target": args.target, "healthy": None, "couldNotCheck": str(err)}, indent=2))
        print(f"error: CouldNotCheck: {err}", file=sys.stderr)
        return err.exit_code
    print(render.as_json(diagnosis) if args.output == "json" else render.as_text(diagnosis))
    return EXIT_HEALTHY if checks.healthy(diagnosis.findings) else EXIT_UNHEALTHY
