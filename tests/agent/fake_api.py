"""A stand-in for the Certwright API on 127.0.0.1 that speaks the agent's wire contract with real certificates.

It serves POST /bundles/poll (ETag, If-None-Match → 304), the confirm action, the bundle with the key (only to
the associated principal of a confirmed association), and report-deployment (DEPLOYED / FAILED, 409
StaleDeploymentReport for a version that is not CURRENT), and records every request. Faults are switched on
by the tests: `stop()` (the API unreachable), `key_override` (a key that does not match, injected at the API
boundary), `truncate_bundle` (a partial download).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.agent.pki import Leaf

HOST = "arn:aws:iam::123456789012:role/web-host"


@dataclass
class Association:
    id: str
    certificate_id: str
    certificate_name: str
    principal: str
    versions: dict[int, Leaf]
    current: int
    hostnames: list[str] = field(default_factory=list)
    consent: str = "PENDING_CONFIRMATION"
    deployment: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.deployment = {
            "desiredVersion": self.current,
            "deployedVersion": None,
            "state": "PENDING",
            "lastError": None,
            "verifiedAt": None,
            "deployedSerialNumber": None,
            "acmCertificateArn": None,
        }


class FakeApi:
    max_unconfirmed = 100

    def __init__(self) -> None:
        self.associations: dict[str, Association] = {}
        self.requests: list[tuple[str, str, str | None, Any]] = []  # method, path, caller, body
        self.reports: list[dict[str, Any]] = []
        self.authorizations: list[str | None] = []  # each request's Authorization header
        self.key_override: str | None = None
        self.truncate_bundle = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def add(self, association: Association) -> Association:
        self.associations[association.id] = association
        return association

    def renew(self, association_id: str, leaf: Leaf) -> None:
        association = self.associations[association_id]
        association.versions[leaf.version] = leaf
        association.current = leaf.version
        association.deployment["desiredVersion"] = leaf.version

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _, _ in self.requests if method in (None, m)]

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()
            self._thread.join()

    # -- the contract ---------------------------------------------------------------------------------------------

    def _items(self, caller: str) -> list[dict[str, Any]]:
        items = []
        for a in sorted(self.associations.values(), key=lambda a: a.id):
            if a.principal != caller:
                continue
            leaf = a.versions[a.current]
            item = {
                "associationId": a.id,
                "certificateId": a.certificate_id,
                "certificateName": a.certificate_name,
                "associatedResourceId": a.principal,
                "hostnames": a.hostnames,
                "consentState": a.consent,
                "versionNumber": a.current,
                "serialNumber": leaf.serial_hex,
                "notAfter": leaf.certificate.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "deployment": dict(a.deployment),
            }
            item["etag"] = '"' + hashlib.sha256(f"{a.id}/{a.current}/{a.consent}".encode()).hexdigest()[:16] + '"'
            items.append(item)
        return items

    def answer(self, method: str, path: str, query: dict[str, str], caller: str | None, body: Any) -> tuple[int, Any]:
        if caller is None:
            return 403, {"code": "AccessDenied", "message": "no caller"}
        if (method, path) == ("POST", "/bundles/poll"):
            items = self._items(caller)
            wanted = body.get("certificateIds") if isinstance(body, dict) else None
            if wanted is not None:
                items = [i for i in items if i["certificateId"] in wanted]
            else:  # as the service does: every confirmed association, then at most `max_unconfirmed` others
                confirmed = [i for i in items if i["consentState"] == "CONFIRMED"]
                others = [i for i in items if i["consentState"] != "CONFIRMED"]
                items = confirmed + others[: self.max_unconfirmed]
            etag = '"' + hashlib.sha256(json.dumps([i["etag"] for i in items]).encode()).hexdigest()[:16] + '"'
            return 200, {"etag": etag, "items": items}
        match = re.fullmatch(r"/associations/([^/]+)/actions/(confirm|report-deployment)", path)
        if match and method == "POST":
            association = self.associations.get(match[1])
            if association is None or association.principal != caller:
                return 404, {"code": "NotFound", "message": f"association {match[1]} not found"}
            if match[2] == "confirm":
                association.consent = "CONFIRMED"
                return 200, {"id": association.id, "state": "ACTIVE", "deployment": association.deployment}
            return self._report(association, body)
        match = re.fullmatch(r"/certificates/([^/]+)/bundle", path)
        if match and method == "GET":
            found = [a for a in self.associations.values() if a.certificate_id == match[1] and a.principal == caller]
            if not found:
                return 404, {"code": "NotFound", "message": f"certificate {match[1]} not found"}
            if found[0].consent != "CONFIRMED":
                return 403, {"code": "AccessDenied", "message": "the host has not confirmed the association"}
            version = int(query.get("versionNumber", found[0].current))
            if version not in found[0].versions:
                return 404, {"code": "NotFound", "message": f"version {version} not found"}
            return 200, found[0].versions[version].bundle(key_pem=self.key_override)
        return 404, {"code": "NotFound", "message": f"no route {method} {path}"}

    def _report(self, association: Association, body: Any) -> tuple[int, Any]:
        self.reports.append(body)
        version, state = body.get("versionNumber"), body.get("state")
        if version not in association.versions:
            return 404, {"code": "VersionNotFound", "message": f"version {version} not found"}
        if version != association.current:
            return 409, {"code": "StaleDeploymentReport", "message": f"version {version} is not CURRENT"}
        deployment = association.deployment
        if state == "DEPLOYED":
            deployment |= {"state": "DEPLOYED", "deployedVersion": version, "lastError": None}
            deployment["deployedSerialNumber"] = association.versions[version].serial_hex
            deployment["verifiedAt"] = "2026-12-01T00:00:00Z" if body.get("verified") else None
        elif state == "FAILED":
            deployment |= {"state": "FAILED", "lastError": body.get("reason")}
        else:
            return 400, {"code": "InvalidParameter", "message": "state is DEPLOYED or FAILED"}
        return 200, {"id": association.id, "deployment": deployment}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                caller = self.headers.get("X-Certwright-Caller")
                api.authorizations.append(self.headers.get("Authorization"))
                if caller is None and (self.headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256 "):
                    caller = HOST  # API Gateway's IAM auth would name the signer; here every signer is the host
                api.requests.append((method, parts.path, caller, body))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                status, answer = api.answer(method, parts.path, query, caller, body)
                data = json.dumps(answer).encode()
                etag = answer.get("etag") if parts.path == "/bundles/poll" and status == 200 else None
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                truncated = api.truncate_bundle and parts.path.endswith("/bundle") and status == 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if truncated else data)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        return Handler
