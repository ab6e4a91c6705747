"""The low-level items of the issuance hot path (adapters/dynamodb_items.py) are the Row model's own rows."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.dynamodb_authorities import serial_item, serial_row
from certwright.adapters.dynamodb_certificates import (
    certificate_put,
    certificate_row,
    reservation_item,
    reserved_version_item,
)
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import IN_FLIGHT_PARTITION, audit_item, audit_row, version_sk, versioned
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.repair import repair_due
from certwright.ports import Reservation, SerialClaim

from tests.contract import builders as b

TABLE = "certwright-test"


def pynamo_item(row: Row) -> dict[str, Any]:
    """What PynamoDB's save writes for `row`: its attributes, and the next row version."""
    written = row.serialize()
    written["row_version"] = {"N": str((row.row_version or 0) + 1)}
    return dict(written)


CERTIFICATES = {
    "new": b.certificate(lifecycle_state=LifecycleState.CREATING),
    "stored, due for a sweep": b.certificate(row_version=3, next_check_at=b.NOW + timedelta(days=20)),
    "pending deletion": b.certificate(
        row_version=2, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=b.NOW + timedelta(days=7)
    ),
    "imported (no issuer)": b.certificate(issuer_ca_id=None, profile=None, description="imported, ü"),
}


@pytest.mark.parametrize("name", CERTIFICATES)
def test_a_certificate_put_writes_the_row_pynamodb_writes(name: str) -> None:
    c: Certificate = CERTIFICATES[name]

    put = certificate_put(TABLE, c)["Put"]

    assert put["Item"] == pynamo_item(certificate_row(Row, c))
    if c.row_version:
        assert put["ConditionExpression"] == "#v = :v"
        assert put["ExpressionAttributeValues"] == {":v": {"N": str(c.row_version)}}
    else:
        assert put["ConditionExpression"] == "attribute_not_exists (#v)"
    assert put["ExpressionAttributeNames"] == {"#v": "row_version"}


def test_the_reserved_version_serial_claim_and_reservation_are_the_model_rows() -> None:
    version = replace(b.version(), crl_partition=2)
    old_version_row = Row(
        "CERT#cert-1",
        version_sk(1),
        kind="CERT_VERSION",
        data=codec.version_to_data(version),
        renewal_pk=IN_FLIGHT_PARTITION,
        renewal_at=repair_due(version.created_at).isoformat(),
    )
    assert items.put(TABLE, reserved_version_item(version))["Put"]["Item"] == pynamo_item(old_version_row)

    claim = SerialClaim("ca-1", "5e1")
    assert items.put(TABLE, serial_item(claim))["Put"]["Item"] == pynamo_item(serial_row(Row, claim))

    reservation = Reservation("tok", "cert-1", 2, b.NOW + timedelta(minutes=10), 4)
    old_reservation = versioned(
        Row(
            "REQ#tok",
            "R",
            kind="REQUEST",
            data={"certificateId": "cert-1", "versionNumber": 2, "expiresAt": reservation.expires_at.isoformat()},
        ),
        4,
    )
    put = items.put(TABLE, reservation_item(reservation), reservation.row_version)["Put"]
    assert put["Item"] == pynamo_item(old_reservation)
    assert put["ExpressionAttributeValues"] == {":v": {"N": "4"}}


def test_an_audit_item_is_the_audit_row_but_for_its_random_suffix() -> None:
    record = b.audit("cert-1", "CreateCertificate")

    new, old = audit_item(record), pynamo_item(audit_row(Row, record))

    assert new["sk"]["S"].rsplit("#", 1)[0] == old["sk"]["S"].rsplit("#", 1)[0] == record.at.isoformat()
    old.pop("row_version")
    assert {k: v for k, v in new.items() if k != "sk"} == {k: v for k, v in old.items() if k != "sk"}


def test_an_update_sets_removes_and_moves_the_row_version_on() -> None:
    update = items.update(
        TABLE, "CERT#c", "V#00000001", 1, set_values={"data": {"a": 1}, "secret": None}, remove=("renewal_pk",)
    )["Update"]

    assert update["UpdateExpression"] == "SET #s0 = :s0 REMOVE #s1, #r0 ADD #v :one"
    assert update["ExpressionAttributeNames"] == {
        "#v": "row_version",
        "#s0": "data",
        "#s1": "secret",
        "#r0": "renewal_pk",
    }
    assert update["ExpressionAttributeValues"] == {":v": {"N": "1"}, ":one": {"N": "1"}, ":s0": {"S": '{"a": 1}'}}
    assert update["ConditionExpression"] == "#v = :v"
