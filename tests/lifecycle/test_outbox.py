"""The outbox on real store writes: each table change read back from the table's stream becomes exactly the domain
events it stands for, with stable ids, and no secrets.

The translation itself is tested pure, on typed rows, in tests/unit/test_outbox.py; the decoding of each row kind
in tests/unit/test_dynamodb_images.py and tests/outbox/test_stream_images.py.
"""

from __future__ import annotations

import base64
import json

import pytest
from certwright.events import (
    AssociationCreated,
    AssociationDeleted,
    CertificateAuthorityCreated,
    CertificateVersionCreated,
    CertificateVersionStageChanged,
    DomainEvent,
)

from tests.conftest import ApiClient, Hierarchy, leaf_body
from tests.lifecycle.table_stream import StreamRecord, TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged


def only(events: list[DomainEvent]) -> DomainEvent:
    assert len(events) == 1, events
    return events[0]


# -- from real store writes, read back from the table's stream --------------------------------------------------


def translate(records: list[StreamRecord]) -> list[DomainEvent]:
    return [event for record in records for event in record.events()]


def of_type(events: list[DomainEvent], kind: type[DomainEvent]) -> list[DomainEvent]:
    return [e for e in events if isinstance(e, kind)]


def test_an_issuance_is_exactly_one_version_created(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    stream.skip()
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    events = translate(stream.read())
    created = only(events)
    assert isinstance(created, CertificateVersionCreated)
    assert (created.resource_id, created.version_number) == (cert["id"], 1)
    assert created.serial_number == cert["currentVersion"]["serialNumber"]
    assert created.stages == ("CURRENT", "LATEST")
    assert created.not_after == cert["currentVersion"]["validity"]["notAfter"]


def test_a_renewal_is_one_created_and_one_stage_change_of_the_old_version(
    api: ApiClient, hierarchy: Hierarchy, stream: TableStream
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    stream.skip()
    renewed = api.post(f"/certificates/{cert['id']}/versions", {}).body
    events = translate(stream.read())
    assert sorted(e.detail_type for e in events) == ["CertificateVersionCreated", "CertificateVersionStageChanged"]
    created = only(of_type(events, CertificateVersionCreated))
    assert isinstance(created, CertificateVersionCreated)
    assert (created.version_number, created.serial_number) == (2, renewed["serialNumber"])
    changed = only(of_type(events, CertificateVersionStageChanged))
    assert isinstance(changed, CertificateVersionStageChanged)
    assert (changed.version_number, changed.old_stages, changed.new_stages) == (1, ("CURRENT", "LATEST"), ("PREVIOUS",))


def test_authorities_are_created_once_and_a_cancelled_deletion_creates_nothing(
    api: ApiClient, stream: TableStream, hierarchy: Hierarchy
) -> None:
    created = of_type(translate(stream.read()), CertificateAuthorityCreated)
    assert sorted(e.resource_id for e in created) == sorted([hierarchy.root["id"], hierarchy.issuing["id"]])
    ca = hierarchy.issuing["id"]
    assert api.post(f"/certificate-authorities/{ca}/actions/schedule-deletion", {}).status == 200
    assert api.post(f"/certificate-authorities/{ca}/actions/cancel-deletion", {}).status == 200
    records = stream.read()
    assert any(r.keys == (f"CA#{ca}", "A") for r in records), "the stream saw both writes"
    assert translate(records) == []


def test_an_association_is_created_and_deleted_once(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    stream.skip()
    role = "arn:aws:iam::123456789012:role/web-host"
    association = api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": role}).body
    created = only(translate(stream.read()))
    assert created == AssociationCreated(created.event_id, association["id"], 1, cert["id"], role, "HOST_PRINCIPAL")
    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    deleted = only(translate(stream.read()))
    assert isinstance(deleted, AssociationDeleted)
    assert (deleted.resource_id, deleted.certificate_id) == (association["id"], cert["id"])


def test_no_private_key_material_reaches_any_event(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"])).body
    api.post(f"/certificates/{cert['id']}/versions", {})
    api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": "arn:aws:iam::123456789012:role/h"})
    records = stream.read()
    secrets = {bytes(r.new["secret"]) for r in records if r.new and r.new.get("secret")}
    assert len(secrets) == 2, "both versions' sealed keys went through the stream"
    details = [json.dumps(e.to_detail()) for e in translate(records)]
    assert len(details) >= 4
    for text in details:
        assert "PRIVATE KEY" not in text
        assert '"secret"' not in text
        for secret in secrets:
            assert base64.b64encode(secret).decode() not in text
            assert secret.hex() not in text
            assert base64.b64encode(secret[:24]).decode() not in text


def test_the_same_record_translated_twice_gives_the_same_event_ids(
    api: ApiClient, hierarchy: Hierarchy, stream: TableStream
) -> None:
    api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    records = stream.read()
    first, again = translate(records), translate(records)
    assert first == again
    assert len({e.event_id for e in first}) == len(first), "ids are unique across records"
