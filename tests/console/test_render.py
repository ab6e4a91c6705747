"""The console's pages and actions on canned API answers (no runtime, no browser): what each page shows, the
timeline's buckets and problems, the blast radius, escaping, and the CSRF, Host and Origin checks."""

from __future__ import annotations

import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from certwright_client.cli import build_parser, main
from certwright_client.console import command, views
from certwright_client.console.server import Console, ConsoleServer, Refused
from certwright_client.console.source import Api

from tests.console.conftest import forms

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
XSS = "<script>alert(1)</script>"


def cert(cid: str, name: str, days: int, **extra: Any) -> dict[str, Any]:
    end = (NOW + timedelta(days=days)).isoformat()
    body = {
        "id": cid,
        "name": name,
        "lifecycleState": "ACTIVE",
        "configType": "ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": "ca-sub",
        "subject": {"commonName": f"{name}.example.com"},
        "subjectAlternativeNames": [{"type": "DNS", "value": f"{name}.example.com"}],
        "keyAlgorithm": "ECDSA_P256",
        "renewalRule": None,
        "nextRenewalAt": None,
        "associationCount": 0,
        "expired": days < 0,
        "timeCreated": NOW.isoformat(),
        "currentVersion": {
            "versionNumber": 1,
            "serialNumber": f"0a{cid[-2:]}",
            "stages": ["CURRENT"],
            "lifecycleState": "ACTIVE",
            "validity": {"notBefore": NOW.isoformat(), "notAfter": end},
            "revocationStatus": None,
        },
    }
    body.update(extra)
    return body


def assoc(aid: str, cid: str, kind: str, resource: str, deployed: str = "DEPLOYED", **extra: Any) -> dict[str, Any]:
    body = {
        "id": aid,
        "certificateId": cid,
        "caBundleId": None,
        "associatedResourceId": resource,
        "associationType": kind,
        "hostnames": [],
        "listenerCertificateRole": "DEFAULT",
        "state": "ACTIVE",
        "deployment": {"desiredVersion": 1, "deployedVersion": 1, "state": deployed, "lastError": None},
        "probe": None,
    }
    body.update(extra)
    return body


LISTENER = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/shop/1/2"
HOST = "arn:aws:iam::1:role/web-host"
CERTS = [
    cert(
        "cert-01",
        "shop",
        10,
        associationCount=2,
        renewalRule={"renewalInterval": "P20D"},
        nextRenewalAt=(NOW - timedelta(days=1)).isoformat(),
    ),
    cert("cert-02", "billing", 40),
    cert("cert-03", XSS, 3),
]
ASSOCIATIONS = [
    assoc("assoc-1", "cert-01", views.LISTENER, LISTENER),
    assoc(
        "assoc-2",
        "cert-01",
        views.HOST,
        HOST,
        "FAILED",
        deployment={"desiredVersion": 1, "deployedVersion": None, "state": "FAILED", "lastError": "reload failed"},
        probe={
            "checkedAt": NOW.isoformat(),
            "healthy": False,
            "servedSerial": None,
            "expectedSerial": "0a01",
            "findings": [{"code": "HandshakeFailed", "severity": "error", "message": "x"}],
        },
        endpoint={"address": "web.example.com:443", "serverName": None},
    ),
    assoc("assoc-3", "cert-01", views.HOST, "arn:aws:iam::1:role/new-host", "PENDING", state="PENDING_CONFIRMATION"),
]
AUTHORITIES = [
    {
        "id": "ca-root",
        "name": "root",
        "issuerCertificateAuthorityId": None,
        "lifecycleState": "ACTIVE",
        "configType": "ROOT",
        "keyAlgorithm": "EC",
    },
    {
        "id": "ca-sub",
        "name": "sub",
        "issuerCertificateAuthorityId": "ca-root",
        "lifecycleState": "ACTIVE",
        "configType": "SUB",
        "keyAlgorithm": "EC",
    },
]


class CannedApi:
    """The console's Api on canned answers; records every POST."""

    base_url = "http://api.test"

    def __init__(self) -> None:
        self.posts: list[tuple[str, Any]] = []
        self.queries: list[tuple[str, dict[str, Any]]] = []  # every list read: its path and the query sent

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        return next(c for c in CERTS if path.endswith(c["id"]))

    def post(self, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        self.posts.append((path, body))
        return 201, {"versionNumber": 2, "stages": ["CURRENT", "LATEST"]}

    def certificates(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(("/certificates", dict(query or {})))
        return CERTS

    def authorities(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(("/certificate-authorities", dict(query or {})))
        return AUTHORITIES

    def ca_bundles(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(("/ca-bundles", dict(query or {})))
        return []

    def associations(self, query: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.queries.append(("/associations", dict(query or {})))
        wanted = (query or {}).get("certificateId")
        return [a for a in ASSOCIATIONS if wanted in (None, a["certificateId"])]

    def versions(self, certificate_id: str) -> list[dict[str, Any]]:
        current = next(c for c in CERTS if c["id"] == certificate_id)["currentVersion"]
        if certificate_id == "cert-02":
            return [current, {**current, "versionNumber": 2, "stages": [], "lifecycleState": "FAILED"}]
        return [current]


@pytest.fixture
def console() -> Console:
    return Console(CannedApi(), clock=lambda: NOW)  # type: ignore[arg-type]


def html(console: Console, path: str, query: dict[str, str] | None = None) -> str:
    answer = console.get(path, query or {}, "token")
    assert answer.status == 200, answer.body
    return answer.body.decode()


def test_a_certificate_name_is_escaped_on_every_page(console: Console) -> None:
    for path in ("/certificates", "/timeline", "/associations", "/certificates/cert-03"):
        page = html(console, path)
        assert "<script>alert" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html(console, "/certificates")


def test_a_filter_value_is_escaped_inside_its_attribute(console: Console) -> None:
    page = html(console, "/certificates", {"namePrefix": '"><script>alert(2)</script>'})
    assert "<script>alert(2)" not in page and 'value="&#34;&gt;&lt;script&gt;alert(2)' in page


def test_revoke_and_roll_back_post_to_the_apis_version_actions(console: Console) -> None:
    sid, token, _ = console.session(None)
    api: CannedApi = console.api  # type: ignore[assignment]
    console.post("/actions/rollback", {"certificateId": "cert-01", "version": "1", "csrf": token}, sid)
    fields = {"certificateId": "cert-01", "version": "1", "reason": "KEY_COMPROMISE", "csrf": token}
    console.post("/actions/revoke", fields, sid)
    console.post("/actions/renew", {"certificateId": "cert-01", "pending": "1", "csrf": token}, sid)
    assert api.posts == [
        ("/certificates/cert-01/versions/1/actions/promote", None),
        ("/certificates/cert-01/versions/1/actions/revoke", {"revocationReason": "KEY_COMPROMISE"}),
        ("/certificates/cert-01/versions", {"stage": "PENDING"}),
    ]


def test_the_search_forms_send_their_filters_as_the_apis_query_parameters(console: Console) -> None:
    api: CannedApi = console.api  # type: ignore[assignment]
    sent = {"namePrefix": "bill", "sortBy": "notAfter", "san": "", "tag": " team=web ", "lifecycleState": "ACTIVE"}
    page = html(console, "/certificates", {**sent, "by": "month"})
    assert api.queries[0] == (
        "/certificates",
        {"namePrefix": "bill", "sortBy": "notAfter", "tag": "team=web", "lifecycleState": "ACTIVE"},
    ), "filled-in fields only, trimmed; a parameter no form has stays here"
    assert api.queries[1:] == [("/certificate-authorities", {})], "the issuers' names, for display only"
    assert "3 certificate(s)" in page, "the page shows what the API answered: the console filters nothing itself"
    assert page.index("shop") < page.index("billing") < page.index("&lt;script"), "and in the API's order"
    for path, list_path, query in (
        ("/cas", "/certificate-authorities", {"namePrefix": "corp", "serialNumber": "0a:01"}),
        ("/ca-bundles", "/ca-bundles", {"inUse": "true", "sortBy": "name", "sortOrder": "DESC"}),
        ("/associations", "/associations", {"state": "SUSPENDED", "deploymentState": "FAILED"}),
    ):
        api.queries.clear()
        page = html(console, path, query)
        assert api.queries[0] == (list_path, query), path
    assert "HandshakeFailed" in page, "the association map shows every association the API answered"


class _Answering:
    """A Client stand-in: answers `status` and `body` to every call and records them."""

    base_url = "http://api.test"

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status = status
        self.body = body if body is not None else {"items": [], "nextPage": None}
        self.calls: list[tuple[str, str, dict[str, Any] | None]] = []

    def call(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> tuple[int, Any]:
        self.calls.append((method, path, query))
        return self.status, self.body


def test_a_search_is_one_list_request_and_no_probe() -> None:
    client = _Answering()
    console = Console(Api(client))  # type: ignore[arg-type]
    assert console.get("/certificates", {"hostname": "shop.example.com", "inUse": ""}, "token").status == 200
    assert client.calls == [
        ("GET", "/certificates", {"hostname": "shop.example.com", "page": None, "limit": 100}),
        ("GET", "/certificate-authorities", {"page": None, "limit": 100}),
    ]


def test_a_filter_the_api_refuses_is_its_4xx_and_code_on_the_page() -> None:
    refusal = {"code": "InvalidParameter", "message": "notAfterBefore / notAfterAfter need a time zone (e.g. Z)"}
    console = Console(Api(_Answering(400, refusal)))  # type: ignore[arg-type]
    answer = console.get("/certificates", {"notAfterBefore": "2027-01-01"}, "token")
    assert answer.status == 400 and "InvalidParameter" in answer.body.decode() and "time zone" in answer.body.decode()


def _accepted(schema: dict[str, Any], components: dict[str, Any]) -> set[str] | None:
    """The values a query parameter's schema allows, or None for free text."""
    if "$ref" in schema:
        return _accepted(components[schema["$ref"].rsplit("/", 1)[1]], components)
    if "anyOf" in schema:
        found = [_accepted(s, components) for s in schema["anyOf"] if s.get("type") != "null"]
        return None if any(f is None for f in found) else set().union(*(f for f in found if f is not None))
    if "enum" in schema:
        return {str(v) for v in schema["enum"]}
    if "const" in schema:
        return {str(schema["const"])}
    if schema.get("type") == "array":
        return _accepted(schema["items"], components)
    return None


def test_every_search_field_and_option_is_a_filter_the_api_accepts(console: Console) -> None:
    """The forms against the API's own /openapi.json: a form field or option the API refuses would be a 400."""
    from certwright.api.app import openapi_document

    document = json.loads(openapi_document())
    pages = {
        "/certificates": ("/certificates", views.CERTIFICATE_FILTERS),
        "/cas": ("/certificate-authorities", views.AUTHORITY_FILTERS),
        "/ca-bundles": ("/ca-bundles", views.BUNDLE_FILTERS),
        "/associations": ("/associations", views.ASSOCIATION_FILTERS),
    }
    for page, (list_path, passed_on) in pages.items():
        params = {p["name"]: p["schema"] for p in document["paths"][list_path]["get"]["parameters"]}
        (form,) = forms(html(console, page)).values()
        assert form, page
        assert set(passed_on) <= set(params), (page, set(passed_on) - set(params))
        for name, options in form.items():
            assert name in params and name in passed_on, (page, name)
            accepted = _accepted(params[name], document["components"]["schemas"])
            if accepted is not None:
                assert options is not None, f"{page}: {name} takes only {sorted(accepted)}: a select, not free text"
            if options is not None:
                chosen = set(options) - {""}
                assert chosen and (accepted is None or chosen <= accepted), (page, name, chosen - (accepted or set()))


def test_the_timeline_buckets_by_week_and_lists_what_is_overdue_or_failing() -> None:
    versions = {c["id"]: CannedApi().versions(c["id"]) for c in CERTS}
    attention, buckets = views.timeline(CERTS, versions, ASSOCIATIONS, NOW)
    problems = {e.certificate["name"]: e.problems for e in attention}
    assert problems["shop"][0].startswith("renewal overdue since 2026-05-31")
    assert any(p.startswith(f"deployment FAILED on {HOST}: reload failed") for p in problems["shop"])
    assert "probe unhealthy at web.example.com:443" in problems["shop"]
    assert problems["billing"] == ["renewal failed (version 2 FAILED)"]
    assert [b.label for b in buckets] == ["week of 2026-06-01", "week of 2026-06-08", "week of 2026-07-06"]
    _, months = views.timeline(CERTS, versions, ASSOCIATIONS, NOW, by="month")
    assert [(b.label, len(b.entries)) for b in months] == [("June 2026", 2), ("July 2026", 1)]


def test_the_association_map_groups_listeners_acm_and_hosts_per_certificate(console: Console) -> None:
    (row,) = views.association_map(CERTS, ASSOCIATIONS)
    assert (len(row.listeners), len(row.acm), len(row.hosts)) == (1, 0, 2)
    page = html(console, "/associations")
    assert "HandshakeFailed" in page and "unhealthy" in page and "reload failed" in page


def test_the_ca_tree_puts_each_ca_under_its_issuer(console: Console) -> None:
    (root,) = views.ca_tree(AUTHORITIES)
    assert (root.authority["id"], [c.authority["id"] for c in root.children]) == ("ca-root", ["ca-sub"])
    orphan = views.ca_tree([AUTHORITIES[1]])
    assert [n.authority["id"] for n in orphan] == ["ca-sub"], "an issuer the caller cannot see: shown as a root"


def test_the_blast_radius_names_who_is_redeployed() -> None:
    shop = CERTS[0]
    radius = views.blast_radius("renew", shop, None, ASSOCIATIONS)
    assert ([a["id"] for a in radius.listeners], [a["id"] for a in radius.hosts]) == (["assoc-1"], ["assoc-2"])
    assert [a["id"] for a in radius.idle] == ["assoc-3"] and radius.redeploys
    assert not views.blast_radius("revoke", shop, 7, ASSOCIATIONS).redeploys, "not CURRENT: nothing redeployed"
    revoke_current = views.blast_radius("revoke", shop, 1, ASSOCIATIONS)
    assert revoke_current.redeploys and "replacement version is issued" in revoke_current.summary
    assert not views.blast_radius("rollback", shop, 1, ASSOCIATIONS).redeploys, "already CURRENT"


def test_the_confirm_page_carries_the_token_and_the_action_posts_only_with_it(console: Console) -> None:
    sid, token, _ = console.session(None)
    page = console.get("/confirm/renew", {"certificateId": "cert-01"}, token).body.decode()
    assert f'name="csrf" value="{token}"' in page and LISTENER in page and HOST in page
    api: CannedApi = console.api  # type: ignore[assignment]
    for cookie, sent in ((sid, ""), (sid, "forged"), (None, token), ("other", token)):
        with pytest.raises(Refused) as refused:
            console.post("/actions/renew", {"certificateId": "cert-01", "csrf": sent}, cookie)
        assert refused.value.status == 403
    assert api.posts == []
    answer = console.post("/actions/renew", {"certificateId": "cert-01", "csrf": token}, sid)
    assert answer.status == 200 and "version 2 was created" in answer.body.decode()
    assert api.posts == [("/certificates/cert-01/versions", {"stage": "CURRENT"})]


def test_bad_action_input_is_refused_without_calling_the_api(console: Console) -> None:
    sid, token, _ = console.session(None)
    for path, fields in (
        ("/actions/explode", {"certificateId": "cert-01"}),
        ("/actions/promote", {"certificateId": "cert-01", "version": "x"}),
        ("/actions/revoke", {"certificateId": "cert-01", "version": "1", "reason": "BORED"}),
        ("/actions/renew", {}),
    ):
        answer = console.post(path, {**fields, "csrf": token}, sid)
        assert 400 <= answer.status < 500, (path, answer.status)
    assert console.api.posts == []  # type: ignore[attr-defined]


@pytest.fixture
def served(console: Console) -> Iterator[str]:
    server = ConsoleServer(console)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def status_of(request: urllib.request.Request) -> int:
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - the test's own server
            return int(answer.status)
    except urllib.error.HTTPError as err:
        return err.code


def test_the_server_binds_loopback_and_refuses_other_hosts_and_origins(console: Console, served: str) -> None:
    assert served.startswith("http://127.0.0.1:")
    assert status_of(urllib.request.Request(served + "/certificates")) == 200  # noqa: S310
    rebinding = urllib.request.Request(served + "/certificates", headers={"Host": "evil.example:80"})  # noqa: S310
    assert status_of(rebinding) == 421
    cross = urllib.request.Request(  # noqa: S310
        served + "/actions/renew", data=b"certificateId=cert-01", headers={"Origin": "http://evil.example"}
    )
    assert status_of(cross) == 403
    assert status_of(urllib.request.Request(served + "/actions/renew", data=b"certificateId=cert-01")) == 403  # noqa: S310
    assert console.api.posts == []  # type: ignore[attr-defined]
    with urllib.request.urlopen(served + "/certificates", timeout=10) as answer:  # noqa: S310
        assert "script-src" not in answer.headers["Content-Security-Policy"], "no script is allowed at all"
        assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_certwright_console_is_a_command_that_serves_on_loopback_with_the_clis_transport(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["console", "--help"]) == 0
    shown = capsys.readouterr().out
    assert "--caller-arn" in shown and "--sigv4" in shown and "127.0.0.1" in shown
    args = build_parser().parse_args(["console", "--api", "http://127.0.0.1:9", "--caller-arn", HOST, "--port", "0"])
    server = command.build(args)
    try:
        assert server.server_address[0] == "127.0.0.1"
        client = server.console.api.client
        assert (client.base_url, client.caller, client.sign) == ("http://127.0.0.1:9", HOST, False)
    finally:
        server.server_close()
    signed = command.build(build_parser().parse_args(["--api", "https://api.example", "console", "--sigv4"]))
    try:
        assert (signed.console.api.client.base_url, signed.console.api.client.sign) == ("https://api.example", True)
    finally:
        signed.server_close()


def test_an_unreachable_api_is_a_502_page_not_a_dropped_connection() -> None:
    from certwright_client.cli import Client

    with socket.socket() as sock:  # a port nothing listens on: bound, then released
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    console = Console(Api(Client(f"http://127.0.0.1:{port}", None, False)))
    answer = console.get("/certificates", {}, "token")
    assert answer.status == 502 and "ApiUnreachable" in answer.body.decode()


def test_sessions_are_bounded() -> None:
    console = Console(CannedApi())  # type: ignore[arg-type]
    first, _, _ = console.session(None)
    for _ in range(1_000):
        console.session(None)
    assert console.session(first)[2], "the oldest session was forgotten: a new one is made"
