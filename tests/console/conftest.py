"""The console against a running local runtime with real data, and a real browser (Debian's chromium) to drive it.

One runtime, one set of data, one console server and one browser per test module: the machine is small.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from certwright_client.cli import Client
from certwright_client.console.server import Console, ConsoleServer
from certwright_client.console.source import Api

from infra.demo import third_party_certificate
from infra.gateway import CALLER_HEADER
from infra.runtime import LocalRuntime, local_runtime
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent
from tests.listeners import https_listener

CHROMIUM = "/usr/bin/chromium"
HOST_ROLE = "arn:aws:iam::123456789012:role/console-host"
HOST = "arn:aws:sts::123456789012:assumed-role/console-host/i-0console"
XSS_NAME = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
# CERTWRIGHT_CONSOLE_SCREENSHOTS=docs/console: the browser tests also save a PNG of each page there.
SHOTS = os.environ.get("CERTWRIGHT_CONSOLE_SCREENSHOTS")


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Replaces the root conftest's per-test AWS environment, which would unset the module runtime's endpoint."""


def call(rt: LocalRuntime, method: str, path: str, body: Any = None, caller: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(rt.api_url + path, data=data, method=method)  # noqa: S310 - local gateway
    request.add_header("Content-Type", "application/json")
    if caller:
        request.add_header(CALLER_HEADER, caller)
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310 - local gateway
            status, text = answer.status, answer.read()
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read()
    return status, json.loads(text) if text else None


def post(rt: LocalRuntime, path: str, body: Any = None, caller: str | None = None) -> Any:
    status, answer = call(rt, "POST", path, body if body is not None else {}, caller)
    assert status in (200, 201), (path, status, answer)
    return answer


def settle(rt: LocalRuntime) -> None:
    for _ in range(3):
        rt.router.drain(timeout=180)


def listener(rt: LocalRuntime) -> str:
    return https_listener(rt.session, "console-shop", 7, "placeholder.example")


@dataclass
class World:
    rt: LocalRuntime
    root: dict[str, Any]
    issuing: dict[str, Any]
    shop: dict[str, Any]  # renews itself; used by a listener, an ACM certificate and a host whose deployment FAILED
    billing: dict[str, Any]  # unused, manual renewal, one revoked version
    xss: dict[str, Any]
    listener: str
    console_url: str


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }.items():
            patch.setenv(name, value)
        with local_runtime(sweep_seconds=0) as rt:
            root = post(rt, "/certificate-authorities", root_ca_body(name="corp-root"))
            issuing = post(rt, "/certificate-authorities", sub_ca_body(root["id"], name="corp-issuing"))
            rule = {"renewalInterval": "P20D", "advanceRenewalPeriod": "P5D"}
            shop = post(
                rt,
                "/certificates",
                leaf_body(
                    issuing["id"],
                    name="shop-web",
                    subject={"commonName": "shop.example.com"},
                    subjectAlternativeNames=[{"type": "DNS", "value": "shop.example.com"}],
                    renewalRule=rule,
                ),
            )
            billing = post(
                rt,
                "/certificates",
                leaf_body(
                    issuing["id"],
                    name="billing-api",
                    subject={"commonName": "billing.example.com"},
                    subjectAlternativeNames=[{"type": "DNS", "value": "billing.example.com"}],
                    validityDuration="P90D",
                ),
            )
            post(rt, f"/certificates/{billing['id']}/versions", {})
            post(rt, f"/certificates/{billing['id']}/versions/1/actions/revoke", {"revocationReason": "SUPERSEDED"})
            xss = post(rt, "/certificates", leaf_body(issuing["id"], name=XSS_NAME))
            post(rt, "/ca-bundles", {"name": "corp-trust", "certificateAuthorityIds": [root["id"], issuing["id"]]})
            arn = listener(rt)
            consent(rt.session, arn, shop["id"])
            post(rt, "/associations", {"certificateId": shop["id"], "associatedResourceId": arn})
            _, pem, key = third_party_certificate("legacy.example.com")
            acm_arn = rt.session.client("acm").import_certificate(Certificate=pem.encode(), PrivateKey=key.encode())
            consent(rt.session, acm_arn["CertificateArn"], shop["id"])
            post(rt, "/associations", {"certificateId": shop["id"], "associatedResourceId": acm_arn["CertificateArn"]})
            host = post(rt, "/associations", {"certificateId": shop["id"], "associatedResourceId": HOST_ROLE})
            settle(rt)
            post(rt, f"/associations/{host['id']}/actions/confirm", {}, caller=HOST)
            post(
                rt,
                f"/associations/{host['id']}/actions/report-deployment",
                {"versionNumber": 1, "state": "FAILED", "reason": "nginx -t: cannot load certificate"},
                caller=HOST,
            )
            settle(rt)
            server = ConsoleServer(Console(Api(Client(rt.api_url, None, False))))
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield World(rt, root, issuing, shop, billing, xss, arn, server.url)
            finally:
                server.shutdown()
                server.server_close()
                thread.join()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: `make tools` installs Debian's chromium"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    """Save a PNG of the page into $CERTWRIGHT_CONSOLE_SCREENSHOTS (the docs' screenshots), when set."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, tuple[str, ...] | None]] = {}
        self._form: dict[str, tuple[str, ...] | None] | None = None
        self._select: str | None = None
        self._option: str | None = None  # the open option's value attribute
        self._text = ""  # the open option's text (its value when it has no value attribute)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self._form = self.forms.setdefault(str(a.get("action")), {})
        elif self._form is not None and tag == "input" and a.get("type") not in ("hidden", "checkbox"):
            self._form[str(a["name"])] = None
        elif self._form is not None and tag == "select":
            self._select = str(a["name"])
            self._form[self._select] = ()
        elif self._select is not None and self._form is not None and tag == "option":
            self._option = a.get("value")
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._select is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "option" and self._select is not None and self._form is not None:
            value = self._option if self._option is not None else self._text
            self._form[self._select] = (*(self._form[self._select] or ()), value)
        elif tag == "select":
            self._select = None
        elif tag == "form":
            self._form = None


def forms(html: str) -> dict[str, dict[str, tuple[str, ...] | None]]:
    """A page's GET forms: action -> field name -> the select's option values (None: a text input)."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms
