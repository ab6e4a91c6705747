"""A create killed inside the API handler of the local runtime (make up's wiring), after KMS signed: the gateway
drops the connection as API Gateway would; the same request over HTTP is told to wait (409 + Retry-After) while the
crashed attempt's idempotency record holds the key, then returns the one certificate; without a key, the sweep
fired through the router fails the half-done create, and it can be deleted."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import pytest
from certwright.domain import repair

from infra import template_model as tm
from infra.runtime import LocalRuntime, local_runtime
from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.crash.crashes import CrashHook, When

# The API function's timeout in this runtime: how long a crashed attempt's in-progress record holds its key.
API_TIMEOUT_S = 3


class Hooked(boto3.session.Session):
    """Every session made in this process (the handlers' among them) carries the crash hook."""

    hook = CrashHook()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        Hooked.hook.install(self)


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalRuntime, CrashHook]]:
    monkeypatch.setattr(boto3.session, "Session", Hooked)
    monkeypatch.setattr(repair, "REPAIR_AFTER", timedelta(0))  # the repair pass may act at once (real clock here)
    model = tm.load(tm.DEFAULT_TEMPLATE)
    functions = tuple(
        replace(f, timeout=API_TIMEOUT_S) if f.logical_id == "IssuanceApiFunction" else f for f in model.functions
    )
    Hooked.hook = CrashHook()
    with local_runtime(template=replace(model, functions=functions), start_router=False, sweep_seconds=0) as rt:
        yield rt, Hooked.hook


def http_call(rt: LocalRuntime, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json", **({"Idempotency-Key": key} if key else {})}
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(rt.api_url + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the local gateway
            return answer.status, dict(answer.headers), json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def killed(rt: LocalRuntime, hook: CrashHook, index: int, body: dict[str, Any], key: str | None) -> None:
    """POST /certificates with the handler killed after AWS call `index`: the connection is dropped."""
    hook.arm(index, When.AFTER)
    try:
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
            http_call(rt, "POST", "/certificates", body, key)
    finally:
        hook.disarm()
    assert hook.fired and "kms.Sign" in hook.fired, hook.fired


def hierarchy(rt: LocalRuntime) -> str:
    status, _, root = http_call(rt, "POST", "/certificate-authorities", root_ca_body())
    assert status == 201, root
    status, _, issuing = http_call(rt, "POST", "/certificate-authorities", sub_ca_body(root["id"]))
    assert status == 201, issuing
    return str(issuing["id"])


def named(rt: LocalRuntime, name: str) -> list[dict[str, Any]]:
    status, _, listed = http_call(rt, "GET", "/certificates?limit=100")
    assert status == 200
    return [c for c in listed["items"] if c["name"] == name]


def test_a_create_killed_after_signing_in_the_local_runtime_is_retried_over_http_into_one_certificate(
    wired: tuple[LocalRuntime, CrashHook],
) -> None:
    rt, hook = wired
    issuer = hierarchy(rt)
    # Issued from once (the API function caches the issuer), so the crashed request makes the calls recorded.
    assert http_call(rt, "POST", "/certificates", leaf_body(issuer, name="warm-up"))[0] == 201
    (status, _, _), calls = hook.record(lambda: http_call(rt, "POST", "/certificates", leaf_body(issuer), "ref"))
    assert status == 201
    after_sign = calls.index("kms.Sign")

    body = leaf_body(issuer, name="crashed-with-key")
    killed(rt, hook, after_sign, body, "k-1")
    status, headers, answer = http_call(rt, "POST", "/certificates", body, "k-1")
    assert (status, answer["code"]) == (409, "RequestInProgress"), answer
    wait = int(headers["Retry-After"])
    assert 1 <= wait <= API_TIMEOUT_S
    for _ in range(10):
        time.sleep(wait)
        status, headers, answer = http_call(rt, "POST", "/certificates", body, "k-1")
        if status != 409:
            break
        wait = int(headers.get("Retry-After", "1"))
    assert status == 201, answer
    assert [c["id"] for c in named(rt, "crashed-with-key")] == [answer["id"]], "one request, one certificate"
    assert answer["lifecycleState"] == "ACTIVE"
    status, _, again = http_call(rt, "POST", "/certificates", body, "k-1")
    assert (status, again["id"]) == (201, answer["id"])
    # The crashed attempt's reservation is FAILED (nothing was issued from it); the retry's version is CURRENT.
    status, _, versions = http_call(rt, "GET", f"/certificates/{answer['id']}/versions")
    stages = {v["versionNumber"]: v["stages"] for v in versions["items"]}
    assert stages == {1: ["FAILED"], 2: ["CURRENT", "LATEST"]}, stages


def test_a_create_killed_after_signing_without_a_key_is_failed_by_the_sweep_via_the_router(
    wired: tuple[LocalRuntime, CrashHook],
) -> None:
    rt, hook = wired
    issuer = hierarchy(rt)
    # Issued from once (the API function caches the issuer), so the crashed request makes the calls recorded.
    assert http_call(rt, "POST", "/certificates", leaf_body(issuer, name="warm-up"))[0] == 201
    (status, _, _), calls = hook.record(lambda: http_call(rt, "POST", "/certificates", leaf_body(issuer)))
    assert status == 201
    killed(rt, hook, calls.index("kms.Sign"), leaf_body(issuer, name="orphan"), None)
    (orphan,) = named(rt, "orphan")
    assert orphan["lifecycleState"] == "CREATING"

    assert rt.router.fire_schedules() >= 1  # the renewal sweep (and its repair pass), as its schedule would
    rt.router.drain()
    status, _, shown = http_call(rt, "GET", f"/certificates/{orphan['id']}")
    assert (status, shown["lifecycleState"]) == (200, "FAILED"), shown
    status, _, audit = http_call(rt, "GET", f"/audit-events?resourceId={orphan['id']}")
    assert next((a["action"], a["caller"], a["result"]) for a in audit["items"]) == (
        "CreateCertificate",
        "certwright:repair",
        "FAILED",
    )
    status, _, scheduled = http_call(rt, "POST", f"/certificates/{orphan['id']}/actions/schedule-deletion", {})
    assert (status, scheduled["lifecycleState"]) == (200, "PENDING_DELETION"), scheduled
