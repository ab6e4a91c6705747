"""The `certwright` command: a thin client of the HTTP API, local (default) or deployed (SigV4-signed)."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
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

from certwright_client import output, registry, wait
from certwright_client.wait import EXIT_TIMEOUT, EXIT_WAIT_FAILED

LOCAL_API = "http://127.0.0.1:8080"
MAX_PAGE_SIZE = 100

# Exit codes: every failure is one line `error: <Code>: <message>` on stderr and one of these.
EXIT_REFUSED = 1  # the API refused the request (4xx)
EXIT_USAGE = 2  # bad arguments, an unreadable input file or an unwritable output file (argparse uses 2 too)
EXIT_API_FAILED = 3  # the API failed (5xx)
EXIT_UNREACHABLE = 4  # no answer: connection refused, unknown host, TLS failure, timeout
EXIT_INTERNAL = 70  # a bug in this command (EX_SOFTWARE)
# EXIT_WAIT_FAILED (5) and EXIT_TIMEOUT (75): --wait saw the work fail, or not finish in time (certwright_client.wait).
DEFAULT_TIMEOUT = 600  # seconds

EPILOG = """Lists follow the API's pages to the end unless --limit is given. Output files are written atomically with
mode 0600. Answers print as a table on a terminal and as JSON into a pipe (--output table|json|yaml).
Errors are one line on stderr, `error: <Code>: <message>`; exit codes: 1 the API refused the request (4xx),
2 bad arguments or files, 3 the API failed (5xx), 4 the API could not be reached, 5 --wait saw the work
fail, 75 --wait timed out (the work goes on). `certwright completion bash` prints shell completion."""


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


class _Help(argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default (not set / off / none when it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if action.nargs == 0 and isinstance(action, argparse._HelpAction | argparse._VersionAction):
            return text
        default = action.default
        shown = (
            "off"
            if default is False
            else "not set"
            if default is None
            else "none"
            if default == []
            else ",".join(map(str, default))
            if isinstance(default, list)
            else str(default)
        )
        return f"{text} (default: {shown})".strip()


def _cmd(actions: Any, name: str, help: str, **kwargs: Any) -> argparse.ArgumentParser:
    """One command of a group: its help line, and an --output choice that may also be given after the command."""
    parser: argparse.ArgumentParser = actions.add_parser(
        name, help=help, description=kwargs.pop("description", help), formatter_class=_Help, **kwargs
    )
    _output_options(parser)
    return parser


def _output_options(parser: argparse.ArgumentParser) -> None:
    """--output (and --field), which may also be given after the command."""
    parser.add_argument(
        "-o",
        "--output",
        dest="output_format",
        choices=output.FORMATS,
        default=argparse.SUPPRESS,
        help="table, json or yaml (default: CERTWRIGHT_OUTPUT, else table on a terminal and json into a pipe)",
    )
    _field_option(parser)


def _field_option(parser: argparse.ArgumentParser) -> None:
    """--field after the command too (`certwright cert get ID --field id`), as before it."""
    parser.add_argument(
        "--field",
        default=argparse.SUPPRESS,
        help="print only this field of the answer (dotted, e.g. id or currentVersion.serialNumber; default: all)",
    )


def _wait_options(parser: argparse.ArgumentParser, until: str) -> None:
    parser.add_argument("--wait", action="store_true", help=f"wait until {until}; progress on stderr")
    parser.add_argument(
        "--timeout", type=_seconds, default=DEFAULT_TIMEOUT, help=f"seconds --wait waits before exit {EXIT_TIMEOUT}"
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _tag(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE, not {text!r}")
    return key, value


def _tags_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tag", dest="tags", type=_tag, action="append", default=[], metavar="KEY=VALUE", help="a tag (repeatable)"
    )


# List filters the API takes (issue 14, the inventory's query parameters), passed straight through: option dest →
# parameter. An API that does not filter by one ignores it.
FILTERS: dict[str, str] = {
    "name": "name",
    "name_prefix": "namePrefix",
    "state": "lifecycleState",
    "issuer": "issuerCertificateAuthorityId",
    "san": "san",
    "hostname": "hostname",
    "serial": "serialNumber",
    "expires_before": "notAfterBefore",
    "expires_after": "notAfterAfter",
    "in_use": "inUse",
    "deployment_state": "deploymentState",
    "tags": "tag",
    "sort_by": "sortBy",
    "sort_order": "sortOrder",
}
SORT_FIELDS = {"name": "name", "created": "timeCreated", "timeCreated": "timeCreated", "notAfter": "notAfter"}


def _list_parser(actions: Any, name: str = "list", *, filters: bool = False, **kwargs: Any) -> argparse.ArgumentParser:
    listing = _cmd(actions, name, kwargs.pop("help", "list them"), **kwargs)
    pages = listing.add_mutually_exclusive_group()
    pages.add_argument("--limit", type=_positive, help="at most this many items (default: all, page by page)")
    pages.add_argument("--all", action="store_true", help="follow every page to the end (what no --limit does)")
    listing.add_argument("--page-token", help="start from this nextPage token of an earlier listing")
    listing.add_argument(
        "--page-size", type=_page_size, default=MAX_PAGE_SIZE, help=f"items per request (1-{MAX_PAGE_SIZE})"
    )
    if filters:
        listing.add_argument("--name", help="only this exact name")
        listing.add_argument("--name-prefix", help="only names starting with this")
        listing.add_argument("--state", help="only this lifecycle state (ACTIVE, PENDING_DELETION, ...)")
        listing.add_argument("--issuer", help="only those issued by this CA id")
        listing.add_argument("--san", help="only certificates with this SAN, exactly (e.g. *.example.com)")
        listing.add_argument("--hostname", help="only certificates serving this host (a SAN or a wildcard covering it)")
        listing.add_argument("--serial", help="only the one whose version has this serial number (hex)")
        listing.add_argument("--expires-before", metavar="TIME", help="only notAfter before this ISO-8601 time")
        listing.add_argument("--expires-after", metavar="TIME", help="only notAfter after this ISO-8601 time")
        use = listing.add_mutually_exclusive_group()
        use.add_argument("--in-use", dest="in_use", action="store_const", const="true", help="only associated ones")
        use.add_argument("--not-in-use", dest="in_use", action="store_const", const="false", help="only unassociated")
        listing.add_argument("--deployment-state", help="only with an association in this state (DEPLOYED, FAILED…)")
        _tags_option(listing)
        listing.add_argument(
            "--sort-by", choices=tuple(SORT_FIELDS), help="sort by this field (the API's default order otherwise)"
        )
        listing.add_argument(
            "--sort-order", type=str.upper, choices=("ASC", "DESC"), help="sort direction, asc or desc (API: ASC)"
        )
    return listing


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for dest, parameter in FILTERS.items():
        value = getattr(args, dest, None)
        if dest == "tags":
            value = [f"{k}={v}" for k, v in value] if value else None
        if dest == "sort_by" and value is not None:
            value = SORT_FIELDS[value]
        if value is not None:
            query[parameter] = value
    return query


def _id(parser: argparse.ArgumentParser, what: str) -> argparse.ArgumentParser:
    parser.add_argument("id", help=f"the {what} id")
    return parser


def _version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("version", type=_positive, help="the version number (1, 2, ...)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="certwright", description=__doc__, epilog=EPILOG, formatter_class=_Help)
    parser.add_argument("--api", default=None, help="API base URL (CERTWRIGHT_API_URL; default the local runtime)")
    parser.add_argument(
        "--caller",
        default=os.environ.get("CERTWRIGHT_CALLER"),
        help="local runtime only: act as this IAM ARN (X-Certwright-Caller; default CERTWRIGHT_CALLER)",
    )
    parser.add_argument("--sigv4", action="store_true", help="sign requests with your AWS credentials (deployed API)")
    parser.add_argument("--idempotency-key", help="Idempotency-Key for create calls")
    parser.add_argument(
        "--field", help="print only this field of the answer (dotted, e.g. id or currentVersion.serialNumber)"
    )
    parser.add_argument(
        "-o",
        "--output",
        dest="output_format",
        choices=output.FORMATS,
        default=None,
        help="table, json or yaml (default: CERTWRIGHT_OUTPUT, else table on a terminal and json into a pipe)",
    )
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    for module in registry.modules():
        module.register(groups)
    return parser


def register(groups: registry.Subcommands) -> None:
    """The resource commands: one API call each (and with --wait, polling until the work is done)."""
    _register_ca(groups)
    _register_cert(groups)
    _register_ca_bundle(groups)
    _register_assoc(groups)
    _register_acme(groups)
    audit = registry.group(groups, "audit", help="audit records")
    _list_parser(audit, help="a resource's audit records, newest first").add_argument(
        "resource_id", help="a certificate, CA, CA bundle or association id"
    )
    grant = registry.group(groups, "grant", help="grants: roles on one resource for one principal")
    create = _cmd(grant, "create", "grant a principal a role on a resource")
    create.add_argument("--resource", required=True, help="CA, certificate or CA bundle id")
    create.add_argument("--principal", required=True, help="IAM role or user ARN")
    create.add_argument("--role", required=True, choices=("ISSUER", "MANAGER", "READER"), help="the role")
    _list_parser(grant, help="the grants on a resource").add_argument("--resource", required=True, help="resource id")
    _id(_cmd(grant, "delete", "remove a grant"), "grant")
    poll = groups.add_parser(
        "poll", help="what the caller (a host) should serve: its associations and versions", formatter_class=_Help
    )
    poll.add_argument("--cert", action="append", default=[], help="only this certificate's (repeatable)")
    poll.add_argument(
        "--if-none-match", metavar="ETAG", help="the etag of an earlier answer: unchanged answers 304, printed as such"
    )
    _output_options(poll)
    completion = groups.add_parser("completion", help="print a shell completion script", formatter_class=_Help)
    completion.add_argument(
        "shell", choices=("bash", "zsh"), help="the shell (bash: `source <(certwright completion bash)`)"
    )
    completion.set_defaults(run=_completion)
    for name in ("ca", "cert", "ca-bundle", "assoc", "audit", "grant", "poll", "acme"):
        groups.choices[name].set_defaults(execute=_resource)


def _register_ca(groups: registry.Subcommands) -> None:
    ca = registry.group(groups, "ca", help="certificate authorities")
    create = _cmd(ca, "create", "create a root CA, or a subordinate with --issuer")
    create.add_argument("--name", required=True, help="a name for people")
    create.add_argument("--issuer", help="issuing CA id (omit for a root)")
    create.add_argument("--cn", required=True, help="subject common name")
    create.add_argument("--org", help="subject organization")
    create.add_argument("--country", help="subject country (two letters)")
    create.add_argument(
        "--key-algorithm", default="ECDSA_P256", help="ECDSA_P256, ECDSA_P384, RSA_2048, RSA_3072 or RSA_4096"
    )
    create.add_argument(
        "--validity",
        help="ISO-8601 duration (default P10Y, and for a subordinate no longer than its issuer's remaining "
        "validity and certificateAuthorityMaxValidityDuration rule)",
    )
    create.add_argument("--path-length", type=int, help="pathLenConstraint of the CA certificate")
    create.add_argument("--max-leaf-validity", help="longest validity of certificates it issues (ISO-8601)")
    create.add_argument("--permit-dns", action="append", default=[], help="permitted DNS subtree (repeatable)")
    create.add_argument("--exclude-dns", action="append", default=[], help="excluded DNS subtree (repeatable)")
    _tags_option(create)
    _list_parser(ca, filters=True, help="list CAs")
    _id(_cmd(ca, "get", "show a CA"), "CA")
    bundle = _id(_cmd(ca, "bundle", "the CA's certificate and chain (PEM)"), "CA")
    bundle.add_argument("--out", help="write ca.pem, chain.pem and fullchain.pem into this folder, each mode 0600")
    _id(_list_parser(ca, "versions", help="the CA's versions (certificates)"), "CA")
    renew = _id(_cmd(ca, "renew", "a new CA version (certificate) with the same key"), "CA")
    renew.add_argument("--validity", help="ISO-8601 duration (default: as long as the current version's)")
    renew.add_argument("--pending", action="store_true", help="stage it PENDING (promote-version makes it CURRENT)")
    revoke = _version(_id(_cmd(ca, "revoke", "revoke version N of a CA (its issuer lists it in its CRL)"), "CA"))
    revoke.add_argument("--reason", help="RFC 5280 reason, e.g. KEY_COMPROMISE, CESSATION_OF_OPERATION")
    _wait_options(revoke, "the issuer's CRL lists the serial")
    delete = _id(_cmd(ca, "schedule-deletion", "delete the CA at a time, cancellable until then"), "CA")
    delete.add_argument("--at", help="ISO-8601 time of deletion (default: 30 days)")
    _wait_options(delete, "the CA shows PENDING_DELETION")
    _id(_cmd(ca, "cancel-deletion", "cancel a scheduled deletion"), "CA")
    tag = _id(_cmd(ca, "tag", "replace the CA's tags (no --tag removes them all)"), "CA")
    _tags_option(tag)
    update = _id(_cmd(ca, "update", "change name, description, the updatable rules or CRL settings (PATCH)"), "CA")
    update.add_argument("--name", help="a new name")
    update.add_argument("--description", help="a new description")
    update.add_argument(
        "--max-leaf-validity", metavar="DURATION", help="leafCertificateMaxValidityDuration (ISO-8601; none removes it)"
    )
    update.add_argument(
        "--max-ca-validity",
        metavar="DURATION",
        help="certificateAuthorityMaxValidityDuration (ISO-8601; none removes it)",
    )
    crl = update.add_mutually_exclusive_group()
    crl.add_argument("--crl", dest="crl_enabled", action="store_const", const=True, help="publish CRLs")
    crl.add_argument("--no-crl", dest="crl_enabled", action="store_const", const=False, help="stop publishing CRLs")
    update.add_argument(
        "--crl-validity", metavar="DURATION", help="CRL validity, PT1H..P90D (none: back to the service's)"
    )
    update.add_argument(
        "--crl-url", action="append", default=None, help="a custom CRL distribution point URL, replacing the list"
    )
    _id(_cmd(ca, "disable", "stop the CA issuing (it stays trusted; enable undoes it)"), "CA")
    _id(_cmd(ca, "enable", "let a disabled CA issue again"), "CA")
    csr = _id(_cmd(ca, "csr", "the CSR of a CA waiting for its certificate from an outside CA"), "CA")
    csr.add_argument("--out", help="write the CSR (PEM) to this file (mode 0600)")
    imported = _id(
        _cmd(ca, "import-certificate", "install the certificate an outside CA signed for this CA's CSR"), "CA"
    )
    imported.add_argument("--certificate", required=True, metavar="FILE", help="file: the signed CA certificate")
    imported.add_argument("--chain", metavar="FILE", help="file: its chain up to the outside root")
    _version(_id(_cmd(ca, "version", "show version N"), "CA"))
    _version(_id(_cmd(ca, "promote-version", "make version N CURRENT (promote PENDING or roll back)"), "CA"))
    delete = _version(_id(_cmd(ca, "schedule-version-deletion", "delete version N at a time, cancellable"), "CA"))
    delete.add_argument("--at", help="ISO-8601 time of deletion (default: 30 days)")
    _version(_id(_cmd(ca, "cancel-version-deletion", "cancel version N's scheduled deletion"), "CA"))


def _register_acme(groups: registry.Subcommands) -> None:
    acme = registry.group(groups, "acme", help="ACME: External Account Binding keys for ACME clients")
    eab = acme.add_parser("eab", help="EAB keys: bind an ACME account to you", formatter_class=_Help)
    keys = eab.add_subparsers(dest="eab_action", required=True)
    create = _cmd(keys, "create", "a new EAB key; its HMAC key is shown only in this answer")
    create.add_argument("--ca", help="only this CA's ACME directory takes it (default: any CA's)")
    listing = _list_parser(keys, help="your EAB keys (or another principal's), without their HMAC keys")
    listing.add_argument(
        "--principal",
        metavar="ARN",
        help="this IAM principal's keys instead of yours (admins: to find and revoke someone's keys)",
    )
    revoke = _cmd(keys, "revoke", "revoke an EAB key: every account bound through it stops working")
    revoke.add_argument("key_id", help="the EAB key id (eab-…)")


def _register_cert(groups: registry.Subcommands) -> None:
    cert = registry.group(groups, "cert", help="certificates")
    create = _cmd(cert, "create", "issue a certificate (key made here, or from --csr) or import one")
    create.add_argument("--name", required=True, help="a name for people")
    create.add_argument("--issuer", help="issuing CA id")
    create.add_argument(
        "--profile", default="TLS_SERVER", help="TLS_SERVER, TLS_CLIENT, TLS_SERVER_OR_CLIENT or TLS_CODE_SIGN"
    )
    create.add_argument("--cn", help="subject common name")
    create.add_argument("--org", help="subject organization")
    create.add_argument("--country", help="subject country (two letters)")
    create.add_argument("--san", action="append", default=[], help="DNS:name or IP:address (repeatable)")
    create.add_argument("--key-algorithm", help="ECDSA_P256, ECDSA_P384, RSA_2048, ... (default: the API's)")
    create.add_argument("--validity", help="ISO-8601 duration (default: the API's, P90D)")
    create.add_argument("--renew-every", help="renewalInterval, e.g. P60D or PT10M")
    create.add_argument("--renew-before", help="advanceRenewalPeriod, e.g. P30D or PT5M")
    create.add_argument("--csr", help="file: a CSR (the key stays with you)")
    create.add_argument("--import-cert", help="file: a certificate to import")
    create.add_argument("--import-chain", help="file: its chain")
    create.add_argument("--import-key", help="file: its private key")
    _tags_option(create)
    _wait_options(create, "version 1 is CURRENT and deployed wherever it is associated")
    _list_parser(cert, filters=True, help="list certificates")
    find = _cmd(cert, "find", "the certificate whose version has this serial number or fingerprint")
    seen = find.add_mutually_exclusive_group(required=True)
    seen.add_argument("--serial", help="serial number, hex (as `openssl x509 -serial` prints it)")
    seen.add_argument("--fingerprint", help="SHA-256 fingerprint, hex (colons allowed)")
    _id(_cmd(cert, "get", "show a certificate"), "certificate")
    update = _id(
        _cmd(cert, "update", "change name, description, renewal rule, alert thresholds or tags"), "certificate"
    )
    update.add_argument("--name", help="a new name")
    update.add_argument("--description", help="a new description")
    update.add_argument("--renew-every", help="renewalInterval (with --renew-before)")
    update.add_argument("--renew-before", help="advanceRenewalPeriod (with --renew-every)")
    update.add_argument("--alert", action="append", default=[], help="expiry alert threshold, e.g. P30D (repeatable)")
    _tags_option(update)
    _id(_list_parser(cert, "versions", help="the certificate's versions"), "certificate")
    _version(_id(_cmd(cert, "version", "show version N"), "certificate"))
    renew = _id(_cmd(cert, "renew", "make a new version now"), "certificate")
    renew.add_argument("--pending", action="store_true", help="stage it as PENDING instead of CURRENT")
    renew.add_argument("--csr", help="file: a new CSR (CSR-managed certificates)")
    renew.add_argument("--validity", help="ISO-8601 duration of the new version (default: the certificate's)")
    _wait_options(renew, "the new version is CURRENT and every ACTIVE association reports it DEPLOYED")
    promote = _version(
        _id(_cmd(cert, "promote", "make version N CURRENT (promote PENDING or roll back)"), "certificate")
    )
    _wait_options(promote, "version N is CURRENT and every ACTIVE association reports it DEPLOYED")
    revoke = _version(_id(_cmd(cert, "revoke", "revoke version N (its issuer lists it in its CRL)"), "certificate"))
    revoke.add_argument("--reason", help="RFC 5280 reason, e.g. KEY_COMPROMISE, SUPERSEDED")
    _wait_options(revoke, "the CRL at the certificate's distribution point lists its serial")
    bundle = _id(_cmd(cert, "bundle", "certificate, chain (and key, to its associated reader) as PEM"), "certificate")
    bundle.add_argument("--stage", choices=("CURRENT", "PENDING", "PREVIOUS"), help="this stage (default: CURRENT)")
    bundle.add_argument("--version", type=int, help="this version number instead of a stage")
    bundle.add_argument("--private-key", action="store_true", help="include the private key")
    bundle.add_argument(
        "--out", help="write cert.pem, chain.pem, fullchain.pem (and key.pem) into this folder, each mode 0600"
    )
    delete = _id(_cmd(cert, "schedule-deletion", "delete the certificate (or one version) at a time"), "certificate")
    delete.add_argument("--version", type=_positive, help="only this version (default: the whole certificate)")
    delete.add_argument("--at", help="ISO-8601 time of deletion (default: 30 days)")
    _wait_options(delete, "it shows PENDING_DELETION")
    cancel = _id(_cmd(cert, "cancel-deletion", "cancel a scheduled deletion"), "certificate")
    cancel.add_argument("--version", type=_positive, help="of this version (default: of the whole certificate)")


def _register_ca_bundle(groups: registry.Subcommands) -> None:
    bundles = registry.group(groups, "ca-bundle", help="CA bundles")
    create = _cmd(bundles, "create", "a bundle of CA certificates to trust (mTLS)")
    create.add_argument("--name", required=True, help="a name for people")
    create.add_argument("--pem", help="file: CA certificates (PEM) to trust")
    create.add_argument("--ca", action="append", default=[], help="CA id to trust, kept current (repeatable)")
    create.add_argument("--no-chain", action="store_true", help="only each CA's own certificate, not its chain")
    _tags_option(create)
    _list_parser(bundles, filters=True, help="list CA bundles")
    _id(_cmd(bundles, "get", "show a CA bundle"), "CA bundle")
    update = _id(_cmd(bundles, "update", "a new version with new sources (what is omitted is kept)"), "CA bundle")
    update.add_argument("--pem", help="file: the CA certificates (PEM) to trust from now on")
    update.add_argument(
        "--ca", action="append", default=None, help="CA id to trust, replacing the CA list (repeatable)"
    )
    _id(_list_parser(bundles, "versions", help="the bundle's versions"), "CA bundle")
    _version(_id(_cmd(bundles, "version", "show version N"), "CA bundle"))
    _id(_list_parser(bundles, "associations", help="where the bundle is trusted"), "CA bundle")
    _id(_cmd(bundles, "delete", "delete a CA bundle (refused while associated)"), "CA bundle")
    pem = _id(_cmd(bundles, "bundle", "the PEM concatenation a verifier loads"), "CA bundle")
    pem.add_argument("--stage", choices=("CURRENT", "PENDING", "PREVIOUS"), help="this stage (default: CURRENT)")
    pem.add_argument("--version", type=int, help="this version number instead of a stage")
    pem.add_argument("--out", help="write the PEM to this file (mode 0600)")
    tag = _id(_cmd(bundles, "tag", "replace the bundle's tags (no --tag removes them all)"), "CA bundle")
    _tags_option(tag)


def _register_assoc(groups: registry.Subcommands) -> None:
    assoc = registry.group(groups, "assoc", help="associations: where a certificate or CA bundle is deployed")
    create = _cmd(assoc, "create", "deploy a certificate (or CA bundle) to a listener, ACM or a host")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--cert", help="the certificate to deploy")
    target.add_argument("--ca-bundle", help="a CA bundle the resource trusts (mTLS)")
    create.add_argument("--resource", required=True, help="listener, ACM certificate, or IAM role/user ARN")
    create.add_argument("--hostname", action="append", default=[], help="a hostname it serves (repeatable)")
    create.add_argument("--sni", action="store_true", help="serve as an SNI certificate, not the listener default")
    create.add_argument("--endpoint", metavar="HOST:PORT", help="where the prober checks what is served")
    create.add_argument("--server-name", help="the SNI name the prober sends (default: the endpoint's host)")
    _wait_options(create, "it reports the CURRENT version DEPLOYED")
    listing = _list_parser(assoc, filters=True, help="list associations")
    listing.add_argument("--cert", help="only this certificate's associations")
    _id(_cmd(assoc, "get", "show an association"), "association")
    _id(_cmd(assoc, "delete", "remove an association (undeploys it)"), "association")
    _id(_cmd(assoc, "confirm", "the host confirms an association to itself (run with its own identity)"), "association")
    report = _id(
        _cmd(assoc, "report-deployment", "the host reports what it deployed (run with its own identity)"), "association"
    )
    report.add_argument("--version", type=_positive, required=True, help="the version number it deployed")
    report.add_argument("--state", choices=("DEPLOYED", "FAILED"), required=True, help="how it went")
    report.add_argument("--verified", action="store_true", help="a TLS handshake showed it served")
    report.add_argument("--reason", help="why it failed (FAILED only)")


def list_all(client: Client, path: str, query: dict[str, Any] | None = None) -> list[Any]:
    """Every item of a listing (what --wait reads)."""
    args = argparse.Namespace(limit=None, page_token=None, page_size=MAX_PAGE_SIZE)
    status, body = _list(client, path, args, query)
    if status >= 400:
        raise api_error(status, body)
    return list(body["items"])


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


def _tags(args: argparse.Namespace) -> dict[str, str]:
    return dict(args.tags)


def _resource(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    handlers: dict[str, Callable[[argparse.Namespace, Client], tuple[int, Any]]] = {
        "ca": _ca,
        "cert": _cert,
        "ca-bundle": _ca_bundle,
        "assoc": _assoc,
        "audit": lambda a, c: _list(c, "/audit-events", a, {"resourceId": a.resource_id}),
        "grant": _grant,
        "poll": _poll,
        "acme": _acme,
    }
    return handlers[args.group](args, client)


def _ca(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a, base = args.action, f"/certificate-authorities/{getattr(args, 'id', '')}"
    if a == "create":
        rules: dict[str, Any] = {}
        if args.path_length is not None:
            rules["pathLengthConstraint"] = args.path_length
        if args.max_leaf_validity:
            rules["leafCertificateMaxValidityDuration"] = args.max_leaf_validity
        if args.permit_dns or args.exclude_dns:
            rules["nameConstraint"] = {"permittedDnsSubtrees": args.permit_dns, "excludedDnsSubtrees": args.exclude_dns}
        body = {
            "name": args.name,
            "configType": "SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA" if args.issuer else "ROOT_CA_GENERATED_INTERNALLY",
            "issuerCertificateAuthorityId": args.issuer,
            "subject": _subject(args),
            "keyAlgorithm": args.key_algorithm,
            "validityDuration": args.validity,
            "rules": rules or None,
            "freeformTags": _tags(args) or None,
        }
        return client.call("POST", "/certificate-authorities", {k: v for k, v in body.items() if v is not None})
    if a == "list":
        return _list(client, "/certificate-authorities", args, _filters(args))
    if a == "versions":
        return _list(client, f"{base}/versions", args, paged=False)
    if a == "renew":
        body = {"validityDuration": args.validity} if args.validity else {}
        if args.pending:
            body["stage"] = "PENDING"
        return client.call("POST", f"{base}/versions", body)
    if a == "revoke":
        body = {"revocationReason": args.reason} if args.reason else {}
        status, answer = client.call("POST", f"{base}/versions/{args.version}/actions/revoke", body)
        if status < 400 and args.wait:
            # The CA certificate names its issuer's CRL; the current version's points at the same issuer.
            chain_status, chain = client.call("GET", f"{base}/bundle")
            if chain_status >= 400:
                raise api_error(chain_status, chain)
            # The answer is the CA; the revoked version's serial is in its version list.
            versions = list_all(client, f"{base}/versions")
            version = next((v for v in versions if v.get("versionNumber") == args.version), None)
            wait.in_crl(chain["certificatePem"], _revoked_serial(version, args), args.timeout)
        return status, answer
    if a == "schedule-deletion":
        status, answer = client.call(
            "POST", f"{base}/actions/schedule-deletion", {"timeOfDeletion": args.at} if args.at else {}
        )
        if status < 400 and args.wait:
            wait.in_state(_Reader(client), base, "lifecycleState", "PENDING_DELETION", args.timeout)
        return status, answer
    if a == "cancel-deletion":
        return client.call("POST", f"{base}/actions/cancel-deletion", {})
    if a == "tag":
        return client.call("PUT", f"{base}/tags", {"freeformTags": _tags(args)})
    if a == "update":
        return client.call("PATCH", base, _ca_update(args))
    if a in ("disable", "enable"):
        return client.call("POST", f"{base}/actions/{a}", {})
    if a == "csr":
        status, answer = client.call("GET", f"{base}/csr")
        if status == 200 and args.out:
            write_private(Path(args.out), answer["csrPem"])
            answer = {k: v for k, v in answer.items() if k != "csrPem"} | {"writtenTo": args.out}
        return status, answer
    if a == "import-certificate":
        body = {"certificatePem": _read(args.certificate)}
        if args.chain:
            body["chainPem"] = _read(args.chain)
        return client.call("POST", f"{base}/actions/import-certificate", body)
    if a == "version":
        return client.call("GET", f"{base}/versions/{args.version}")
    if a == "promote-version":
        return client.call("POST", f"{base}/versions/{args.version}/actions/promote", {})
    if a == "schedule-version-deletion":
        body = {"timeOfDeletion": args.at} if args.at else {}
        return client.call("POST", f"{base}/versions/{args.version}/actions/schedule-deletion", body)
    if a == "cancel-version-deletion":
        return client.call("POST", f"{base}/versions/{args.version}/actions/cancel-deletion", {})
    if a == "bundle":
        status, answer = client.call("GET", f"{base}/bundle")
        if status == 200 and args.out:
            folder = Path(args.out)
            _make_folder(folder)
            write_private(folder / "ca.pem", answer["certificatePem"])
            write_private(folder / "chain.pem", answer["certChainPem"])
            write_private(folder / "fullchain.pem", answer["certificatePem"] + answer["certChainPem"])
            answer = {"certificateAuthorityId": answer.get("certificateAuthorityId"), "writtenTo": args.out}
        return status, answer
    return client.call("GET", base)


def _none_or(text: str | None) -> str | None:
    """An option's value, `none` meaning null (remove the limit, back to the default)."""
    return None if text is None or text.lower() == "none" else text


def _ca_update(args: argparse.Namespace) -> dict[str, Any]:
    """The PATCH body: only what was given (an empty body changes nothing)."""
    body: dict[str, Any] = {k: v for k, v in (("name", args.name), ("description", args.description)) if v is not None}
    rules = {
        field: _none_or(value)
        for field, value in (
            ("leafCertificateMaxValidityDuration", args.max_leaf_validity),
            ("certificateAuthorityMaxValidityDuration", args.max_ca_validity),
        )
        if value is not None
    }
    if rules:
        body["rules"] = rules
    crl: dict[str, Any] = {}
    if args.crl_enabled is not None:
        crl["enabled"] = args.crl_enabled
    if args.crl_validity is not None:
        crl["validityDuration"] = _none_or(args.crl_validity)
    if args.crl_url is not None:
        crl["customFormattedUrls"] = args.crl_url
    if crl:
        body["crlSettings"] = crl
    return body


def _acme(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a = args.eab_action
    if a == "create":
        body = {"certificateAuthorityId": args.ca} if args.ca else {}
        status, answer = client.call("POST", "/acme/eab-keys", body)
        if status < 400:
            # The answer (with hmacKey) is printed once on stdout, never logged or kept: the user copies it now.
            print("note: hmacKey is shown only this once: give it to your ACME client now", file=sys.stderr)
        return status, answer
    if a == "list":
        return _list(client, "/acme/eab-keys", args, {"principal": args.principal} if args.principal else None)
    return client.call("DELETE", f"/acme/eab-keys/{args.key_id}")


def _revoked_serial(answer: Any, args: argparse.Namespace) -> str:
    serial = answer.get("serialNumber") if isinstance(answer, dict) else None
    if not serial:
        raise CliError("WaitFailed", f"version {args.version} has no serial number to look for", EXIT_WAIT_FAILED)
    return str(serial)


class _Reader:
    """What --wait reads the API through (certwright_client.wait.Reader)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get(self, path: str, query: dict[str, Any] | None = None) -> Any:
        status, body = self.client.call("GET", path, query=query)
        if status >= 400:
            raise api_error(status, body)
        return body

    def items(self, path: str, query: dict[str, Any] | None = None) -> list[Any]:
        return list_all(self.client, path, query)


def _cert(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a, base = args.action, f"/certificates/{getattr(args, 'id', '')}"
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
        if args.tags:
            body["freeformTags"] = _tags(args)
        status, answer = client.call("POST", "/certificates", body)
        if status < 400 and args.wait:
            wait.deployed(_Reader(client), answer["id"], _number(answer.get("currentVersion")), args.timeout)
        return status, answer
    if a == "list":
        return _list(client, "/certificates", args, _filters(args))
    if a == "find":
        query = {"serialNumber": args.serial, "fingerprintSha256": args.fingerprint}
        return client.call("GET", "/certificates", query=query)
    if a == "versions":
        return _list(client, f"{base}/versions", args, paged=False)
    if a == "version":
        return client.call("GET", f"{base}/versions/{args.version}")
    if a == "get":
        return client.call("GET", base)
    if a == "update":
        body = {"name": args.name, "description": args.description}
        if args.renew_every or args.renew_before:
            body["renewalRule"] = {"renewalInterval": args.renew_every, "advanceRenewalPeriod": args.renew_before}
        if args.alert:
            body["expiryAlertThresholds"] = args.alert
        if args.tags:
            body["freeformTags"] = _tags(args)
        return client.call("PATCH", base, {k: v for k, v in body.items() if v is not None})
    if a == "renew":
        body = {"stage": "PENDING" if args.pending else "CURRENT"}
        if args.csr:
            body["csrPem"] = _read(args.csr) or ""
        if args.validity:
            body["validityDuration"] = args.validity
        status, answer = client.call("POST", f"{base}/versions", body)
        if status < 400 and args.wait and not args.pending:
            wait.deployed(_Reader(client), args.id, _number(answer), args.timeout)
        return status, answer
    if a == "promote":
        status, answer = client.call("POST", f"{base}/versions/{args.version}/actions/promote", {})
        if status < 400 and args.wait:
            wait.deployed(_Reader(client), args.id, args.version, args.timeout)
        return status, answer
    if a == "revoke":
        body = {"revocationReason": args.reason} if args.reason else {}
        status, answer = client.call("POST", f"{base}/versions/{args.version}/actions/revoke", body)
        if status < 400 and args.wait:
            pem_status, pem = client.call("GET", f"{base}/bundle", query={"versionNumber": args.version})
            if pem_status >= 400:
                raise api_error(pem_status, pem)
            wait.in_crl(pem["certificatePem"], _revoked_serial(answer, args), args.timeout)
        return status, answer
    if a in ("schedule-deletion", "cancel-deletion"):
        target = f"{base}/versions/{args.version}" if args.version else base
        if a == "cancel-deletion":
            return client.call("POST", f"{target}/actions/cancel-deletion", {})
        status, answer = client.call(
            "POST", f"{target}/actions/schedule-deletion", {"timeOfDeletion": args.at} if args.at else {}
        )
        if status < 400 and args.wait:
            wait.in_state(_Reader(client), target, "lifecycleState", "PENDING_DELETION", args.timeout)
        return status, answer
    status, body = client.call(
        "GET",
        f"{base}/bundle",
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


def _number(version: Any) -> int:
    if not isinstance(version, dict) or not isinstance(version.get("versionNumber"), int):
        raise CliError("WaitFailed", "the answer names no version to wait for", EXIT_WAIT_FAILED)
    return int(version["versionNumber"])


def _ca_bundle(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a, base = args.action, f"/ca-bundles/{getattr(args, 'id', '')}"
    if a == "create":
        body: dict[str, Any] = {"name": args.name, "certificateAuthorityIds": args.ca}
        if args.pem:
            body["caBundlePem"] = _read(args.pem)
        if args.no_chain:
            body["includeCertificateAuthorityChain"] = False
        if args.tags:
            body["freeformTags"] = _tags(args)
        return client.call("POST", "/ca-bundles", body)
    if a == "list":
        return _list(client, "/ca-bundles", args, _filters(args))
    if a == "versions":
        return _list(client, f"{base}/versions", args, paged=False)
    if a == "associations":
        return _list(client, f"{base}/associations", args, paged=False)
    if a == "version":
        return client.call("GET", f"{base}/versions/{args.version}")
    if a == "get":
        return client.call("GET", base)
    if a == "delete":
        return client.call("DELETE", base)
    if a == "tag":
        return client.call("PUT", f"{base}/tags", {"freeformTags": _tags(args)})
    if a == "update":
        if not args.pem and args.ca is None:
            raise CliError("InvalidArguments", "ca-bundle update: give --pem, --ca or both", EXIT_USAGE)
        body = {}
        if args.pem:
            body["caBundlePem"] = _read(args.pem)
        if args.ca is not None:
            body["certificateAuthorityIds"] = args.ca
        return client.call("POST", f"{base}/versions", body)
    query = {"stage": args.stage, "versionNumber": args.version}
    status, body = client.call("GET", f"{base}/bundle", query=query)
    if status == 200 and args.out:
        write_private(Path(args.out), body["caBundlePem"])
        body = {k: v for k, v in body.items() if k != "caBundlePem"} | {"writtenTo": args.out}
    return status, body


def _assoc(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    a, base = args.action, f"/associations/{getattr(args, 'id', '')}"
    if a == "create":
        target = {"caBundleId": args.ca_bundle} if args.ca_bundle else {"certificateId": args.cert}
        body: dict[str, Any] = {**target, "associatedResourceId": args.resource, "hostnames": args.hostname}
        if args.sni:
            body["listenerCertificateRole"] = "SNI"
        if args.endpoint:
            body["endpoint"] = {"address": args.endpoint}
            if args.server_name:
                body["endpoint"]["serverName"] = args.server_name
        status, answer = client.call("POST", "/associations", body)
        if status < 400 and args.wait:
            wait.association_deployed(_Reader(client), answer["id"], args.timeout)
            return client.call("GET", f"/associations/{answer['id']}")  # as it is now: deployed
        return status, answer
    if a == "list":
        query = _filters(args)
        if args.cert:
            query["certificateId"] = args.cert
        return _list(client, "/associations", args, query)
    if a == "confirm":
        return client.call("POST", f"{base}/actions/confirm", {})
    if a == "report-deployment":
        body = {"versionNumber": args.version, "state": args.state, "verified": args.verified}
        if args.reason:
            body["reason"] = args.reason
        return client.call("POST", f"{base}/actions/report-deployment", body)
    return client.call("DELETE" if a == "delete" else "GET", base)


def _grant(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    if args.action == "create":
        body = {"resourceId": args.resource, "principalArn": args.principal, "role": args.role}
        return client.call("POST", "/grants", body)
    if args.action == "list":
        return _list(client, "/grants", args, {"resourceId": args.resource}, paged=False)
    return client.call("DELETE", f"/grants/{args.id}")


def _poll(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
    body = {"certificateIds": args.cert} if args.cert else {}
    headers = {"If-None-Match": args.if_none_match} if args.if_none_match else None
    status, _, answer = client.exchange("POST", "/bundles/poll", body, extra_headers=headers)
    if status == 304:
        return 200, {"notModified": True, "etag": args.if_none_match}
    return status, answer


def _completion(args: argparse.Namespace) -> int:
    try:
        import shtab
    except ImportError:
        raise CliError("MissingDependency", "completion needs shtab: install certwright[client]", EXIT_USAGE) from None

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise CliError("OutputNotWritable", f"{folder}: {err.strerror or err}", EXIT_USAGE) from None


def _write_bundle(folder: Path, bundle: dict[str, Any]) -> None:
    _make_folder(folder)
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
    if body is None:
        return f"HTTP {status}"
    form = args.output_format or output.default_format()
    if form == "yaml" and importlib.util.find_spec("yaml") is None:
        raise CliError("MissingDependency", "--output yaml needs PyYAML: install certwright[client]", EXIT_USAGE)
    if form == "table" and isinstance(body, dict) and body.get("nextPage") and isinstance(body.get("items"), list):
        print(f"note: more items: --page-token {body['nextPage']}", file=sys.stderr)
    # print() adds the last line break back.
    return output.render(body, form).removesuffix("\n")


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
    except (CliError, wait.WaitError) as err:
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
