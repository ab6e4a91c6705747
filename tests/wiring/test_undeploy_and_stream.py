"""Through the real wiring: deleting an SNI association takes its certificate off the listener and deletes the ACM
copy; and a cancelled transaction does not stop the table's stream (later changes still publish their events)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent
from tests.wiring.conftest import Wiring


@pytest.fixture(scope="module")
def issuing(wiring: Wiring) -> dict[str, Any]:
    root = wiring.post("/certificate-authorities", root_ca_body(name="stream-root"))
    return dict(wiring.post("/certificate-authorities", sub_ca_body(root["id"], name="stream-issuing")))


def test_deleting_an_sni_association_takes_the_certificate_off_the_listener_and_deletes_its_acm_copy(
    wiring: Wiring, issuing: dict[str, Any]
) -> None:
    listener = wiring.listener()
    placeholder, _ = wiring.served(listener)
    cert = wiring.post("/certificates", leaf_body(issuing["id"], name="sni-web"))
    consent(wiring.session, listener, cert["id"])  # the listener's owner tags it
    body = {"certificateId": cert["id"], "associatedResourceId": listener, "listenerCertificateRole": "SNI"}
    association = wiring.post("/associations", body)
    wiring.wait_for("DeploymentSucceeded", association["id"])
    status, deployed = wiring.call("GET", f"/associations/{association['id']}")
    assert status == 200 and deployed["deployment"]["state"] == "DEPLOYED", deployed
    copy = wiring.row(f"ASSOC#{association['id']}", "A")["deployment"]["deployedAcmArn"]  # not in the API
    acm = wiring.session.client("acm")
    serial = acm.describe_certificate(CertificateArn=copy)["Certificate"]["Serial"].replace(":", "")
    assert serial.lstrip("0") == cert["currentVersion"]["serialNumber"].lower().lstrip("0")
    assert wiring.served(listener) == (placeholder, [copy]), "on the listener as its one SNI certificate"

    status, _ = wiring.call("DELETE", f"/associations/{association['id']}")
    assert status == 204
    deleted = wiring.wait_for("AssociationDeleted", association["id"])
    assert (deleted["listener_role"], deleted["deployed_acm_arn"]) == ("SNI", copy)
    wiring.settle()  # the association-change function undeploys it
    assert wiring.served(listener) == (placeholder, []), "the SNI certificate left; the default is untouched"
    with pytest.raises(ClientError) as gone:
        acm.describe_certificate(CertificateArn=copy)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert wiring.call("GET", f"/associations/{association['id']}")[0] == 404


def test_after_a_cancelled_transaction_the_next_change_still_reaches_the_bus(
    wiring: Wiring, issuing: dict[str, Any]
) -> None:
    first = wiring.post("/certificates", leaf_body(issuing["id"], name="before-cancel"))
    wiring.wait_for("CertificateVersionCreated", first["id"])
    # A conditional check failing inside a transaction, as a lost race in the API produces it.
    dynamodb = wiring.session.client("dynamodb")
    row = {"pk": {"S": f"CERT#{first['id']}"}, "sk": {"S": "C"}}
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": wiring.table, "Item": {**row, "kind": {"S": "CERT"}, "data": {"S": "{}"}},
                         "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )  # fmt: skip
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert wiring.row(f"CERT#{first['id']}", "C")["name"] == "before-cancel", "the cancelled put changed nothing"

    after = wiring.post("/certificates", leaf_body(issuing["id"], name="after-cancel"))
    created = wiring.wait_for("CertificateVersionCreated", after["id"])
    assert created["serial_number"] == after["currentVersion"]["serialNumber"]
    role = "arn:aws:iam::123456789012:role/a"
    consent(wiring.session, role, after["id"])
    association = wiring.post("/associations", {"certificateId": after["id"], "associatedResourceId": role})
    wiring.wait_for("AssociationCreated", association["id"])
