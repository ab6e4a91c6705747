"""Parallel requests through the local HTTP API: every 2xx is durable (read back), every lost race a 409 that says
what to do. The router runs on its own thread meanwhile, as in `make up`, so its handlers write concurrently too."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent
from tests.wiring.conftest import Wiring

# Parallel clients: the local gateway's listen backlog is small (issue 8 item 8); more would measure it, not us.
CLIENTS = 4


@pytest.fixture(scope="module")
def issuing(wiring: Wiring) -> Iterator[dict[str, Any]]:
    root = wiring.post("/certificate-authorities", root_ca_body(name="race-root"))
    issuing = wiring.post("/certificate-authorities", sub_ca_body(root["id"], name="race-issuing"))
    wiring.rt.router.start()
    try:
        yield dict(issuing)
    finally:
        wiring.rt.router.stop()


def parallel(wiring: Wiring, requests: list[tuple[str, str, Any]]) -> list[tuple[int, Any]]:
    """Send the requests at once, each from its own thread and connection; answers in the same order."""
    start = threading.Barrier(len(requests))
    answers: list[tuple[int, Any]] = [(0, None)] * len(requests)

    def send(index: int) -> None:
        method, path, body = requests[index]
        start.wait()
        answers[index] = wiring.call(method, path, body)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def assert_helpful_conflicts(answers: list[tuple[int, Any]], *codes: str) -> list[tuple[int, Any]]:
    """Every answer is a 2xx or a 409 whose code is one of `codes` and whose message says what to do."""
    for status, body in answers:
        assert status < 300 or status == 409, (status, body)
        if status == 409:
            assert body["code"] in codes, body
            assert any(word in body["message"] for word in ("retry", "already")), body
    return [(s, b) for s, b in answers if s < 300]


def version(wiring: Wiring, cert_id: str, number: int) -> dict[str, Any]:
    status, body = wiring.call("GET", f"/certificates/{cert_id}/versions/{number}")
    assert status == 200, body
    return dict(body)


def test_parallel_renewals_of_one_certificate(wiring: Wiring, issuing: dict[str, Any]) -> None:
    cert = wiring.post("/certificates", leaf_body(issuing["id"], name="race-renew"))
    answers = parallel(wiring, [("POST", f"/certificates/{cert['id']}/versions", {})] * CLIENTS)
    renewed = assert_helpful_conflicts(answers, "ConcurrentModification")
    assert renewed, "at least one renewal wins"
    for _, body in renewed:
        stored = version(wiring, cert["id"], body["versionNumber"])
        assert stored["serialNumber"] == body["serialNumber"]
        assert stored["stages"] and "FAILED" not in stored["stages"], stored
    current = wiring.call("GET", f"/certificates/{cert['id']}")[1]["currentVersion"]
    assert current["versionNumber"] in {b["versionNumber"] for _, b in renewed}
    listed = wiring.call("GET", f"/certificates/{cert['id']}/versions")[1]["items"]
    assert sum("CURRENT" in v["stages"] for v in listed) == 1


def test_parallel_revocations_of_different_versions(wiring: Wiring, issuing: dict[str, Any]) -> None:
    cert = wiring.post("/certificates", leaf_body(issuing["id"], name="race-revoke"))
    for _ in range(2):
        wiring.post(f"/certificates/{cert['id']}/versions")
    path = f"/certificates/{cert['id']}/versions/{{}}/actions/revoke"
    answers = parallel(wiring, [("POST", path.format(n), {"revocationReason": "SUPERSEDED"}) for n in (1, 2, 3)])
    assert_helpful_conflicts(answers, "ConcurrentModification")
    for number, (status, _) in zip((1, 2, 3), answers, strict=True):
        if status == 409:  # as the message says: retry
            status, body = wiring.call("POST", path.format(number), {"revocationReason": "SUPERSEDED"})
            assert status == 200, body
        assert version(wiring, cert["id"], number)["revocationStatus"] is not None, f"version {number} not revoked"


def test_parallel_promotes(wiring: Wiring, issuing: dict[str, Any]) -> None:
    cert = wiring.post("/certificates", leaf_body(issuing["id"], name="race-promote"))
    pending = [wiring.post(f"/certificates/{cert['id']}/versions", {"stage": "PENDING"}) for _ in range(3)]
    numbers = [p["versionNumber"] for p in pending]
    path = f"/certificates/{cert['id']}/versions/{{}}/actions/promote"
    answers = parallel(wiring, [("POST", path.format(n), {}) for n in numbers])
    promoted = assert_helpful_conflicts(answers, "ConcurrentModification", "InvalidState")
    assert promoted, "at least one promote wins"
    acknowledged = {n for n, (status, _) in zip(numbers, answers, strict=True) if status < 300}
    listed = wiring.call("GET", f"/certificates/{cert['id']}/versions")[1]["items"]
    current = [v["versionNumber"] for v in listed if "CURRENT" in v["stages"]]
    assert len(current) == 1 and current[0] in acknowledged, (current, acknowledged)
    # Each acknowledged promote happened: the outbox announced that version becoming CURRENT.
    wiring.settle()
    made_current = {
        e["version_number"]
        for e in wiring.events("CertificateVersionStageChanged", cert["id"])
        if "CURRENT" in e["new_stages"]
    }
    assert acknowledged <= made_current, (acknowledged, made_current)


def test_parallel_association_creations(wiring: Wiring, issuing: dict[str, Any]) -> None:
    cert = wiring.post("/certificates", leaf_body(issuing["id"], name="race-associate"))
    role = "arn:aws:iam::123456789012:role/race-{}"
    for name in [*range(CLIENTS), "shared"]:
        consent(wiring.session, role.format(name), cert["id"])  # each role's owner tags it: ACTIVE at once
    bodies = [{"certificateId": cert["id"], "associatedResourceId": role.format(n)} for n in range(CLIENTS)]
    answers = parallel(wiring, [("POST", "/associations", body) for body in bodies])
    assert_helpful_conflicts(answers, "ConcurrentModification")
    created = []
    for body, (status, answer) in zip(bodies, answers, strict=True):
        if status == 409:  # as the message says: retry
            status, answer = wiring.call("POST", "/associations", body)
        assert (status, answer["state"]) == (201, "ACTIVE"), answer
        created.append(answer)
    # The same resource from every client: exactly one wins, the others are told it exists (or to retry).
    same = {"certificateId": cert["id"], "associatedResourceId": role.format("shared")}
    duplicates = parallel(wiring, [("POST", "/associations", same)] * CLIENTS)
    won = [b for _, b in assert_helpful_conflicts(duplicates, "ConcurrentModification", "AssociationExists")]
    assert len(won) == 1, duplicates
    listed = wiring.call("GET", f"/associations?certificateId={cert['id']}")[1]["items"]
    assert sorted(a["id"] for a in listed) == sorted(a["id"] for a in [*created, *won]), "acknowledged = stored"
    for association in [*created, *won]:
        assert wiring.call("GET", f"/associations/{association['id']}")[0] == 200
    assert wiring.row(f"CERT#{cert['id']}", "C")["associationCount"] == len(listed), "the count matches the rows"
