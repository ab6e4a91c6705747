"""The console's web server: 127.0.0.1 only, a session cookie, a CSRF token on every action, no script served.

Pages are GETs that only read the API. The four actions (renew, promote, roll back, revoke) are a GET confirm
page showing the blast radius and a POST form carrying the session's CSRF token; a POST without the right token,
from another origin, or for another Host is refused with 403 before the API is called.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from certwright_client.cli import CliError
from certwright_client.console import pages, views
from certwright_client.console.source import Api, ApiError, now, q, read_crl

COOKIE = "certwright_console"
MAX_FORM = 16_384
MAX_SESSIONS = 1_000
CRL_SAMPLE = 5  # certificates per CA whose CRL distribution points are read
TIMELINE_VERSIONS = 200  # certificates whose versions the timeline (renewal failures) and revocations pages read
REASONS = (
    "UNSPECIFIED",
    "KEY_COMPROMISE",
    "CERTIFICATE_AUTHORITY_COMPROMISE",
    "AFFILIATION_CHANGED",
    "SUPERSEDED",
    "CESSATION_OF_OPERATION",
    "PRIVILEGE_WITHDRAWN",
)
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
LABELS = {"renew": "Renew now", "promote": "Promote", "rollback": "Roll back", "revoke": "Revoke"}


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None


class Refused(Exception):
    """A request the console refuses itself (bad CSRF token, bad form): its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Console:
    """The pages and actions, independent of HTTP plumbing (the handler below calls `get` and `post`)."""

    def __init__(self, api: Api, clock: Callable[[], Any] = now) -> None:
        self.api = api
        self.clock = clock
        self._sessions: dict[str, str] = {}  # session id -> CSRF token
        self._lock = threading.Lock()

    # -- sessions --------------------------------------------------------------------------------------------

    def session(self, cookie: str | None) -> tuple[str, str, bool]:
        """(session id, its CSRF token, whether the session is new and the cookie must be set)."""
        with self._lock:
            if cookie and cookie in self._sessions:
                return cookie, self._sessions[cookie], False
            sid, token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
            self._sessions[sid] = token
            while len(self._sessions) > MAX_SESSIONS:  # the oldest sessions go first (dicts keep their order)
                del self._sessions[next(iter(self._sessions))]
            return sid, token, True

    def check_csrf(self, cookie: str | None, sent: str) -> None:
        with self._lock:
            expected = self._sessions.get(cookie or "")
        if not expected or not sent or not hmac.compare_digest(expected, sent):
            raise Refused(HTTPStatus.FORBIDDEN, "CSRF token missing or wrong: reload the page and confirm again")

    # -- pages -----------------------------------------------------------------------------------------------

    def page(self, template: str, section: str, title: str, **context: Any) -> str:
        return pages.render(template, section=section, title=title, api_url=self.api.base_url, **context)

    def get(self, path: str, query: dict[str, str], csrf: str) -> Answer:
        if path == "/":
            return Answer(HTTPStatus.SEE_OTHER, b"", location="/certificates")
        if path == "/static/console.css":
            return Answer(HTTPStatus.OK, pages.CSS.encode(), "text/css; charset=utf-8")
        if path.startswith("/certificates/"):
            return self._html(lambda: self.certificate(path.removeprefix("/certificates/")))
        if path.startswith("/confirm/"):
            return self._html(lambda: self.confirm(path.removeprefix("/confirm/"), query, csrf))
        routes: dict[str, Callable[[dict[str, str]], str]] = {
            "/certificates": self.certificates,
            "/cas": self.authorities,
            "/ca-bundles": self.bundles,
            "/associations": self.associations,
            "/timeline": self.timeline,
            "/revocations": self.revocations,
            "/audit": self.audit,
        }
        route = routes.get(path)
        if route is None:
            return Answer(HTTPStatus.NOT_FOUND, self._message("Not found", f"no page {path}").encode())
        return self._html(lambda: route(query))

    def _message(self, title: str, message: str, error: ApiError | None = None) -> str:
        return self.page("message", "", title, message=message, error=error)

    def _html(self, build: Callable[[], str]) -> Answer:
        try:
            return Answer(HTTPStatus.OK, build().encode())
        except ApiError as err:
            status = err.status if 400 <= err.status < 500 else HTTPStatus.BAD_GATEWAY
            return Answer(status, self._message("The API refused", "The API answered an error.", err).encode())
        except Refused as err:
            return Answer(err.status, self._message("Refused", err.message).encode())
        except CliError as err:  # the API could not be reached (the CLI's transport says why)
            failed = ApiError(HTTPStatus.BAD_GATEWAY, err.code, err.message)
            return Answer(
                HTTPStatus.BAD_GATEWAY, self._message("The API is unreachable", "No answer.", failed).encode()
            )

    def _authority_names(self) -> dict[str, str]:
        return {str(a["id"]): str(a["name"]) for a in self.api.authorities()}

    def certificates(self, query: dict[str, str]) -> str:
        # The API filters, sorts and pages; the page shows what it answers (the issuers' names joined for display).
        items = self.api.certificates(views.chosen(query, views.CERTIFICATE_FILTERS))
        return self.page(
            "certificates",
            "/certificates",
            "Certificates",
            items=items,
            query=query,
            fields=views.CERTIFICATE_FIELDS,
            authorities=self._authority_names(),
        )

    def certificate(self, certificate_id: str) -> str:
        c = self.api.get(f"/certificates/{q(certificate_id)}")
        versions = sorted(self.api.versions(certificate_id), key=lambda v: -int(v.get("versionNumber") or 0))
        associations = self.api.associations({"certificateId": certificate_id})
        return self.page(
            "certificate",
            "/certificates",
            f"Certificate {c.get('name')}",
            c=c,
            versions=versions,
            associations=associations,
        )

    def authorities(self, query: dict[str, str]) -> str:
        items = self.api.authorities(views.chosen(query, views.AUTHORITY_FILTERS))
        tree = views.ca_tree(items)
        return self.page("authorities", "/cas", "CA hierarchy", tree=tree, query=query, fields=views.AUTHORITY_FIELDS)

    def bundles(self, query: dict[str, str]) -> str:
        return self.page(
            "bundles",
            "/ca-bundles",
            "CA bundles",
            items=self.api.ca_bundles(views.chosen(query, views.BUNDLE_FILTERS)),
            query=query,
            fields=views.BUNDLE_FIELDS,
            authorities=self._authority_names(),
        )

    def associations(self, query: dict[str, str]) -> str:
        items = self.api.associations(views.chosen(query, views.ASSOCIATION_FILTERS))
        rows = views.association_map(self.api.certificates(), items)  # each association under its certificate
        return self.page(
            "associations", "/associations", "Association map", rows=rows, query=query, fields=views.ASSOCIATION_FIELDS
        )

    def timeline(self, query: dict[str, str]) -> str:
        certificates = self.api.certificates()
        versions = {
            str(c["id"]): self.api.versions(str(c["id"]))
            for c in certificates[:TIMELINE_VERSIONS]
            if c.get("renewalRule") or c.get("currentVersion")
        }
        by = "month" if query.get("by") == "month" else "week"
        attention, buckets = views.timeline(certificates, versions, self.api.associations(), self.clock(), by)
        return self.page("timeline", "/timeline", "Expiry timeline", attention=attention, buckets=buckets, by=by)

    def revocations(self, query: dict[str, str]) -> str:
        del query
        certificates = self.api.certificates()
        authorities = self.api.authorities()
        revoked: list[tuple[dict[str, Any], dict[str, Any]]] = []
        urls: dict[str, set[str]] = {}
        sampled: dict[str, int] = {}
        for n, c in enumerate(certificates):
            issuer = str(c.get("issuerCertificateAuthorityId") or "")
            if c.get("currentVersion") and issuer and sampled.get(issuer, 0) < CRL_SAMPLE:
                sampled[issuer] = sampled.get(issuer, 0) + 1
                # A certificate whose bundle the caller may not read names no CRL here.
                with contextlib.suppress(ApiError):
                    urls.setdefault(issuer, set()).update(self.api.crl_urls(str(c["id"])))
            if n < TIMELINE_VERSIONS:  # the versions of the first certificates only: one API call each
                revoked.extend((c, v) for v in self._revoked_versions(c))
        for a in authorities:
            issuer = str(a.get("issuerCertificateAuthorityId") or "")
            if issuer and a.get("currentVersion"):
                with contextlib.suppress(ApiError):
                    urls.setdefault(issuer, set()).update(self.api.authority_crl_urls(str(a["id"])))
        revoked_cas = [
            (a, v) for a in authorities for v in self.api.authority_versions(str(a["id"])) if v.get("revocationStatus")
        ]
        crls = {str(a["id"]): [read_crl(u) for u in sorted(urls.get(str(a["id"]), ()))] for a in authorities}
        issuer_of = {str(a["id"]): str(a.get("issuerCertificateAuthorityId") or "") for a in authorities}
        listed = [
            (c, v, views.on_crl(v.get("serialNumber"), crls.get(str(c.get("issuerCertificateAuthorityId")), [])))
            for c, v in revoked
        ]
        listed_cas = [
            (a, v, views.on_crl(v.get("serialNumber"), crls.get(issuer_of[str(a["id"])], []))) for a, v in revoked_cas
        ]
        return self.page(
            "revocations",
            "/revocations",
            "Revocations and CRL freshness",
            crl_rows=[(a, crls[str(a["id"])]) for a in authorities],
            revoked=listed,
            revoked_cas=listed_cas,
            now=self.clock(),
        )

    def _revoked_versions(self, certificate: dict[str, Any]) -> list[dict[str, Any]]:
        return [v for v in self.api.versions(str(certificate["id"])) if v.get("revocationStatus")]

    def audit(self, query: dict[str, str]) -> str:
        resource_id = query.get("resourceId", "").strip()
        items = self.api.audit(resource_id) if resource_id else []
        return self.page("audit", "/audit", "Audit trail", resource_id=resource_id, items=items)

    # -- actions ------------------------------------------------------------------------------------------

    def _target(self, action: str, fields: dict[str, str]) -> tuple[dict[str, Any], int | None]:
        if action not in views.ACTIONS:
            raise Refused(HTTPStatus.NOT_FOUND, f"no action {action!r} (renew, promote, rollback, revoke)")
        certificate_id = fields.get("certificateId", "")
        if not certificate_id:
            raise Refused(HTTPStatus.BAD_REQUEST, "certificateId is required")
        version: int | None = None
        if action != "renew":
            raw = fields.get("version", "")
            if not raw.isdigit() or int(raw) < 1:
                raise Refused(HTTPStatus.BAD_REQUEST, f"{action} needs a version number")
            version = int(raw)
        return self.api.get(f"/certificates/{q(certificate_id)}"), version

    def confirm(self, action: str, query: dict[str, str], csrf: str) -> str:
        c, version = self._target(action, query)
        radius = views.blast_radius(action, c, version, self.api.associations({"certificateId": c["id"]}))
        title = f"{LABELS[action]}: {c.get('name')}" + (f" version {version}" if version is not None else "")
        return self.page(
            "confirm",
            "/certificates",
            title,
            c=c,
            action=action,
            version=version,
            radius=radius,
            csrf=csrf,
            reasons=REASONS,
            label=LABELS[action],
        )

    def post(self, path: str, fields: dict[str, str], cookie: str | None) -> Answer:
        self.check_csrf(cookie, fields.get("csrf", ""))
        action = path.removeprefix("/actions/") if path.startswith("/actions/") else ""
        return self._html(lambda: self._act(action, fields))

    def _act(self, action: str, fields: dict[str, str]) -> str:
        c, version = self._target(action, fields)
        base = f"/certificates/{q(c['id'])}"
        if action == "renew":
            stage = "PENDING" if fields.get("pending") else "CURRENT"
            status, body = self.api.post(f"{base}/versions", {"stage": stage})
        elif action in ("promote", "rollback"):
            status, body = self.api.post(f"{base}/versions/{version}/actions/promote")
        else:
            reason = fields.get("reason") or "UNSPECIFIED"
            if reason not in REASONS:
                raise Refused(HTTPStatus.BAD_REQUEST, f"unknown revocation reason {reason!r}")
            status, body = self.api.post(f"{base}/versions/{version}/actions/revoke", {"revocationReason": reason})
        ok = status < 400
        return self.page(
            "result",
            "/certificates",
            f"{LABELS[action]}: {c.get('name')}",
            ok=ok,
            status=status,
            body=body if isinstance(body, dict) else {},
            answer=json.dumps(_without_pems(body), indent=2),
            summary=_summary(action, body) if ok else "",
            certificate_id=c["id"],
        )


def _without_pems(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: ("…" if k.endswith("Pem") else _without_pems(v)) for k, v in body.items()}
    return body


def _summary(action: str, body: Any) -> str:
    body = body if isinstance(body, dict) else {}
    if action == "renew":
        return f"version {body.get('versionNumber')} was created ({', '.join(body.get('stages') or [])})"
    if action in ("promote", "rollback"):
        return f"version {(body.get('currentVersion') or {}).get('versionNumber')} is now CURRENT"
    replacement = body.get("replacement") or {}
    return f"version {body.get('versionNumber')} is revoked" + (
        f"; {replacement.get('message')}" if replacement else ""
    )


def _form(raw: bytes) -> dict[str, str]:
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, console: Console, port: int = 0) -> None:
        self.console = console
        super().__init__(("127.0.0.1", port), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: ConsoleServer
    server_version = "certwright-console"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # the console prints nothing per request (the API keeps the audit trail)

    def _cookie(self) -> str | None:
        morsel = SimpleCookie(self.headers.get("Cookie", "")).get(COOKIE)
        return morsel.value if morsel else None

    def _local_host(self) -> bool:
        """The Host header names this server (a DNS-rebinding page sends its own name)."""
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _send(self, answer: Answer, set_cookie: str | None = None) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on its own form posts.
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        if answer.location:
            self.send_header("Location", answer.location)
        if set_cookie:
            self.send_header("Set-Cookie", f"{COOKIE}={set_cookie}; HttpOnly; SameSite=Strict; Path=/")
        self.end_headers()
        self.wfile.write(answer.body)

    def _refuse(self, status: int, message: str) -> None:
        self._send(Answer(status, self.server.console._message("Refused", message).encode()))

    def do_GET(self) -> None:
        self._guarded(self._get)

    def do_POST(self) -> None:
        self._guarded(self._post)

    def _guarded(self, serve: Callable[[], None]) -> None:
        """A bug in the console is a 500 page naming the exception's type, never a dropped connection."""
        try:
            serve()
        except Exception as err:  # noqa: BLE001 - the page says what failed; nothing else would
            self._refuse(HTTPStatus.INTERNAL_SERVER_ERROR, f"the console failed: {type(err).__name__}")

    def _get(self) -> None:
        if not self._local_host():
            self._refuse(HTTPStatus.MISDIRECTED_REQUEST, "this console answers only to 127.0.0.1 / localhost")
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        sid, token, new = self.server.console.session(self._cookie())
        self._send(self.server.console.get(parts.path, query, token), sid if new else None)

    def _post(self) -> None:
        origin = self.headers.get("Origin")
        port = self.server.server_address[1]
        if not self._local_host() or (
            origin and origin not in (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
        ):
            self._refuse(HTTPStatus.FORBIDDEN, "cross-origin request refused")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "form too large")
            return
        fields = _form(self.rfile.read(length))
        try:
            answer = self.server.console.post(urlsplit(self.path).path, fields, self._cookie())
        except Refused as err:
            self._refuse(err.status, err.message)
            return
        self._send(answer)
