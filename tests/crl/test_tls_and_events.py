"""A TLS client checking CRLs refuses a revoked server; the handler and the outbox speak the events' language."""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any

import pytest
from certwright import bootstrap
from certwright.domain.certificate import RevocationReason
from certwright.domain.crl import MAX_EVENT_SERIALS, CrlState, event_serials
from certwright.domain.revocation import CrlPolicy, RevokedEntry, RevokedKind
from certwright.events import CertificateVersionRevoked, CrlPublished, CrlStale
from certwright.outbox import CrlRow, events_for

from tests.conformance.pki import DNS_SANS, build
from tests.conformance.test_tls_handshake import connect, full_chain, server_context, tls_server
from tests.conftest import ApiClient, Clock, Hierarchy
from tests.crl.conftest import Bucket, crl_pem, revoke, write
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function

pytestmark = pytest.mark.conformance


def _client(root: Path, crl_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=root)
    context.load_verify_locations(cafile=crl_file)
    context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    return context


def test_a_tls_client_checking_the_crl_refuses_a_revoked_server(
    container: bootstrap.Container, api: ApiClient, bucket: Bucket, tmp_path: Path
) -> None:
    pki = build(api, tmp_path, "ecdsa")
    good, bad = pki.issue("TLS_SERVER", with_key=True), pki.issue("TLS_SERVER", with_key=True)
    (bad_id,) = [
        c["id"]
        for c in api.get("/certificates").body["items"]
        if c["currentVersion"]["serialNumber"] == bad.serial_number
    ]
    revoke(api, bad_id, "KEY_COMPROMISE")
    assert container.crl_publisher.on_revocation(pki.ca_ids[-1]).published
    crl_file = write(tmp_path, "issuing.crl.pem", crl_pem(bucket.crl(pki.ca_ids[-1])))

    certificate, key = full_chain(pki, good, "good")
    with tls_server(server_context(certificate, key)) as (port, served):
        peer, _ = connect(port, _client(pki.root_file(), crl_file), DNS_SANS[0])
    assert peer.serial_number == int(good.serial_number, 16) and served.errors == []

    certificate, key = full_chain(pki, bad, "bad")
    with (
        tls_server(server_context(certificate, key)) as (port, _served),
        pytest.raises(ssl.SSLCertVerificationError) as refused,
    ):
        connect(port, _client(pki.root_file(), crl_file), DNS_SANS[0])
    assert refused.value.verify_code == 23, refused.value  # X509_V_ERR_CERT_REVOKED


def test_the_handler_publishes_on_revocation_and_on_schedule(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient
) -> None:
    handler = load_function("crl_publisher").lambda_handler
    scheduled = {
        "version": "0",
        "id": "s-1",
        "source": "aws.events",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2024-01-01T00:00:00Z",
        "detail-type": "Scheduled Event",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/crl"],
        "detail": {},
    }
    report = handler(scheduled, LambdaContext())
    assert len(report["published"]) == 2, report  # the root and the issuing CA had none yet

    created = api.post("/certificates", {**_leaf(hierarchy.issuing["id"])})
    assert created.status == 201, created.body
    revoke(api, created.body["id"])
    serial = created.body["currentVersion"]["serialNumber"]
    event = CertificateVersionRevoked(
        "e-1", created.body["id"], 3, 1, serial, hierarchy.issuing["id"], "KEY_COMPROMISE", "2026-03-01T12:00:00+00:00"
    )
    report = handler(eventbridge_envelope(event), LambdaContext())
    assert report["published"] == [f"{hierarchy.issuing['id']}/0#2"], report
    assert bucket.crl(hierarchy.issuing["id"]).get_revoked_certificate_by_serial_number(int(serial, 16)) is not None


def _leaf(issuer_id: str) -> dict[str, Any]:
    from tests.conftest import leaf_body

    return leaf_body(issuer_id, name="handler-leaf")


def _image(state: CrlState) -> CrlRow:
    return CrlRow(state, state.row_version)


def test_the_outbox_announces_publications_and_staleness(clock: Clock) -> None:
    entries = [
        RevokedEntry("ca-1", f"{i:x}", clock.now, RevocationReason.SUPERSEDED, RevokedKind.CERTIFICATE, f"c{i}", 1)
        for i in range(1, MAX_EVENT_SERIALS + 11)
    ]
    policy = CrlPolicy()
    before = CrlState("ca-1", 0, "issuing", last_crl_number=1, row_version=3)
    after = before.claimed().published(2, clock.now, policy, '"etag"', entries)
    (published,) = events_for("rec-1", _image(before), _image(after))
    assert isinstance(published, CrlPublished)
    assert published.crl_number == 2 and published.object_key == "crl/ca-1/0.crl"
    assert published.serial_count == len(entries) and len(published.serials) == MAX_EVENT_SERIALS
    assert published.serials == event_serials(entries)
    assert len(json.dumps(published.to_detail())) < 256 * 1024 - 2048  # fits one EventBridge entry
    # Only a newer publication is announced: a dirty mark, a claim or a replay is not.
    assert events_for("rec-2", _image(after), _image(after.marked_dirty(clock.now).claimed())) == []

    stale = after.failed(after.next_update or clock.now, policy, "CaKeyUnusable: disabled")
    (alert,) = events_for("rec-3", _image(after), _image(stale))
    assert isinstance(alert, CrlStale) and alert.name == "issuing" and alert.reason.startswith("CaKeyUnusable")
    assert events_for("rec-4", _image(stale), _image(stale.failed(clock.now, policy, "again"))) == []
