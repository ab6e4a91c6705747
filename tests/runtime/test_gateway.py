"""The local gateway answers real HTTP with the real issuance_api, through API Gateway-shaped proxy events."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from certwright import bootstrap

from infra import template_model as tm
from infra.api_events import LOCAL_ADMIN
from infra.gateway import CALLER_HEADER, Route, _path_pattern, proxy_event
from infra.runtime import LocalRuntime, local_runtime

ROOT_CA = {
    "name": "root",
    "configType": "ROOT_CA_GENERATED_INTERNALLY",
    "subject": {"commonName": "Gateway Test Root", "organization": "Certwright"},
    "keyAlgorithm": "ECDSA_P256",
    "validityDuration": "P10Y",
}


@pytest.fixture(scope="module")
def api() -> Iterator[LocalRuntime]:
    """The real template and the real API handler; the router stays still (these tests are about HTTP).

    One runtime for the module: no test here needs an empty account (each creates what it reads)."""
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


@pytest.fixture(autouse=True)
def _runtime_environment(_aws_environment: None, api: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The runtime outlives each test; give back the endpoint the per-test AWS environment takes away."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", api.endpoint)


def call(
    rt: LocalRuntime, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(  # noqa: S310 - the local gateway
        rt.api_url + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the local gateway
            status, answer_headers, text = answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as err:
        status, answer_headers, text = err.code, dict(err.headers), err.read()
    return status, answer_headers, json.loads(text) if text else None


def test_openapi_is_served(api: LocalRuntime) -> None:
    status, headers, body = call(api, "GET", "/openapi.json")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["info"]["title"] == "Certwright"
    assert "/certificate-authorities" in body["paths"]


def test_a_certificate_authority_is_created_and_read_back(api: LocalRuntime) -> None:
    status, _, created = call(api, "POST", "/certificate-authorities", ROOT_CA)
    assert status == 201, created
    assert created["name"] == "root" and created["id"]
    status, _, read = call(api, "GET", f"/certificate-authorities/{created['id']}")
    assert status == 200
    assert read["id"] == created["id"]
    # It went through the embedded AWS: the row is in the table the template declares.
    table = api.deployment.resources["CertificatesTable"].ref
    rows = api.session.client("dynamodb").scan(TableName=table)["Items"]
    assert any(created["id"] in row["pk"]["S"] for row in rows)


def test_errors_come_from_the_api_and_from_the_gateway(api: LocalRuntime) -> None:
    status, _, body = call(api, "GET", "/no-such-route")
    assert status == 404 and body["code"] == "NotFound"  # /{proxy+} matched; the API answered
    status, _, body = call(api, "GET", "/")
    assert status == 403 and body == {"message": "Missing Authentication Token"}  # no Api event matches "/"
    status, _, body = call(api, "POST", "/certificate-authorities", b"{not json")
    assert status == 400 and body["code"] == "InvalidJson"
    status, _, body = call(api, "POST", "/certificate-authorities", {"name": "x" * (70 * 1024)})
    assert status == 413


def test_the_proxy_event_carries_the_caller_path_and_query_as_api_gateway_would() -> None:
    function = tm.Function(logical_id="Api", code_uri=tm.DEFAULT_TEMPLATE.parent, handler="app.lambda_handler")
    event = tm.ApiEvent(name="Any", path="/{proxy+}", method="ANY")
    route = Route(function, event, _path_pattern(event.path), "prod")
    parameters = route.matches("GET", "/certificates/c-1/bundle")
    assert parameters == {"proxy": "certificates/c-1/bundle"}
    caller = "arn:aws:iam::123456789012:role/payments-web"
    built = proxy_event(
        route,
        "GET",
        "/certificates/c-1/bundle?stage=CURRENT&x=1&x=2",
        [("Host", "127.0.0.1"), (CALLER_HEADER, caller), ("Accept", "application/json"), ("Connection", "close")],
        b"",
        parameters,
    )
    assert built["requestContext"]["identity"]["userArn"] == caller
    assert CALLER_HEADER not in built["headers"] and "Connection" not in built["headers"]
    assert built["headers"]["Accept"] == "application/json"
    assert "Content-Type" not in built["headers"]  # the request sent none
    assert built["path"] == "/certificates/c-1/bundle"
    assert built["resource"] == "/{proxy+}"
    assert built["pathParameters"] == {"proxy": "certificates/c-1/bundle"}
    assert built["queryStringParameters"]["stage"] == "CURRENT"
    assert built["multiValueQueryStringParameters"]["x"] == ["1", "2"]
    assert built["requestContext"]["path"] == "/prod/certificates/c-1/bundle"
    assert built["body"] is None and built["isBase64Encoded"] is False

    anonymous = proxy_event(route, "POST", "/x", [], b"\xff\xfe", {"proxy": "x"})
    assert anonymous["requestContext"]["identity"]["userArn"] == LOCAL_ADMIN
    assert anonymous["isBase64Encoded"] is True and anonymous["body"] == "//4="
    assert route.matches("GET", "/") is None


# -- concurrency: many clients at once, every answer the right one --------------------------------------------

CLIENTS = 16
ROUNDS = 4


def _raw_call(rt: LocalRuntime, method: str, path: str, caller: str) -> tuple[int, Any]:
    """One request on a fresh connection (as a load generator opens them), without urllib's retries."""
    parts = urlsplit(rt.api_url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
    try:
        connection.request(method, path, headers={CALLER_HEADER: caller, "Connection": "close"})
        answer = connection.getresponse()
        text = answer.read()
    finally:
        connection.close()
    return answer.status, json.loads(text) if text else None


def test_sixteen_parallel_clients_get_their_own_answers(api: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections are accepted under load, and concurrent requests never see each other's caller or ids.

    Powertools keeps the current event on the resolver class, so two invocations of one handler at once
    would read each other's caller; a short pause where every route fetches its services widens that window.
    """
    status, _, ca = call(api, "POST", "/certificate-authorities", ROOT_CA)
    assert status == 201, ca
    leaf = {
        "name": "web",
        "configType": "ISSUED_BY_INTERNAL_CA",
        "issuerCertificateAuthorityId": ca["id"],
        "profile": "TLS_SERVER",
        "subject": {"commonName": "www.gateway.example"},
        "keyAlgorithm": "ECDSA_P256",
        "validityDuration": "P30D",
    }
    status, _, cert = call(api, "POST", "/certificates", leaf)
    assert status == 201, cert
    host = "arn:aws:iam::123456789012:role/gateway-host"
    status, _, association = call(
        api, "POST", "/associations", {"certificateId": cert["id"], "associatedResourceId": host}
    )
    assert status == 201
    # The host consents to its association by confirming it with its own identity (README, Consent).
    assert _raw_call(api, "POST", f"/associations/{association['id']}/actions/confirm", host)[0] == 200

    fetch_services = bootstrap.container

    def slowly() -> bootstrap.Container:
        time.sleep(0.01)
        return fetch_services()

    monkeypatch.setattr(bootstrap, "container", slowly)

    def client(number: int) -> list[str]:
        wrong: list[str] = []
        stranger = f"arn:aws:iam::123456789012:role/stranger-{number}"
        for round_ in range(ROUNDS):
            missing = f"cert-missing-{number}-{round_}"
            answers = [
                (_raw_call(api, "GET", f"/certificates/{missing}", stranger), 404, missing),
                (_raw_call(api, "GET", f"/certificate-authorities/{ca['id']}", LOCAL_ADMIN), 200, ca["id"]),
                (_raw_call(api, "GET", f"/certificate-authorities/{ca['id']}", stranger), 404, ca["id"]),
                (_raw_call(api, "GET", f"/certificates/{cert['id']}/bundle?includePrivateKey=true", host), 200, "KEY"),
                # A stranger may not even see the certificate (authorization: invisible is 404).
                (_raw_call(api, "GET", f"/certificates/{cert['id']}/bundle?includePrivateKey=true", stranger), 404, ""),
            ]
            for (status, body), expected, marker in answers:
                if status != expected:
                    wrong.append(f"client {number}: {status} instead of {expected}: {body}")
                elif marker == "KEY" and "privateKeyPem" not in body:
                    wrong.append(f"client {number}: the associated host got no key")
                elif marker and marker != "KEY" and marker not in json.dumps(body):
                    wrong.append(f"client {number}: answer for someone else: {body}")
        return wrong

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))  # a dropped connection raises here
    assert [w for r in results for w in r] == []


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "PROPFIND", "OPTIONS", "DELETE"])
def test_every_method_reaches_the_api_which_answers_405_or_404(api: LocalRuntime, method: str) -> None:
    parts = urlsplit(api.api_url)
    for path, expected in [("/certificates", 405), ("/no-such-route", 404)]:
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
        try:
            connection.request(method, path)
            answer = connection.getresponse()
            body = json.loads(answer.read())
        finally:
            connection.close()
        assert answer.status == expected, (method, path, body)
        if expected == 405:
            assert answer.headers["Allow"] == "GET, POST" and body["code"] == "MethodNotAllowed"
        else:
            assert body["code"] == "NotFound"
