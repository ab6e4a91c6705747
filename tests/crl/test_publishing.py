"""CRL publishing against the embedded AWS: what lands in S3 verifies with openssl, lints clean and stays fresh."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from certwright import bootstrap
from certwright.events import CertificateAuthorityCreated, CertificateVersionRevoked
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyasn1.codec.der import decoder, encoder
from pyasn1_alt_modules import rfc5280

from tests.conformance.pki import pkilint
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.crl.conftest import Bucket, crl_pem, revoke, run, write

pytestmark = pytest.mark.conformance


def _leaf(api: ApiClient, issuer_id: str, name: str = "web") -> dict[str, str]:
    created = api.post("/certificates", leaf_body(issuer_id, name=name))
    assert created.status == 201, created.body
    bundle = api.get(f"/certificates/{created.body['id']}/bundle")
    assert bundle.status == 200, bundle.body
    return {"id": created.body["id"], "pem": bundle.body["certificatePem"], "serial": bundle.body["serialNumber"]}


def _ca_pem(api: ApiClient, ca_id: str) -> str:
    return str(api.get(f"/certificate-authorities/{ca_id}/bundle").body["certificatePem"])


def _raw_subject(certificate_pem: str) -> bytes:
    der = x509.load_pem_x509_certificate(certificate_pem.encode()).public_bytes(serialization.Encoding.DER)
    decoded, _ = decoder.decode(der, asn1Spec=rfc5280.Certificate())
    return bytes(encoder.encode(decoded["tbsCertificate"]["subject"]))


def _raw_issuer(crl: x509.CertificateRevocationList) -> bytes:
    decoded, _ = decoder.decode(crl.public_bytes(serialization.Encoding.DER), asn1Spec=rfc5280.CertificateList())
    return bytes(encoder.encode(decoded["tbsCertList"]["issuer"]))


def _publish_all(container: bootstrap.Container, h: Hierarchy) -> None:
    for ca in (h.root, h.issuing):
        report = container.crl_publisher.publish(ca["id"])
        assert report.published and not report.failed, report


def test_every_active_ca_gets_a_crl_and_its_certificate_published(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient, clock: Clock
) -> None:
    report = container.crl_publisher.publish_due()
    assert not report.failed, report
    for ca in (hierarchy.root, hierarchy.issuing):
        pem = _ca_pem(api, ca["id"])
        crl = bucket.crl(ca["id"])
        assert _raw_issuer(crl) == _raw_subject(pem)  # I5: issuer DER byte-equal to the CA subject
        certificate = x509.load_pem_x509_certificate(pem.encode())
        assert crl.is_signature_valid(certificate.public_key())  # type: ignore[arg-type]
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        assert aki == ski
        assert crl.last_update_utc <= clock.now < crl.next_update_utc  # type: ignore[operator]
        assert len(crl) == 0
        der, metadata = bucket.get(f"ca/{ca['id']}.cer")
        assert der == certificate.public_bytes(serialization.Encoding.DER)
        assert metadata["ca-version"] == "1"
        assert bucket.get(f"ca/{ca['id']}.pem")[0].decode() == pem
    # Nothing is due any more: a second scheduled run signs nothing.
    assert not container.crl_publisher.publish_due().published


def test_crl_numbers_strictly_increase_and_one_kms_sign_per_crl(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, aws: Aws, clock: Clock
) -> None:
    ca_id = hierarchy.issuing["id"]
    numbers = []
    for _ in range(3):
        signs = aws.calls["kms.Sign"]
        report = container.crl_publisher.publish(ca_id)
        assert len(report.published) == 1, report
        assert aws.calls["kms.Sign"] - signs == 1
        crl = bucket.crl(ca_id)
        number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        assert number == bucket.crl_number(ca_id)
        numbers.append(number)
        clock.advance(seconds=1)
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1
    assert bucket.versions(f"crl/{ca_id}/0.crl") == 3  # versioned bucket: each CRL kept as an object version


def test_openssl_refuses_a_revoked_leaf_and_accepts_the_others(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient, tmp_path: Path
) -> None:
    issuing = hierarchy.issuing["id"]
    revoked, fresh = _leaf(api, issuing, "revoked"), _leaf(api, issuing, "fresh")
    revoke(api, revoked["id"], "KEY_COMPROMISE")
    event = CertificateVersionRevoked(
        "e1", revoked["id"], 2, 1, revoked["serial"], issuing, "KEY_COMPROMISE", "2026-03-01T12:00:00+00:00"
    )
    assert container.crl_publisher.on_event(event).published  # batch delay 0: published at once
    container.crl_publisher.publish(hierarchy.root["id"])

    crl = bucket.crl(issuing)
    entry = crl.get_revoked_certificate_by_serial_number(int(revoked["serial"], 16))
    assert entry is not None
    reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
    assert reason is x509.ReasonFlags.key_compromise

    root = write(tmp_path, "root.pem", _ca_pem(api, hierarchy.root["id"]))
    issuing_pem = write(tmp_path, "issuing.pem", _ca_pem(api, issuing))
    issuing_crl = write(tmp_path, "issuing.crl.pem", crl_pem(crl))
    both_crls = write(tmp_path, "both.crl.pem", crl_pem(crl) + crl_pem(bucket.crl(hierarchy.root["id"])))

    def verify(leaf: dict[str, str], *flags: str, crls: Path) -> tuple[int, str]:
        path = write(tmp_path, "leaf.pem", leaf["pem"])
        done = run("openssl", "verify", *flags, "-CAfile", root, "-untrusted", issuing_pem, "-CRLfile", crls, path)
        return done.returncode, done.stdout + done.stderr

    code, out = verify(revoked, "-crl_check", crls=issuing_crl)
    assert code != 0 and "error 23" in out and "certificate revoked" in out, out
    code, out = verify(fresh, "-crl_check", crls=issuing_crl)
    assert code == 0, out
    # The whole chain, the root's CRL included: the issuing CA itself is checked against the root's CRL.
    code, out = verify(fresh, "-crl_check_all", crls=both_crls)
    assert code == 0, out
    code, out = verify(revoked, "-crl_check_all", crls=both_crls)
    assert code != 0 and "error 23" in out, out

    for ca_id, ca_file in ((issuing, issuing_pem), (hierarchy.root["id"], root)):
        crl_file = write(tmp_path, f"{ca_id}.crl", crl_pem(bucket.crl(ca_id)))
        done = run("openssl", "crl", "-in", crl_file, "-noout", "-verify", "-CAfile", ca_file)
        assert done.returncode == 0 and "verify OK" in (done.stdout + done.stderr), done.stderr


def test_a_revoked_subordinate_ca_fails_the_whole_chain(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient, tmp_path: Path
) -> None:
    leaf = _leaf(api, hierarchy.issuing["id"])
    answer = api.post(
        f"/certificate-authorities/{hierarchy.issuing['id']}/versions/1/actions/revoke",
        {"revocationReason": "CA_COMPROMISE"},
    )
    assert answer.status in (200, 201, 202), answer.body
    container.crl_publisher.on_revocation(hierarchy.root["id"])
    container.crl_publisher.publish(hierarchy.issuing["id"])
    root_crl = bucket.crl(hierarchy.root["id"])
    assert len(root_crl) == 1
    crls = write(tmp_path, "crls.pem", crl_pem(root_crl) + crl_pem(bucket.crl(hierarchy.issuing["id"])))
    done = run(
        "openssl", "verify", "-crl_check_all", "-CAfile", write(tmp_path, "root.pem", _ca_pem(api, hierarchy.root["id"])),
        "-untrusted", write(tmp_path, "issuing.pem", _ca_pem(api, hierarchy.issuing["id"])),
        "-CRLfile", crls, write(tmp_path, "leaf.pem", leaf["pem"]),
    )  # fmt: skip
    assert done.returncode != 0 and "error 23" in done.stdout + done.stderr


def test_published_crls_lint_clean(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient, tmp_path: Path
) -> None:
    issuing = hierarchy.issuing["id"]
    for reason in ("KEY_COMPROMISE", "SUPERSEDED", "UNSPECIFIED", "CESSATION_OF_OPERATION"):
        revoke(api, _leaf(api, issuing, reason.lower())["id"], reason)
    _publish_all(container, hierarchy)
    crl = bucket.crl(issuing)
    assert len(crl) == 4
    unspecified = [r for r in crl if not list(r.extensions)]
    assert len(unspecified) == 1  # RFC 5280 5.3.1: no reasonCode rather than "unspecified"
    jobs = {"CRL": bucket.crl(issuing), "ARL": bucket.crl(hierarchy.root["id"])}  # the root only lists CAs
    for kind, document in jobs.items():
        path = write(tmp_path, f"{kind}.pem", crl_pem(document))
        findings = pkilint("lint_crl", "-t", kind, "-p", "PKIX", "--document-format", "PEM", path)
        assert findings == [], "\n".join(str(f) for f in findings)


def test_revocations_are_batched_into_one_rebuild(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, api: ApiClient, clock: Clock, aws: Aws
) -> None:
    publisher = container.crl_publisher
    _publish_all(container, hierarchy)
    batched = bootstrap.build(
        container.settings.__class__(**{**container.settings.__dict__, "crl_batch_seconds": 30}),
        session=aws.session,
        runtime=container.issuance._rt,  # same clock
    ).crl_publisher
    issuing = hierarchy.issuing["id"]
    before = bucket.crl_number(issuing)
    leaves = [_leaf(api, issuing, f"l{i}") for i in range(3)]
    for leaf in leaves:
        revoke(api, leaf["id"])
        assert not batched.on_revocation(issuing).published  # waits for the batch delay
        clock.advance(seconds=5)
    assert bucket.crl_number(issuing) == before
    assert not batched.publish_due().published  # 15 s after the first mark: not yet
    clock.advance(seconds=20)
    signs = aws.calls["kms.Sign"]
    report = batched.publish_due()
    assert report.published == [f"{issuing}/0#{before + 1}"], report
    assert aws.calls["kms.Sign"] - signs == 1
    assert {int(leaf["serial"], 16) for leaf in leaves} == {r.serial_number for r in bucket.crl(issuing)}
    assert not batched.publish_due().published  # clean again
    assert publisher is not batched


def test_the_schedule_refreshes_before_next_update(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket, clock: Clock
) -> None:
    _publish_all(container, hierarchy)
    policy = container.crl_publisher.policy
    first = bucket.crl(hierarchy.issuing["id"])
    clock.advance(seconds=(policy.validity - policy.refresh_before).total_seconds() - 1)
    assert not container.crl_publisher.publish_due().published
    clock.advance(seconds=2)
    report = container.crl_publisher.publish_due()
    assert len(report.published) == 2, report  # root and issuing CA
    second = bucket.crl(hierarchy.issuing["id"])
    assert second.next_update_utc > first.next_update_utc  # type: ignore[operator]
    assert second.last_update_utc <= clock.now < second.next_update_utc  # type: ignore[operator]
    assert second.next_update_utc - clock.now > policy.refresh_before - timedelta(seconds=2)  # type: ignore[operator]


def test_a_new_ca_is_published_from_its_creation_event(
    container: bootstrap.Container, hierarchy: Hierarchy, bucket: Bucket
) -> None:
    event = CertificateAuthorityCreated("e", hierarchy.issuing["id"], 2, "issuing", "")
    assert container.crl_publisher.on_event(event).published
    assert bucket.crl_number(hierarchy.issuing["id"]) == 1


def test_failing_publication_alerts_once_when_the_crl_goes_stale(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock, aws: Aws
) -> None:
    from certwright.domain.crl import NEVER_PUBLISHED

    ca_id = hierarchy.issuing["id"]
    ca = container.store.get_authority(ca_id)
    assert ca is not None
    kms = aws.session.client("kms")
    key_id = ca.kms_key_id.rsplit("/", 1)[-1]
    kms.disable_key(KeyId=key_id)
    report = container.crl_publisher.publish(ca_id)
    assert report.failed and not report.published
    states = container.crl_publisher._states
    state = states.get(ca_id, 0)
    assert state is not None and state.stale_alerted_for == NEVER_PUBLISHED and "CaKeyUnusable" in state.last_error
    kms.enable_key(KeyId=key_id)
    assert container.crl_publisher.publish(ca_id).published
    published = states.get(ca_id, 0)
    assert published is not None and published.stale_alerted_for is None and published.next_update is not None
    kms.disable_key(KeyId=key_id)
    clock.advance(hours=13)  # past the refresh point, not yet near nextUpdate: retried, no alert
    container.crl_publisher.publish_due()
    state = states.get(ca_id, 0)
    assert state is not None and state.stale_alerted_for is None and state.last_error
    clock.advance(hours=6)  # within the last half of the margin: alert, once
    container.crl_publisher.publish_due()
    container.crl_publisher.publish_due()
    state = states.get(ca_id, 0)
    assert state is not None and state.stale_alerted_for == published.next_update.isoformat()
