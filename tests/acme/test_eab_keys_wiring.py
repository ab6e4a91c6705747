"""Offboarding through the real wiring: the local runtime's HTTP gateway and Api handler on the embedded AWS,
driven by the certwright CLI. An admin finds another principal's EAB keys (`acme eab list --principal`, paged
with sealed tokens) and revokes them; to a third principal that principal has none; a bad principal is 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from certwright_client.cli import Client, build_parser, run

from infra.api_events import LOCAL_ADMIN
from infra.runtime import LocalRuntime, local_runtime

ALICE = "arn:aws:iam::123456789012:role/alice"
BOB = "arn:aws:iam::123456789012:role/bob"


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the runtime sets the process environment (endpoint, credentials)."""


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


def _cli(rt: LocalRuntime, caller: str, *argv: str) -> tuple[int, Any]:
    return run(build_parser().parse_args(list(argv)), Client(rt.api_url, caller, sign=False))


def test_an_admin_lists_another_principals_eab_keys_and_revokes_them(runtime: LocalRuntime) -> None:
    created = []
    for _ in range(3):
        status, key = _cli(runtime, ALICE, "acme", "eab", "create")
        assert status == 201, key
        created.append(key["keyId"])
    # One key a page: the CLI follows the sealed tokens the gateway hands back.
    status, listed = _cli(runtime, LOCAL_ADMIN, "acme", "eab", "list", "--principal", ALICE, "--page-size", "1")
    assert status == 200, listed
    assert [k["keyId"] for k in listed["items"]] == created
    assert {k["principalArn"] for k in listed["items"]} == {ALICE}
    status, hidden = _cli(runtime, BOB, "acme", "eab", "list", "--principal", ALICE)
    assert (status, hidden) == (200, {"items": [], "nextPage": None})
    status, bad = _cli(runtime, LOCAL_ADMIN, "acme", "eab", "list", "--principal", "arn:aws:s3:::alice")
    assert (status, bad["code"]) == (400, "InvalidParameter")
    for key_id in created:
        status, revoked = _cli(runtime, LOCAL_ADMIN, "acme", "eab", "revoke", key_id)
        assert (status, revoked["revoked"]) == (200, True)
    status, after = _cli(runtime, ALICE, "acme", "eab", "list")
    assert [(k["keyId"], k["revoked"]) for k in after["items"]] == [(k, True) for k in created]
