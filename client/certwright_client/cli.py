"""The `certwright` command: a thin client of the HTTP API, local (default) or deployed (SigV4-signed)."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

from certwright_client import registry

LOCAL_API = "http://127.0.0.1:8080"
MAX_PAGE_SIZE = 100

# Exit codes: every failure is one line `error: <Code>: <message>` on stderr and one of these.
EXIT_REFUSED = 1  # the API refused the request (4xx)
EXIT_USAGE = 2  # bad arguments, an unreadable input file or an unwritable output file (argparse uses 2 too)
EXIT_API_FAILED = 3  # the API failed (5xx)
EXIT_UNREACHABLE = 4  # no answer: connection refused, unknown host, TLS failure, timeout
EXIT_INTERNAL = 70  # a bug in this command (EX_SOFTWARE)

EPILOG = """Lists follow the API's pages to the end unless --limit is given. Output files are written atomically with
mode 0600. Errors are one line on stderr, `error: <Code>: <message>`; exit codes: 1 the API refused the
request (4xx), 2 bad arguments or files, 3 the API failed (5xx), 4 the API could not be reached."""


class CliError(Exception):
    """A failure reported as one line `error: <code>: <message>` and a non-zero exit."""

    def __init__(self, code: str, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line like every other error (and exits 2 as argparse does)."""

    def error(self, message: str) -> NoReturn:
        raise CliError("InvalidArguments", f"{self.prog}: {message} (see --help)", EXIT_USAGE)


def api_url(args: argparse.Namespace) -> str:
    """--api, else CERTWRIGHT_API_URL, else the local runtime."""
    return str(args.api or os.environ.get("CERTWRIGHT_API_URL") or LOCAL_API)


def _api_url(base_url: str) -> str:
    try:
        parts = urlsplit(base_url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        valid = False
    if not valid:
        raise CliError(
            "InvalidApiUrl",
            f"--api {base_url!r} is not an http:// or https:// URL (for example {LOCAL_API})",
            EXIT_USAGE,
        )
    return base_url.rstrip("/")


class Client:
    def __init__(self, base_url: str, caller: str | None, sign: bool, idempotency_key: str | None = None) -> None:
        self.base_url = _api_url(base_url)
        self.caller = caller
        self.sign = sign
        self.idempotency_key = idempotency_key

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        status, _, answer = self.exchange(method, path, body, query)
        return status, answer

    def exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        """One request: status, the answer's headers (lower-case names) and its parsed body."""
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if self.caller:
            headers["X-Certwright-Caller"] = self.caller
        if self.idempotency_key and method == "POST":
            headers["Idempotency-Key"] = self.idempotency_key
        if self.sign:
            headers = _sigv4(method, url, data, headers)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                return response.status, _headers(response.headers), _parsed(response.read())
        except urllib.error.HTTPError as err:
            with err:
                return err.code, _headers(err.headers), _parsed(err.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            raise CliError("ApiUnreachable", f"cannot reach {self.base_url}: {reason}", EXIT_UNREACHABLE) from err


def _headers(message: Any) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in (message.items() if message is not None else [])}


def _parsed(raw: bytes) -> Any:
    """The answer's JSON; text that is not JSON (a proxy's error page) as {"message": text}."""
    text = raw.decode("utf-8", "replace")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return {"message": text}


def _sigv4(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise CliError("NoCredentials", "--sigv4: no AWS credentials found to sign the request", EXIT_USAGE)
    host = urlsplit(url).hostname or ""
    # https://{api}.execute-api.{region}.amazonaws.com names its region; a custom domain uses the session's.
    region = host.split(".")[2] if ".execute-api." in host else (session.region_name or "us-east-1")
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _sans(values: Sequence[str]) -> list[dict[str, str]]:
    sans = []
    for value in values:
        kind, _, name = value.partition(":")
        if kind.upper() not in ("DNS", "IP") or not name:
            raise CliError("InvalidArguments", f"--san takes DNS:name or IP:address, not {value!r}", EXIT_USAGE)
        sans.append({"type": kind.upper(), "value": name})
    return sans


def _subject(args: argparse.Namespace) -> dict[str, str]:
    subject = {"commonName": args.cn}
    if args.org:
        subject["organization"] = args.org
    if args.country:
        subject["country"] = args.country
    return subject


def _read(path: str | None) -> str | None:
    if not path:
        return None
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError("FileNotFound", f"{path}: no such file", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise CliError("FileUnreadable", f"{path}: not UTF-8 text (PEM expected)", EXIT_USAGE) from None
    except OSError as err:
        raise CliError("FileUnreadable", f"{path}: {err.strerror or err}", EXIT_USAGE) from None


def _page_size(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_PAGE_SIZE}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return int(text)


def _list_parser(actions: Any, name: str = "list", **kwargs: Any) -> argparse.ArgumentParser:
    listing: argparse.ArgumentParser = actions.add_parser(name, **kwargs)
    listing.add_argument("--limit", type=_positive, help="at most this many items (default: all, page by page)")
    listing.add_argument("--page-token", help="start from this nextPage token of an earlier listing")
    listing.add_argument(
        "--page-size", type=_page_size, default=MAX_PAGE_SIZE, help=f"items per request (1-{MAX_PAGE_SIZE})"
    )
    return listing


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="certwright",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--api",
        default=None,
        help="API base URL (CERTWRIGHT_API_URL; default the local runtime)",
    )
    parser.add_argument(
        "--caller",
        default=os.environ.get("CERTWRIGHT_CALLER"),
        help="local runtime only: act as this IAM ARN (X-Certwright-Caller)",
    )
    parser.add_argument("--sigv4", action="store_true", help="sign requests with your AWS credentials (deployed API)")
    parser.add_argument("--idempotency-key", help="Idempotency-Key for create calls")
    parser.add_argument(
        "--field", help="print only this field of the answer (dotted, e.g. id or currentVersion.serialNumber)"
    )
    groups = parser.add_subparsers(dest="group", required=True)
    for module in registry.modules():
        module.register(groups)
    return parser


def register(groups: registry.Subcommands) -> None:
    """The resource commands: ca, cert, ca-bundle, assoc, audit (one API call each, answered as JSON)."""
    ca = registry.group(groups, "ca", help="certificate authorities")
    create = ca.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--issuer", help="issuing CA id (omit for a root)")
    create.add_argument("--cn", required=True)
    create.add_argument("--org")
    create.add_argument("--country")
    create.add_argument("--key-algorithm", default="ECDSA_P256")
    create.add_argument(
        "--validity",
        help="ISO-8601 duration; default P10Y, and for a subordinate no longer than its issuer's remaining "
        "validity and certificateAuthorityMaxValidityDuration rule",
    )
    create.add_argument("--path-length", type=int)
    create.add_argument("--max-leaf-validity")
    create.add_argument("--permit-dns", action="append", default=[])
    create.add_argument("--exclude-dns", action="append", default=[])
    _list_parser(ca)
    for action in ("get", "bundle"):
        ca.add_parser(action).add_argument("id")
    _list_parser(ca, "versions").add_argument("id")

    cert = registry.group(groups, "cert", help="certificates")
    create = cert.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--issuer", help="issuing CA id")
    create.add_argument("--profile", default="TLS_SERVER")
    create.add_argument("--cn")
    create.add_argument("--org")
    create.add_argument("--country")
    create.add_argument("--san", action="append", default=[], help="DNS:name or IP:address (repeatable)")
    create.add_argument("--key-algorithm")
    create.add_argument("--validity")
    create.add_argument("--renew-every", help="renewalInterval, e.g. P60D or PT10M")
    create.add_argument("--renew-before", help="advanceRenewalPeriod, e.g. P30D or PT5M")
    create.add_argument("--csr", help="file: a CSR (the key stays with you)")
    create.add_argument("--import-cert", help="file: a certificate to import")
    create.add_argument("--import-chain", help="file: its chain")
    create.add_argument("--import-key", help="file: its private key")
    _list_parser(cert)
    find = cert.add_parser("find", help="the certificate whose version has this serial number or fingerprint")
    seen = find.add_mutually_exclusive_group(required=True)
    seen.add_argument("--serial", help="serial number, hex (as `openssl x509 -serial` prints it)")
    seen.add_argument("--fingerprint", help="SHA-256 fingerprint, hex (colons allowed)")
    cert.add_parser("get").add_argument("id")
    _list_parser(cert, "versions").add_argument("id")
    renew = cert.add_parser("renew", help="make a new version now")
    renew.add_argument("id")
    renew.add_argument("--pending", action="store_true", help="stage it as PENDING instead of CURRENT")
    renew.add_argument("--csr", help="file: a new CSR (CSR-managed certificates)")
    promote = cert.add_parser("promote", help="make version N CURRENT (promote PENDING or roll back)")
    promote.add_argument("id")
    promote.add_argument("version", type=int)
    bundle = cert.add_parser("bundle")
    bundle.add_argument("id")
    bundle.add_argument("--stage")
    bundle.add_argument("--version", type=int)
    bundle.add_argument("--private-key", action="store_true")
    bundle.add_argument(
        "--out", help="write cert.pem, chain.pem, fullchain.pem (and key.pem) into this folder, each mode 0600"
    )
    delete = cert.add_parser("schedule-deletion")
    delete.add_argument("id")
    delete.add_argument("--at", help="ISO-8601 time of deletion (default: 30 days)")
    cert.add_parser("cancel-deletion").add_argument("id")

    bundles = registry.group(groups, "ca-bundle", help="CA bundles")
    create = bundles.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--pem", help="file: CA certificates (PEM) to trust")
    create.add_argument("--ca", action="append", default=[], help="CA id to trust, kept current (repeatable)")
    create.add_argument("--no-chain", action="store_true", help="only each CA's own certificate, not its chain")
    _list_parser(bundles)
    bundles.add_parser("get").add_argument("id")
    _list_parser(bundles, "versions").add_argument("id")
    pem = bundles.add_parser("bundle", help="the PEM concatenation a verifier loads")
    pem.add_argument("id")
    pem.add_argument("--stage")
    pem.add_argument("--version", type=int)
    pem.add_argument("--out", help="write the PEM to this file (mode 0600)")

    assoc = registry.group(groups, "assoc", help="associations")
    create = assoc.add_parser("create")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--cert")
    target.add_argument("--ca-bundle", help="a CA bundle the resource trusts (mTLS)")
    create.add_argument("--resource", required=True, help="listener, ACM certificate, or IAM role/user ARN")
    create.add_argument("--hostname", action="append", default=[])
    create.add_argument("--sni", action="store_true", help="serve as an SNI certificate, not the listener default")
    _list_parser(assoc).add_argument("--cert")
    for action in ("get", "delete"):
        assoc.add_parser(action).add_argument("id")
    assoc.add_parser(
        "confirm", help="the host confirms an association to itself (run with its own identity)"
    ).add_argument("id")

    audit = registry.group(groups, "audit", help="audit records")
    _list_parser(audit, help="a resource's audit records, newest first").add_argument(
        "resource_id", help="a certificate, CA, CA bundle or association id"
    )
    for name in ("ca", "cert", "ca-bundle", "assoc", "audit"):
        groups.choices[name].set_defaults(execute=_resource)


def _list(
    client: Client, path: str, args: argparse.Namespace, query: dict[str, Any] | None = None, *, paged: bool = True
) -> tuple[int, Any]:
    """Every item of a listing, following nextPage to the end (or until --limit items)."""
    limit: int | None = args.limit
    token: str | None = args.page_token
    items: list[Any] = []
    seen: set[str] = set()
    while True:
        # Never ask for more than --limit still wants, so the nextPage answered is exactly where to go on.
        size = min(args.page_size, limit - len(items)) if limit else args.page_size
        page_query = {**(query or {}), "page": token}
        if paged:
            page_query["limit"] = size
        status, body = client.call("GET", path, query=page_query)
        if status >= 400 or not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return status, body
        items.extend(body["items"])
        token = body.get("nextPage") or body.get("nextToken")
        if not token or (limit is not None and len(items) >= limit):
            return status, {"items": items, "nextPage": token}
        if token in seen:
            raise CliError("PagingLoop", f"GET {path} answered the page token {token!r} twice", EXIT_API_FAILED)
        seen.add(token)


def run(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    """The API call the parsed command stands for (each command's parser names its `execute`)."""
    execute: Callable[[argparse.Namespace, Client], tuple[int, Any]] = args.execute
    return execute(args, client)


def _resource(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    g, a = args.group, args.action
    if g == "ca":
        if a == "create":
            rules: dict[str, Any] = {}
            if args.path_length is not None:
                rules["pathLengthConstraint"] = args.path_length
            if args.max_leaf_validity:
                rules["leafCertificateMaxValidityDuration"] = args.max_leaf_validity
            if args.permit_dns or args.exclude_dns:
                rules["nameConstraint"] = {
                    "permittedDnsSubtrees": args.permit_dns,
                    "excludedDnsSubtrees": args.exclude_dns,
                }
            body = {
                "name": args.name,
                "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA" if args.issuer else "ROOT_CA_GENERATED_INTERNALLY",
                "issuerCertificateAuthorityId": args.issuer,
                "subject": _subject(args),
                "keyAlgorithm": args.key_algorithm,
                "validityDuration": args.validity,
                "rules": rules or None,
            }
            return client.call("POST", "/certificate-authorities", {k: v for k, v in body.items() if v is not None})
        if a == "list":
            return _list(client, "/certificate-authorities", args)
        if a == "versions":
            return _list(client, f"/certificate-authorities/{args.id}/versions", args, paged=False)
        suffix = {"get": "", "bundle": "/bundle"}[a]
        return client.call("GET", f"/certificate-authorities/{args.id}{suffix}")
    if g == "cert":
        return _cert(args, client)
    if g == "ca-bundle":
        return _ca_bundle(args, client)
    if g == "audit":
        return _list(client, "/audit-events", args, {"resourceId": args.resource_id})
    if a == "create":
        target = {"caBundleId": args.ca_bundle} if args.ca_bundle else {"certificateId": args.cert}
        body = {**target, "associatedResourceId": args.resource, "hostnames": args.hostname}
        if args.sni:
            body["listenerCertificateRole"] = "SNI"
        return client.call("POST", "/associations", body)
    if a == "list":
        return _list(client, "/associations", args, {"certificateId": args.cert})
    if a == "confirm":
        return client.call("POST", f"/associations/{args.id}/actions/confirm", {})
    return client.call("DELETE" if a == "delete" else "GET", f"/associations/{args.id}")


def _cert(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a = args.action
    if a == "create":
        kind = (
            "IMPORTED"
            if args.import_cert
            else ("MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA" if args.csr else "ISSUED_BY_INTERNAL_CA")
        )
        body: dict[str, Any] = {"name": args.name, "configType": kind}
        if kind == "IMPORTED":
            body |= {
                "certificatePem": _read(args.import_cert),
                "certChainPem": _read(args.import_chain),
                "privateKeyPem": _read(args.import_key),
            }
        else:
            body |= {
                "issuerCertificateAuthorityId": args.issuer,
                "profile": args.profile,
                "subjectAlternativeNames": _sans(args.san),
            }
            if args.cn:
                body["subject"] = _subject(args)
            if args.csr:
                body["csrPem"] = _read(args.csr)
            for field, value in (("keyAlgorithm", args.key_algorithm), ("validityDuration", args.validity)):
                if value:
                    body[field] = value
            if args.renew_every or args.renew_before:
                body["renewalRule"] = {"renewalInterval": args.renew_every, "advanceRenewalPeriod": args.renew_before}
        return client.call("POST", "/certificates", body)
    if a == "list":
        return _list(client, "/certificates", args)
    if a == "find":
        query = {"serialNumber": args.serial, "fingerprintSha256": args.fingerprint}
        return client.call("GET", "/certificates", query=query)
    if a == "versions":
        return _list(client, f"/certificates/{args.id}/versions", args, paged=False)
    if a == "get":
        return client.call("GET", f"/certificates/{args.id}")
    if a == "renew":
        body = {"stage": "PENDING" if args.pending else "CURRENT"}
        if args.csr:
            body["csrPem"] = _read(args.csr) or ""
        return client.call("POST", f"/certificates/{args.id}/versions", body)
    if a == "promote":
        return client.call("POST", f"/certificates/{args.id}/versions/{args.version}/actions/promote", {})
    if a == "schedule-deletion":
        return client.call(
            "POST", f"/certificates/{args.id}/actions/schedule-deletion", {"timeOfDeletion": args.at} if args.at else {}
        )
    if a == "cancel-deletion":
        return client.call("POST", f"/certificates/{args.id}/actions/cancel-deletion", {})
    status, body = client.call(
        "GET",
        f"/certificates/{args.id}/bundle",
        query={
            "stage": args.stage,
            "versionNumber": args.version,
            "includePrivateKey": "true" if args.private_key else None,
        },
    )
    if status == 200 and args.out:
        _write_bundle(Path(args.out), body)
        body = {k: v for k, v in body.items() if k != "privateKeyPem"} | {"writtenTo": args.out}
    return status, body


def _ca_bundle(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a = args.action
    if a == "create":
        body: dict[str, Any] = {"name": args.name, "certificateAuthorityIds": args.ca}
        if args.pem:
            body["caBundlePem"] = _read(args.pem)
        if args.no_chain:
            body["includeCertificateAuthorityChain"] = False
        return client.call("POST", "/ca-bundles", body)
    if a == "list":
        return _list(client, "/ca-bundles", args)
    if a == "versions":
        return _list(client, f"/ca-bundles/{args.id}/versions", args, paged=False)
    if a == "get":
        return client.call("GET", f"/ca-bundles/{args.id}")
    query = {"stage": args.stage, "versionNumber": args.version}
    status, body = client.call("GET", f"/ca-bundles/{args.id}/bundle", query=query)
    if status == 200 and args.out:
        write_private(Path(args.out), body["caBundlePem"])
        body = {k: v for k, v in body.items() if k != "caBundlePem"} | {"writtenTo": args.out}
    return status, body


def _write_bundle(folder: Path, bundle: dict[str, Any]) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise CliError("OutputNotWritable", f"{folder}: {err.strerror or err}", EXIT_USAGE) from None
    if "privateKeyPem" in bundle:
        write_private(folder / "key.pem", bundle["privateKeyPem"])
    write_private(folder / "cert.pem", bundle["certificatePem"])
    write_private(folder / "chain.pem", bundle["certChainPem"])
    write_private(folder / "fullchain.pem", bundle["certificatePem"] + bundle["certChainPem"])


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically: a 0600 temp file beside it, then os.replace.

    Readers see the old file or the new one, never half of one; an existing file's looser mode does not
    survive (the new inode replaces it), and the content is never readable by others, not even briefly.
    """
    try:
        # mkstemp creates the file O_EXCL with mode 0600 whatever the umask.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise CliError("OutputNotWritable", f"{path}: {err.strerror or err}", EXIT_USAGE) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(err, OSError):
            raise CliError("OutputNotWritable", f"{path}: {err.strerror or err}", EXIT_USAGE) from None
        raise


def _one_line(text: str) -> str:
    """Control characters and line breaks from a server never reach the terminal; long text is cut."""
    cleaned = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return cleaned if len(cleaned) <= 1000 else cleaned[:1000] + "…"


def api_error(status: int, body: Any) -> CliError:
    """The API's {code, message} as a CliError; answers that are not the API's (a proxy's page) get HTTP<status>."""
    code, message = f"HTTP{status}", ""
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        message = str(body.get("message") or "")
    elif body is not None:
        message = str(body)
    if not message:
        try:
            message = HTTPStatus(status).phrase
        except ValueError:
            message = f"HTTP status {status}"
    return CliError(_one_line(code), _one_line(message), EXIT_API_FAILED if status >= 500 else EXIT_REFUSED)


def _field(body: Any, path: str) -> Any:
    value = body
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise CliError("NoSuchField", f"--field {path}: the answer has no {part!r}", EXIT_USAGE)
    return value


def _output(args: argparse.Namespace, status: int, body: Any) -> str:
    if args.field:
        value = _field(body, args.field)
        return value if isinstance(value, str) else json.dumps(value, indent=2)
    return json.dumps(body, indent=2) if body is not None else f"HTTP {status}"


def _note(args: argparse.Namespace, body: Any) -> str | None:
    """What the caller did not choose and should know about."""
    if args.group == "ca" and args.action == "create" and args.issuer and not args.validity:
        version = body.get("currentVersion") if isinstance(body, dict) else None
        not_after = (version or {}).get("validity", {}).get("notAfter") if isinstance(version, dict) else None
        return (
            f"note: no --validity given: P10Y cut to fit inside issuer {args.issuer} "
            f"(its remaining validity and certificateAuthorityMaxValidityDuration): notAfter {not_after}"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        program: Callable[[argparse.Namespace], int] | None = getattr(args, "run", None)
        if program is not None:
            return program(args)  # a command that talks to the API its own way (agent, diagnose)
        client = Client(api_url(args), args.caller, args.sigv4, args.idempotency_key)
        status, body = run(args, client)
        if status >= 400:
            raise api_error(status, body)
        text = _output(args, status, body)
        note = _note(args, body)
        if note:
            print(note, file=sys.stderr)
        print(text)
        return 0
    except CliError as err:
        print(f"error: {err.code}: {err.message}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: Interrupted: stopped before the answer arrived", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `certwright cert list | head`: the reader has what it wanted; say nothing at exit either.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SystemExit as exit_:
        # --help and --version print and exit 0.
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else EXIT_USAGE)
    except Exception as err:  # noqa: BLE001 - a command prints one line, never a traceback
        print(f"error: InternalError: {type(err).__name__}: {_one_line(str(err))}", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    # Run the imported module's main, not this __main__ copy: command modules import certwright_client.cli, and
    # its CliError must be the one main() catches.
    from certwright_client.cli import main as _main

    sys.exit(_main())
