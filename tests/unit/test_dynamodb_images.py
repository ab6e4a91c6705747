"""The row decoder, without a table: images shaped like the table's decode into typed rows by the writing codec;
missing images and rows of no event decode to None; a corrupt image is a CorruptRowError that names the row only."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_images import decode_image
from certwright.domain.authority import LifecycleState
from certwright.domain.crl import CrlState
from certwright.domain.stages import Stage
from certwright.errors import CorruptRowError
from certwright.outbox import (
    CertificateVersionRow,
    Row,
    events_for,
)

from tests.unit.outbox_rows import (
    NOW,
    SECRET,
    Image,
    association_row,
    authority_row,
    bundle_version_row,
    certificate_row,
    crl_row,
    image,
    image_of,
    published,
    version_row,
)

ROWS: list[Row] = [
    authority_row(LifecycleState.ACTIVE, 2, revoked=True),
    certificate_row(3),
    version_row(2, stages=frozenset({Stage.FAILED}), failure_reason="TransientError: KMS Sign"),
    published(4),
    association_row(5, deployed_version=1, deployed_acm_arn="arn:aws:acm:us-east-1:123456789012:certificate/x"),
    crl_row(CrlState("ca-1", 1, "issuing", 2, 2, NOW, NOW + timedelta(days=1), '"e"', 1, ("0a",), row_version=6)),
    bundle_version_row(frozenset({Stage.CURRENT, Stage.LATEST}), 7),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: type(row).__name__)
def test_an_image_decodes_into_the_row_its_codec_wrote(row: Row) -> None:
    assert decode_image(image_of(row)) == row


@pytest.mark.parametrize("row", ROWS, ids=lambda row: type(row).__name__)
def test_a_missing_image_is_no_row_whether_none_or_empty(row: Row) -> None:
    """Powertools hands a REMOVE record's missing new image (and an INSERT's missing old one) as {}, not None."""
    assert decode_image(None) is None and decode_image({}) is None
    present = decode_image(image_of(row))
    assert events_for("e1", present, decode_image({})) == events_for("e1", present, None)
    assert events_for("e2", decode_image({}), present) == events_for("e2", None, present)


@pytest.mark.parametrize(
    ("kind", "pk", "sk", "data"),
    [
        ("AUDIT", "AUDIT#cert-1", "2026-03-01T12:00:00+00:00#abc", {"action": "CreateCertificate"}),
        ("SERIAL", "SERIAL#ca-1#5eed", "S", {"issuer": "ca-1", "serialNumber": "5eed"}),
        ("ACM_COPY", "CERT#cert-1", "ACM#00000001", {"arn": "arn:aws:acm:us-east-1:123456789012:certificate/x"}),
        ("CA_VERSION", "CA#ca-1", "V#00000001", {"versionNumber": 1, "stages": ["CURRENT"]}),
        ("CA_BUNDLE", "BUNDLE#b-1", "B", {"id": "b-1"}),
        ("SOMETHING_NEW", "NEW#1", "N", "not even an object"),
    ],
)
def test_rows_that_stand_for_no_event_decode_to_none(kind: str, pk: str, sk: str, data: Any) -> None:
    assert decode_image(image(kind, pk, sk, json.dumps(data), Decimal(1))) is None


def test_a_counter_image_with_only_its_keys_is_no_row() -> None:
    # What moto's stream gives for a counter written by an update expression.
    assert decode_image({"pk": "CA#ca-1", "sk": "ISSUED"}) is None


def _corrupt(row: Row, **changes: Any) -> Image:
    return image_of(row) | changes


PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize(
    ("broken", "why"),
    [
        (_corrupt(certificate_row(3), data="{not json"), "data is not JSON"),
        (_corrupt(certificate_row(3), data=json.dumps([PEM_KEY])), "malformed field"),
        (_corrupt(certificate_row(3), data=json.dumps({"id": PEM_KEY})), "missing field 'name'"),
        (
            _corrupt(
                association_row(2),
                data=json.dumps(
                    {**codec.association_to_data(association_row(2).association), "associationType": PEM_KEY}
                ),
            ),
            "malformed field",
        ),
        (
            _corrupt(
                published(2), data=json.dumps({**codec.version_to_data(published(2).version), "createdAt": PEM_KEY})
            ),
            "malformed field",
        ),
        (_corrupt(certificate_row(3), row_version=Decimal("1.5")), "malformed field"),
        ({k: v for k, v in image_of(certificate_row(3)).items() if k != "row_version"}, "missing field 'row_version'"),
        ({k: v for k, v in image_of(certificate_row(3)).items() if k != "data"}, "missing field 'data'"),
    ],
)
def test_a_corrupt_image_is_a_typed_error_naming_the_row_not_its_content(broken: Image, why: str) -> None:
    with pytest.raises(CorruptRowError) as raised:
        decode_image(broken)
    message = str(raised.value)
    assert why in message and f"{broken['pk']}/{broken['sk']}" in message
    assert "PRIVATE KEY" not in message and "MIGHAgEA" not in message
    assert raised.value.code == "CorruptRow"
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_version_row_keeps_its_failure_reason_and_never_its_secret() -> None:
    failed = version_row(2, stages=frozenset({Stage.FAILED}), failure_reason="TransientError: KMS Sign")
    decoded = decode_image(image_of(failed))
    assert isinstance(decoded, CertificateVersionRow) and decoded.failure_reason == "TransientError: KMS Sign"
    assert SECRET not in repr(decoded).encode() and "secret" not in repr(decoded)
    reserved = decode_image(image_of(version_row(1)))
    assert isinstance(reserved, CertificateVersionRow) and reserved.failure_reason == ""
    (event,) = events_for("f1", reserved, decoded)
    assert event.to_detail()["reason"] == "TransientError: KMS Sign"


def test_data_may_come_already_parsed() -> None:
    # The table stores `data` as JSON text; an image whose `data` was parsed already (a replay tool's) reads the same.
    row = certificate_row(3)
    assert decode_image(image_of(row) | {"data": codec.certificate_to_data(row.certificate)}) == row
