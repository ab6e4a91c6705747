"""The console in a real browser (Debian's chromium, driven by Playwright) over a running local runtime.

Every page renders the runtime's real data, the search form filters, a renewal confirmed in the console reaches the
API and the page shows the new version, an XSS-named certificate is inert and a POST without the CSRF token is
refused before the API is called.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from tests.console.conftest import HOST_ROLE, XSS_NAME, World, call, forms, shot


def test_every_page_renders_the_runtimes_real_data(world: World, page: Any) -> None:
    page.goto(world.console_url + "/")
    rows = page.locator("#certificates tr.certificate")
    assert rows.count() == 3
    assert page.locator("#certificates").get_by_text("shop-web").is_visible()
    serial = world.shop["currentVersion"]["serialNumber"]
    assert page.locator("#certificates").get_by_text(serial).is_visible()
    shot(page, "certificates")

    page.goto(world.console_url + "/cas")
    tree = page.locator("#ca-tree")
    root = tree.locator("li.ca", has_text="corp-root").first
    assert root.locator("ul.tree li.ca", has_text="corp-issuing").count() == 1, "the subordinate sits under its root"
    shot(page, "ca-hierarchy")

    page.goto(world.console_url + "/ca-bundles")
    bundle = page.locator("#ca-bundles tr.ca-bundle", has_text="corp-trust")
    assert "corp-root, corp-issuing" in bundle.inner_text()
    shot(page, "ca-bundles")

    page.goto(world.console_url + "/associations")
    shop = page.locator(".map-row", has_text="shop-web")
    assert shop.get_by_text("1 listener(s) · 1 ACM certificate(s) · 1 host(s)").is_visible()
    listener = shop.locator("tr.assoc", has_text=world.listener)
    assert listener.get_by_text("DEPLOYED").is_visible()
    assert "served 1" in listener.inner_text()
    host = shop.locator("tr.assoc", has_text=HOST_ROLE)
    assert "FAILED" in host.inner_text() and "nginx -t: cannot load certificate" in host.inner_text()
    shot(page, "association-map")

    page.goto(world.console_url + "/timeline")
    attention = page.locator("#attention tr.entry", has_text="shop-web")
    assert "deployment FAILED on " + HOST_ROLE in attention.inner_text()
    assert page.locator("h2.bucket").count() >= 2, "30-day and 90-day certificates expire in different weeks"
    assert "renews itself" in page.locator("tr.entry", has_text="shop-web").last.inner_text()
    shot(page, "timeline")

    page.goto(world.console_url + "/revocations")
    revoked = page.locator("#revoked tr.revoked")
    assert revoked.count() == 1 and "SUPERSEDED" in revoked.inner_text() and "billing-api" in revoked.inner_text()
    for ca in ("corp-root", "corp-issuing"):  # the root's CRL is named by the issuing CA's certificate
        crl = page.locator("#crls tr.crl", has_text=ca)
        assert "fresh" in crl.inner_text() and "/crl/" in crl.inner_text(), crl.inner_text()
    # Revocations are batched into the next CRL (CrlBatchSeconds): either state may show, but it must be the truth.
    revoked_serials = int(page.locator("#crls tr.crl", has_text="corp-issuing").inner_text().split("\t")[4])
    expected = "listed" if revoked_serials else "awaiting the next CRL"
    assert revoked.inner_text().endswith(expected), (revoked.inner_text(), revoked_serials)
    shot(page, "revocations")

    page.goto(world.console_url + "/certificates/" + world.billing["id"])
    page.get_by_role("link", name="audit trail", exact=True).click()
    events = page.locator("#audit tr.event")
    assert events.count() >= 3
    assert page.locator("#audit").get_by_text("RevokeCertificateVersion").is_visible()
    shot(page, "audit")


def test_search_and_filters_narrow_the_inventory(world: World, page: Any) -> None:
    page.goto(world.console_url + "/certificates")
    page.fill("#filters input[name=san]", "billing.example.com")
    page.click("#filters button")
    assert page.locator("#certificates tr.certificate").all_inner_texts()[0].startswith("billing-api")
    assert page.locator("#certificates tr.certificate").count() == 1
    assert "san=billing.example.com" in page.url, "the filter is passed to the API as a query parameter"

    page.goto(world.console_url + "/certificates")
    page.select_option("#filters select[name=inUse]", "true")
    page.click("#filters button")
    names = [r.split("\t")[0] for r in page.locator("#certificates tr.certificate").all_inner_texts()]
    assert names == ["shop-web"]

    page.goto(world.console_url + "/certificates?namePrefix=shop&sortBy=name&sortOrder=DESC")
    names = [r.split("\t")[0] for r in page.locator("#certificates tr.certificate").all_inner_texts()]
    assert names == ["shop-web"]
    page.goto(world.console_url + "/certificates?deploymentState=FAILED")
    assert page.locator("#certificates tr.certificate").count() == 1
    page.goto(world.console_url + "/certificates?hostname=shop.example.com")
    assert [r.split("\t")[0] for r in page.locator("#certificates tr.certificate").all_inner_texts()] == ["shop-web"]
    serial = call(world.rt, "GET", f"/certificates/{world.billing['id']}")[1]["currentVersion"]["serialNumber"]
    page.goto(world.console_url + "/certificates")
    page.fill("#filters input[name=serialNumber]", serial)
    page.click("#filters button")
    assert page.locator("#certificates tr.certificate").all_inner_texts()[0].startswith("billing-api")
    assert page.locator("#certificates tr.certificate").count() == 1

    page.goto(world.console_url + "/cas")
    page.fill("#filters input[name=namePrefix]", "corp-iss")
    page.select_option("#filters select[name=lifecycleState]", "ACTIVE")
    page.click("#filters button")
    assert "namePrefix=corp-iss" in page.url and "lifecycleState=ACTIVE" in page.url
    assert page.locator("#ca-tree li.ca").all_inner_texts()[0].startswith("corp-issuing")
    assert page.locator("#ca-tree li.ca").count() == 1
    page.goto(world.console_url + "/associations")
    page.select_option("#filters select[name=state]", "SUSPENDED")
    page.click("#filters button")
    assert "state=SUSPENDED" in page.url and page.locator(".map-row").count() == 0, "every association is ACTIVE"


def test_a_filter_the_api_refuses_shows_the_apis_code(world: World, page: Any) -> None:
    answer = page.goto(world.console_url + "/certificates?notAfterBefore=2027-01-01")
    assert answer.status == 400
    assert "InvalidParameter" in page.inner_text("#error") and "time zone" in page.inner_text("#error")


# A value for each text field of the search forms (a new field needs one here).
SAMPLES = {
    "namePrefix": "corp",
    "hostname": "shop.example.com",
    "san": "shop.example.com",
    "serialNumber": "0a",
    "notAfterAfter": "2026-01-01T00:00:00Z",
    "notAfterBefore": "2099-01-01T00:00:00Z",
    "tag": "team=web",
}


def test_every_search_field_and_option_is_accepted_by_the_api(world: World) -> None:
    """Each field of each search form, alone, with each of its options: the real API answers 200, never a 400."""
    ids = {"issuerCertificateAuthorityId": world.issuing["id"], "certificateId": world.shop["id"]}
    for path in ("/certificates", "/cas", "/ca-bundles", "/associations"):
        with urllib.request.urlopen(world.console_url + path, timeout=60) as answer:  # noqa: S310 - the test's console
            (form,) = forms(answer.read().decode()).values()
        for name, options in form.items():
            for value in [o for o in options if o] if options is not None else [{**SAMPLES, **ids}[name]]:
                url = f"{world.console_url}{path}?{urlencode({name: value})}"
                try:
                    with urllib.request.urlopen(url, timeout=60) as answer:  # noqa: S310 - the test's console
                        status = answer.status
                except urllib.error.HTTPError as err:
                    status, body = err.code, err.read().decode()
                    raise AssertionError(f"{path} {name}={value}: {status} {body[-600:]}") from None
                assert status == 200, (path, name, value)


def test_an_xss_named_certificate_is_inert(world: World, page: Any) -> None:
    for path in ("/certificates", "/timeline", "/certificates/" + world.xss["id"]):
        page.goto(world.console_url + path)
        assert page.evaluate("window.pwned") is None, path
        assert page.get_by_text(XSS_NAME).first.is_visible(), "the name shows as text"
        assert page.locator("main img").count() == 0


def test_a_post_without_the_csrf_token_is_refused_and_reaches_no_api(world: World) -> None:
    before = call(world.rt, "GET", f"/certificates/{world.billing['id']}")[1]["currentVersion"]["versionNumber"]
    form = f"certificateId={world.billing['id']}".encode()
    request = urllib.request.Request(world.console_url + "/actions/renew", data=form, method="POST")  # noqa: S310
    try:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 - the test's own console
        status = 200
    except urllib.error.HTTPError as err:
        status = err.code
    assert status == 403
    after = call(world.rt, "GET", f"/certificates/{world.billing['id']}")[1]["currentVersion"]["versionNumber"]
    assert after == before


def test_renewing_from_the_console_reaches_the_api_and_shows_the_new_version(world: World, page: Any) -> None:
    page.goto(world.console_url + "/certificates/" + world.shop["id"])
    assert page.inner_text("#current-version") == "1"
    page.click("#renew")
    radius = page.locator("#blast-radius")
    assert "1 load balancer listener(s), 1 ACM certificate(s), 1 host(s) — each is redeployed" in radius.inner_text()
    assert radius.get_by_text(world.listener).is_visible() and radius.get_by_text(HOST_ROLE).is_visible()
    shot(page, "confirm-renew")
    page.click("#do-it")
    assert page.locator("#status").count() == 1, page.inner_text("main")
    assert page.inner_text("#status") == "201"
    assert "version 2 was created" in page.inner_text("#outcome")
    shot(page, "result")
    answered = call(world.rt, "GET", f"/certificates/{world.shop['id']}")[1]
    assert answered["currentVersion"]["versionNumber"] == 2, "the renewal reached the API"
    page.get_by_role("link", name="Back to the certificate").click()
    assert page.inner_text("#current-version") == "2"
    shot(page, "certificate")


def test_the_certwright_console_command_serves_the_runtimes_data(world: World) -> None:
    """`certwright console` itself (a child process, as a user starts it) against the running runtime."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    argv = [sys.executable, "-m", "certwright_client", "console", "--api", world.rt.api_url, "--port", "0"]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            match = re.search(r"on (http://127\.0\.0\.1:\d+) ", line)
            assert match, line
            with urllib.request.urlopen(match.group(1) + "/certificates", timeout=60) as answer:  # noqa: S310
                assert answer.status == 200 and "shop-web" in answer.read().decode()
        finally:
            child.terminate()
            child.wait(timeout=30)
