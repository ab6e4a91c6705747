"""Round trip per row kind: a row written by the real DynamoDB adapter in moto, moto's own stream record of it,
decoded by the row codec (certwright.adapters.dynamodb_images), translated by the outbox.

Each decoded row must equal what the store reads back for that key (one codec writes and reads every row), and
the translation of the record must be the event the write stands for.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright import bootstrap
from certwright.adapters.dynamodb_crl import DynamoDbCrlStates
from certwright.adapters.dynamodb_models import Row as TableRow
from certwright.domain.crl import CrlState
from certwright.domain.revocation import CrlPolicy
from certwright.domain.sweep import SweepState
from certwright.events import (
    AssociationCreated,
    AssociationDeleted,
    CaBundleVersionCreated,
    CertificateAuthorityCreated,
    CertificateVersionCreated,
    CrlPublished,
    CrlStale,
    RenewalFailed,
)
from certwright.outbox import (
    AssociationRow,
    AuthorityRow,
    CaBundleVersionRow,
    CertificateRow,
    CertificateVersionRow,
    CrlRow,
)

from tests.ca_bundles.pems import ca_pem
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body, root_ca_body
from tests.lifecycle.table_stream import StreamRecord, TableStream

HOST = "arn:aws:iam::123456789012:role/round-trip-host"


@pytest.fixture
def stream(aws: Aws) -> TableStream:
    return TableStream(aws)


def last_write(records: list[StreamRecord], pk: str, sk: str) -> StreamRecord:
    mine = [r for r in records if r.keys == (pk, sk)]
    assert mine, f"the stream saw no write of {pk}/{sk}"
    return mine[-1]


def test_an_authority_row(api: ApiClient, container: bootstrap.Container, stream: TableStream) -> None:
    stream.skip()
    ca = api.post("/certificate-authorities", root_ca_body(name="round-trip-root"))
    assert ca.status == 201, ca.body
    record = last_write(stream.read(), f"CA#{ca.body['id']}", "A")
    stored = container.store.get_authority(ca.body["id"])
    assert stored is not None
    assert record.after == AuthorityRow(stored, stored.row_version)
    assert isinstance(record.before, AuthorityRow) and record.before.row_version == stored.row_version - 1
    (created,) = record.events()
    assert created == CertificateAuthorityCreated(
        f"{record.event_id}:0",
        stored.id,
        stored.row_version,
        "round-trip-root",
        ca.body["currentVersion"]["serialNumber"],
    )


def test_a_certificate_and_its_version(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, stream: TableStream
) -> None:
    stream.skip()
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="round-trip-leaf")).body
    records = stream.read()

    certificate = last_write(records, f"CERT#{cert['id']}", "C")
    stored = container.store.get_certificate(cert["id"])
    assert stored is not None
    assert certificate.after == CertificateRow(stored, stored.row_version)

    version = last_write(records, f"CERT#{cert['id']}", "V#00000001")
    stored_version = container.store.get_version(cert["id"], 1)
    assert stored_version is not None
    assert isinstance(version.after, CertificateVersionRow)
    assert (version.after.version, version.after.failure_reason) == (stored_version, "")
    assert isinstance(version.before, CertificateVersionRow) and not version.before.version.certificate_pem
    (created,) = version.events()
    assert isinstance(created, CertificateVersionCreated)
    assert (created.serial_number, created.not_after) == (
        cert["currentVersion"]["serialNumber"],
        cert["currentVersion"]["validity"]["notAfter"],
    )
    assert "secret" in (version.new or {}), "the sealed key went through the stream; the decoded row has none"


def test_a_certificate_row_with_sweep_bookkeeping(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, stream: TableStream
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="round-trip-sweep")).body
    stored = container.store.get_certificate(cert["id"])
    assert stored is not None
    stream.skip()
    failing = replace(stored, sweep=SweepState(renewal_failures=1, last_error="KMS throttled"))
    container.store.save_sweep(failing)
    record = last_write(stream.read(), f"CERT#{cert['id']}", "C")
    assert isinstance(record.after, CertificateRow)
    assert record.after.certificate.sweep == failing.sweep
    (failed,) = record.events()
    assert failed == RenewalFailed(
        f"{record.event_id}:0", cert["id"], stored.row_version + 1, "round-trip-sweep", 1, "KMS throttled"
    )


def test_an_association_created_and_removed(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, stream: TableStream
) -> None:
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="round-trip-assoc")).body
    stream.skip()
    association = api.post("/associations", {"certificateId": cert["id"], "associatedResourceId": HOST}).body
    inserted = last_write(stream.read(), f"ASSOC#{association['id']}", "A")
    stored = container.store.get_association(association["id"])
    assert stored is not None
    assert (inserted.before, inserted.after) == (None, AssociationRow(stored, stored.row_version))
    (created,) = inserted.events()
    assert created == AssociationCreated(f"{inserted.event_id}:0", stored.id, 1, cert["id"], HOST, "HOST_PRINCIPAL")

    assert api.call("DELETE", f"/associations/{association['id']}").status == 204
    removed = last_write(stream.read(), f"ASSOC#{association['id']}", "A")
    assert removed.event_name == "REMOVE"
    assert removed.after is None and removed.before == AssociationRow(stored, stored.row_version)
    (deleted,) = removed.events()
    assert isinstance(deleted, AssociationDeleted)
    assert (deleted.certificate_id, deleted.listener_role, deleted.deployed_version) == (cert["id"], "DEFAULT", None)


def test_a_crl_state_row(container: bootstrap.Container, clock: Clock, stream: TableStream) -> None:
    policy = CrlPolicy()
    states = DynamoDbCrlStates(TableRow, policy)
    stream.skip()
    first = states.save(CrlState("ca-round-trip", 0, "round-trip").claimed(), clock.now)
    published = states.save(first.published(1, clock.now, policy, '"etag-1"', []), clock.now)
    stale = states.save(published.failed(clock.now + timedelta(hours=20), policy, "CaKeyUnusable: disabled"), clock.now)
    records = [r for r in stream.read() if r.keys == ("CRL#ca-round-trip", "P#000000")]
    assert [r.after for r in records] == [CrlRow(s, s.row_version) for s in (first, published, stale)]
    assert states.get("ca-round-trip", 0) == stale
    events = [e for r in records for e in r.events()]
    assert [type(e) for e in events] == [CrlPublished, CrlStale]
    announced = events[0]
    assert isinstance(announced, CrlPublished)
    assert (announced.crl_number, announced.object_key, announced.this_update) == (
        1,
        "crl/ca-round-trip/0.crl",
        clock.now.isoformat(),
    )


def test_a_ca_bundle_version_row(api: ApiClient, container: bootstrap.Container, stream: TableStream) -> None:
    stream.skip()
    bundle = api.post("/ca-bundles", {"name": "round-trip-trust", "caBundlePem": ca_pem("Round Trip Partner")})
    assert bundle.status == 201, bundle.body
    records = stream.read()
    record = last_write(records, f"BUNDLE#{bundle.body['id']}", "V#00000001")
    stored = container.ca_bundle_store.get_bundle_version(bundle.body["id"], 1)
    assert stored is not None
    assert record.after == CaBundleVersionRow(stored, "round-trip-trust", 1)
    (created,) = record.events()
    assert created == CaBundleVersionCreated(f"{record.event_id}:0", bundle.body["id"], 1, 1, "round-trip-trust")
    bundle_row = last_write(records, f"BUNDLE#{bundle.body['id']}", "B")
    assert (bundle_row.after, bundle_row.events()) == (None, []), "the bundle row itself stands for no event"


def test_every_record_of_a_busy_table_decodes(api: ApiClient, hierarchy: Hierarchy, stream: TableStream) -> None:
    """Audit rows, serial claims, counters, reservations: whatever the table holds decodes (to None if no event's)."""
    cert = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="round-trip-busy")).body
    api.post(f"/certificates/{cert['id']}/versions", {})
    api.post(f"/certificates/{cert['id']}/versions/1/actions/revoke", {})
    records = stream.read()
    kinds = {str((r.new or r.old or {}).get("kind")) for r in records}
    assert {"AUDIT", "SERIAL", "CERT", "CERT_VERSION", "CA"} <= kinds
    for record in records:
        record.events()  # raises CorruptRowError on an image its codec cannot read
    assert {r.after.__class__.__name__ for r in records if r.after is not None} >= {
        "CertificateRow",
        "CertificateVersionRow",
        "AuthorityRow",
    }
