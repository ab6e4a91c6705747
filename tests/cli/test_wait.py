"""`--wait` on a scripted API: done, FAILED (exit 5, the reason printed) and timed out (exit 75), progress on stderr."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from certwright_client import wait
from certwright_client.cli import EXIT_TIMEOUT, EXIT_WAIT_FAILED, Client, main


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(wait, "monotonic", fake.monotonic)
    monkeypatch.setattr(wait, "sleep", fake.sleep)
    return fake


def association(state: str, deployed: int | None, desired: int = 2, error: str | None = None) -> dict[str, Any]:
    return {
        "id": "a-1",
        "state": "ACTIVE",
        "associatedResourceId": "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/x/1/2",
        "deployment": {
            "state": state,
            "desiredVersion": desired,
            "deployedVersion": deployed,
            "lastError": error,
            "verifiedAt": None,
        },
    }


def scripted(
    monkeypatch: pytest.MonkeyPatch, associations: Callable[[int], list[dict[str, Any]]], current: int = 2
) -> list[str]:
    """Client.call answers: POST promote, GET the certificate, GET its associations (the n-th look's)."""
    looks: list[str] = []

    def call(self: Client, method: str, path: str, body: Any = None, query: Any = None) -> tuple[int, Any]:
        looks.append(f"{method} {path}")
        if method == "POST":
            return 200, {"id": "c-1", "currentVersion": {"versionNumber": current}}
        if path == "/certificates/c-1":
            return 200, {"id": "c-1", "currentVersion": {"versionNumber": current}}
        if path == "/associations":
            assert query["certificateId"] == "c-1"
            n = sum(1 for look in looks if look == "GET /associations")
            return 200, {"items": associations(n), "nextPage": None}
        raise AssertionError(path)

    monkeypatch.setattr(Client, "call", call)
    return looks


def test_promote_wait_returns_when_every_active_association_deployed_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    looks = scripted(monkeypatch, lambda n: [association("DEPLOYING", 1)] if n < 3 else [association("DEPLOYED", 2)])
    code = main(["--api", "http://127.0.0.1:9", "-o", "json", "cert", "promote", "c-1", "2", "--wait"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert looks.count("GET /associations") == 3
    lines = err.splitlines()
    assert lines[0].startswith("waiting: c-1 version 2 CURRENT; 0/1 active associations deployed (arn:")
    assert "DEPLOYING" in lines[0] and "1/1 active associations deployed" in lines[1], "one line per change"
    assert lines[-1] == "done: c-1 version 2 deployed"


def test_a_failed_deployment_exits_5_with_its_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    scripted(monkeypatch, lambda n: [association("FAILED", 1, error="listener not found")])
    code = main(["--api", "http://127.0.0.1:9", "cert", "promote", "c-1", "2", "--wait"])
    assert code == EXIT_WAIT_FAILED == 5
    err = capsys.readouterr().err
    assert "error: WaitFailed: c-1 version 2 deployed: association a-1 FAILED: listener not found" in err


def test_a_failure_of_an_older_version_is_not_this_versions_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, lambda n: [association("FAILED", 1, desired=1)] if n < 2 else [association("DEPLOYED", 2)])
    assert main(["--api", "http://127.0.0.1:9", "cert", "promote", "c-1", "2", "--wait"]) == 0


def test_not_done_in_time_exits_75(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    looks = scripted(monkeypatch, lambda n: [association("DEPLOYING", 1)])
    code = main(["--api", "http://127.0.0.1:9", "cert", "promote", "c-1", "2", "--wait", "--timeout", "5"])
    assert code == EXIT_TIMEOUT == 75
    err = capsys.readouterr().err
    assert "error: WaitTimedOut: c-1 version 2 deployed: not done after 5s (last seen: c-1 version 2 CURRENT" in err
    assert 4 <= looks.count("GET /associations") <= 6 and clock.now <= 5


def test_a_version_that_is_not_current_yet_is_waited_for(monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(monkeypatch, lambda n: [], current=1)
    assert main(["--api", "http://127.0.0.1:9", "cert", "promote", "c-1", "2", "--wait", "--timeout", "3"]) == 75


def test_without_wait_nothing_is_polled(monkeypatch: pytest.MonkeyPatch) -> None:
    looks = scripted(monkeypatch, lambda n: [])
    assert main(["--api", "http://127.0.0.1:9", "cert", "promote", "c-1", "2"]) == 0
    assert looks == ["POST /certificates/c-1/versions/2/actions/promote"]


def test_revoke_wait_without_a_distribution_point_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.demo import third_party_certificate

    _, pem, _ = third_party_certificate("no-cdp.example")

    def call(self: Client, method: str, path: str, body: Any = None, query: Any = None) -> tuple[int, Any]:
        if method == "POST":
            return 200, {"versionNumber": 1, "serialNumber": "0a"}
        return 200, {"certificatePem": pem, "certChainPem": ""}

    monkeypatch.setattr(Client, "call", call)
    assert main(["--api", "http://127.0.0.1:9", "cert", "revoke", "c-1", "1", "--wait"]) == EXIT_WAIT_FAILED
    assert "error: NoCrlDistributionPoint: " in capsys.readouterr().err
