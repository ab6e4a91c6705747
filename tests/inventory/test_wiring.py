"""Inventory search through the real wiring: the local runtime's HTTP gateway, handlers and embedded DynamoDB
(with the template's InventoryBy* indexes), its stream records delivered to the real stream handler."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.wiring.conftest import Wiring
from tests.wiring.conftest import _aws_environment as _aws_environment
from tests.wiring.conftest import wiring as wiring


def _names(wiring: Wiring, query: str) -> list[str]:
    status, body = wiring.call("GET", f"/certificates?{query}")
    assert status == 200, body
    return [c["name"] for c in body["items"]]


def _certificate(wiring: Wiring, issuing: str, name: str, hosts: list[str], days: int) -> dict[str, Any]:
    body = leaf_body(
        issuing,
        name=name,
        subject={"commonName": hosts[0]},
        subjectAlternativeNames=[{"type": "DNS", "value": h} for h in hosts],
        validityDuration=f"P{days}D",
        freeformTags={"team": "pay" if name.startswith("pay") else "web"},
    )
    return dict(wiring.post("/certificates", body))


def test_filter_by_san_and_expiry_sorted_by_not_after(wiring: Wiring) -> None:
    root = wiring.post("/certificate-authorities", root_ca_body(name="inv-root"))["id"]
    issuing = wiring.post("/certificate-authorities", sub_ca_body(root, name="inv-issuing"))["id"]
    made = {
        name: _certificate(wiring, issuing, name, hosts, days)
        for name, hosts, days in [
            ("pay-api", ["api.pay.example"], 60),
            ("pay-wild", ["*.pay.example"], 20),
            ("web", ["www.web.example"], 10),
            ("pay-admin", ["admin.pay.example", "api.pay.example"], 40),
        ]
    }
    wiring.settle()  # the stream carries the index rows too: the outbox must pass over them
    assert _names(wiring, "hostname=api.pay.example&sortBy=notAfter") == ["pay-wild", "pay-admin", "pay-api"]
    soon = quote(made["pay-admin"]["currentVersion"]["validity"]["notAfter"])
    assert _names(wiring, f"notAfterBefore={soon}&sortBy=notAfter") == ["web", "pay-wild"]
    assert _names(wiring, f"hostname=api.pay.example&notAfterBefore={soon}") == ["pay-wild"]
    assert _names(wiring, "tag=team=pay&sortBy=notAfter&sortOrder=DESC") == ["pay-api", "pay-admin", "pay-wild"]

    # A renewal with a longer validity moves the certificate in the expiry order (index rows follow CURRENT).
    wiring.post(f"/certificates/{made['pay-wild']['id']}/versions", {"validityDuration": "P90D"})
    wiring.settle()
    assert _names(wiring, "hostname=api.pay.example&sortBy=notAfter") == ["pay-admin", "pay-api", "pay-wild"]

    # Pages of one follow the same order; a token of another query is refused.
    names, token = [], ""
    while True:
        status, body = wiring.call("GET", f"/certificates?tag=team=pay&sortBy=notAfter&limit=1{token}")
        assert status == 200, body
        names += [c["name"] for c in body["items"]]
        if not body["nextPage"]:
            break
        token = f"&page={body['nextPage']}"
    assert names == ["pay-admin", "pay-api", "pay-wild"]
    status, body = wiring.call("GET", f"/certificates?sortBy=name{token}")
    assert (status, body["code"]) == (400, "InvalidPageToken")


def test_the_renewal_sweep_backfills_index_rows_a_table_lost(wiring: Wiring) -> None:
    """Rows written before the inventory (or whose index sync crashed) have no index rows; the scheduled renewal
    sweep's reindex page, one per run from its stored cursor, brings them back: the real handler, table and GSIs."""
    root = wiring.post("/certificate-authorities", root_ca_body(name="backfill-root"))["id"]
    # Expires after every certificate the filter test above asks for by expiry: the two share one runtime.
    cert = _certificate(wiring, root, "backfill-leaf", ["old.backfill.example"], 120)["id"]
    wiring.settle()
    dynamodb = wiring.session.client("dynamodb")
    for pk in (f"CA#{root}", f"CERT#{cert}"):
        found = dynamodb.query(
            TableName=wiring.table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :ix)",
            ExpressionAttributeValues={":pk": {"S": pk}, ":ix": {"S": "IX#"}},
            ConsistentRead=True,
        )["Items"]
        assert found
        for item in found:
            dynamodb.delete_item(TableName=wiring.table, Key={"pk": item["pk"], "sk": item["sk"]})
    wiring.settle()
    assert _names(wiring, "hostname=old.backfill.example") == []
    status, body = wiring.call("GET", "/certificate-authorities?name=backfill-root")
    assert (status, body["items"]) == (200, [])

    for _ in range(12):  # a cycle is one page per kind here: CAs, certificates, bundles
        wiring.rt.router.fire_schedules()
        wiring.settle()
        if _names(wiring, "hostname=old.backfill.example"):
            break
    assert _names(wiring, "hostname=old.backfill.example") == ["backfill-leaf"]
    status, body = wiring.call("GET", "/certificate-authorities?name=backfill-root")
    assert [ca["id"] for ca in body["items"]] == [root]
