"""The `certwright` command: a thin client of the HTTP API, local (default) or deployed (SigV4-signed)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

LOCAL_API = "http://127.0.0.1:8080"


class Client:
    def __init__(self, base_url: str, caller: str | None, sign: bool, idempotency_key: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.caller = caller
        self.sign = sign
        self.idempotency_key = idempotency_key

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        url = self.base_url + path
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.caller:
            headers["X-Certwright-Caller"] = self.caller
        if self.idempotency_key and method == "POST":
            headers["Idempotency-Key"] = self.idempotency_key
        if self.sign:
            headers = _sigv4(method, url, data, headers)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
                text = response.read().decode()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as err:
            text = err.read().decode()
            return err.code, json.loads(text) if text.startswith("{") else {"message": text}


def _sigv4(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    session = boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials found to sign the request")
    host_region = urlsplit(url).hostname or ""
    region = session.region_name or host_region.split(".")[2] if ".execute-api." in host_region else "us-east-1"
    request = AWSRequest(method=method, url=url, data=data, headers=headers)
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


def _sans(values: Sequence[str]) -> list[dict[str, str]]:
    sans = []
    for value in values:
        kind, _, name = value.partition(":")
        if kind.upper() not in ("DNS", "IP") or not name:
            raise SystemExit(f"--san takes DNS:name or IP:address, not {value!r}")
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
    return Path(path).read_text() if path else None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="certwright", description=__doc__)
    parser.add_argument(
        "--api",
        default=os.environ.get("CERTWRIGHT_API_URL", LOCAL_API),
        help="API base URL (CERTWRIGHT_API_URL; default the local runtime)",
    )
    parser.add_argument(
        "--caller",
        default=os.environ.get("CERTWRIGHT_CALLER"),
        help="local runtime only: act as this IAM ARN (X-Certwright-Caller)",
    )
    parser.add_argument("--sigv4", action="store_true", help="sign requests with your AWS credentials (deployed API)")
    parser.add_argument("--idempotency-key", help="Idempotency-Key for create calls")
    groups = parser.add_subparsers(dest="group", required=True)

    ca = groups.add_parser("ca", help="certificate authorities").add_subparsers(dest="action", required=True)
    create = ca.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--issuer", help="issuing CA id (omit for a root)")
    create.add_argument("--cn", required=True)
    create.add_argument("--org")
    create.add_argument("--country")
    create.add_argument("--key-algorithm", default="ECDSA_P256")
    create.add_argument("--validity", default="P10Y")
    create.add_argument("--path-length", type=int)
    create.add_argument("--max-leaf-validity")
    create.add_argument("--permit-dns", action="append", default=[])
    create.add_argument("--exclude-dns", action="append", default=[])
    ca.add_parser("list")
    for action in ("get", "bundle", "versions"):
        ca.add_parser(action).add_argument("id")

    cert = groups.add_parser("cert", help="certificates").add_subparsers(dest="action", required=True)
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
    cert.add_parser("list")
    for action in ("get", "versions"):
        cert.add_parser(action).add_argument("id")
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
    bundle.add_argument("--out", help="write cert.pem, chain.pem (and key.pem, mode 600) into this folder")
    delete = cert.add_parser("schedule-deletion")
    delete.add_argument("id")
    delete.add_argument("--at", help="ISO-8601 time of deletion (default: 30 days)")
    cert.add_parser("cancel-deletion").add_argument("id")

    bundles = groups.add_parser("ca-bundle", help="CA bundles").add_subparsers(dest="action", required=True)
    create = bundles.add_parser("create")
    create.add_argument("--name", required=True)
    create.add_argument("--pem", help="file: CA certificates (PEM) to trust")
    create.add_argument("--ca", action="append", default=[], help="CA id to trust, kept current (repeatable)")
    create.add_argument("--no-chain", action="store_true", help="only each CA's own certificate, not its chain")
    bundles.add_parser("list")
    for action in ("get", "versions"):
        bundles.add_parser(action).add_argument("id")
    pem = bundles.add_parser("bundle", help="the PEM concatenation a verifier loads")
    pem.add_argument("id")
    pem.add_argument("--stage")
    pem.add_argument("--version", type=int)
    pem.add_argument("--out", help="write the PEM to this file")

    assoc = groups.add_parser("assoc", help="associations").add_subparsers(dest="action", required=True)
    create = assoc.add_parser("create")
    target = create.add_mutually_exclusive_group(required=True)
    target.add_argument("--cert")
    target.add_argument("--ca-bundle", help="a CA bundle the resource trusts (mTLS)")
    create.add_argument("--resource", required=True, help="listener, ACM certificate, or IAM role/user ARN")
    create.add_argument("--hostname", action="append", default=[])
    create.add_argument("--sni", action="store_true", help="serve as an SNI certificate, not the listener default")
    listing = assoc.add_parser("list")
    listing.add_argument("--cert")
    for action in ("get", "delete"):
        assoc.add_parser(action).add_argument("id")
    return parser


def run(args: argparse.Namespace, client: Client) -> tuple[int, Any]:
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
            return client.call("GET", "/certificate-authorities")
        suffix = {"get": "", "bundle": "/bundle", "versions": "/versions"}[a]
        return client.call("GET", f"/certificate-authorities/{args.id}{suffix}")
    if g == "cert":
        return _cert(args, client)
    if g == "ca-bundle":
        return _ca_bundle(args, client)
    if a == "create":
        target = {"caBundleId": args.ca_bundle} if args.ca_bundle else {"certificateId": args.cert}
        body = {**target, "associatedResourceId": args.resource, "hostnames": args.hostname}
        if args.sni:
            body["listenerCertificateRole"] = "SNI"
        return client.call("POST", "/associations", body)
    if a == "list":
        return client.call("GET", "/associations", query={"certificateId": args.cert})
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
        return client.call("GET", "/certificates")
    if a in ("get", "versions"):
        return client.call("GET", f"/certificates/{args.id}" + ("/versions" if a == "versions" else ""))
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
        return client.call("GET", "/ca-bundles")
    if a in ("get", "versions"):
        return client.call("GET", f"/ca-bundles/{args.id}" + ("/versions" if a == "versions" else ""))
    query = {"stage": args.stage, "versionNumber": args.version}
    status, body = client.call("GET", f"/ca-bundles/{args.id}/bundle", query=query)
    if status == 200 and args.out:
        Path(args.out).write_text(body["caBundlePem"])
        body = {k: v for k, v in body.items() if k != "caBundlePem"} | {"writtenTo": args.out}
    return status, body


def _write_bundle(folder: Path, bundle: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cert.pem").write_text(bundle["certificatePem"])
    (folder / "chain.pem").write_text(bundle["certChainPem"])
    (folder / "fullchain.pem").write_text(bundle["certificatePem"] + bundle["certChainPem"])
    if "privateKeyPem" in bundle:
        key = folder / "key.pem"
        key.touch(mode=0o600)
        key.write_text(bundle["privateKeyPem"])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    client = Client(args.api, args.caller, args.sigv4, args.idempotency_key)
    status, body = run(args, client)
    print(json.dumps(body, indent=2) if body is not None else f"HTTP {status}")
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
