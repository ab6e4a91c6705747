"""CRLs built with local keys (the same builder the KMS-held keys use), and the publishing state's decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.certificate import RevocationReason
from certwright.domain.crl import MAX_EVENT_SERIALS, NEVER_PUBLISHED, CrlState, event_serials, still_listed
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.revocation import CrlPolicy, RevokedEntry, RevokedKind
from certwright.x509.builder import Issuer
from certwright.x509.crl import CrlRequest, build_crl
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)
POLICY = CrlPolicy(timedelta(hours=24), timedelta(hours=12), timedelta(seconds=30), 100)
NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Certwright"),
        x509.NameAttribute(NameOID.COMMON_NAME, "Unit CA"),
    ]
)


def _issuer(algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P384) -> Issuer:
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm.is_rsa:
        key = rsa.generate_private_key(65537, algorithm.rsa_bits)
    else:
        key = ec.generate_private_key(ec.SECP384R1() if algorithm is KeyAlgorithm.ECDSA_P384 else ec.SECP256R1())
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key()).digest
    return Issuer(NAME, key, algorithm, ski)


def _entry(serial: int, reason: RevocationReason = RevocationReason.KEY_COMPROMISE, **kw: object) -> RevokedEntry:
    values: dict[str, object] = {
        "issuer_ca_id": "ca-1",
        "serial_number": f"{serial:x}",
        "revoked_at": NOW - timedelta(minutes=serial % 60),
        "reason": reason,
        "kind": RevokedKind.CERTIFICATE,
        "resource_id": f"cert-{serial}",
        "version_number": 1,
    }
    return RevokedEntry(**(values | kw))  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", [KeyAlgorithm.ECDSA_P384, KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA2048])
def test_a_crl_lists_every_entry_and_verifies_with_its_issuer(algorithm: KeyAlgorithm) -> None:
    issuer = _issuer(algorithm)
    entries = [_entry(i, reason) for i, reason in enumerate(RevocationReason, start=1)]
    crl = build_crl(issuer, CrlRequest(7, NOW, entries, POLICY))
    assert crl.is_signature_valid(issuer.key.public_key())  # type: ignore[arg-type]
    assert crl.issuer.public_bytes() == NAME.public_bytes()
    assert crl.last_update_utc == NOW and crl.next_update_utc == NOW + POLICY.validity
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == 7
    aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == issuer.key_identifier
    assert crl.signature_hash_algorithm is not None
    expected_hash = "sha384" if algorithm is KeyAlgorithm.ECDSA_P384 else "sha256"
    assert crl.signature_hash_algorithm.name == expected_hash
    assert len(crl) == len(entries)
    for entry in entries:
        revoked = crl.get_revoked_certificate_by_serial_number(int(entry.serial_number, 16))
        assert revoked is not None and revoked.revocation_date_utc == entry.revoked_at
        reasons = [e.value.reason for e in revoked.extensions if isinstance(e.value, x509.CRLReason)]
        if entry.reason is RevocationReason.UNSPECIFIED:
            assert reasons == []  # RFC 5280 5.3.1: omitted rather than "unspecified"
        else:
            assert reasons == [x509.ReasonFlags[_snake(entry.reason.value)]]
    with pytest.raises(x509.ExtensionNotFound):
        crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)


def _snake(reason: str) -> str:
    return reason.lower()


def test_a_partition_crl_carries_a_critical_idp_naming_its_url() -> None:
    url = "http://pki.example/crl/ca-1/3.crl"
    crl = build_crl(_issuer(), CrlRequest(1, NOW, [], POLICY, url))
    idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint)
    assert idp.critical and idp.value.full_name == [x509.UniformResourceIdentifier(url)]
    assert not idp.value.only_contains_user_certs and not idp.value.indirect_crl
    assert len(crl) == 0


class CountingKey(ec.EllipticCurvePrivateKey):
    """A local key that counts its signatures, as KMS would count Sign calls."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.signatures = 0

    def sign(
        self, data: bytes | bytearray | memoryview, signature_algorithm: ec.EllipticCurveSignatureAlgorithm
    ) -> bytes:  # type: ignore[override]
        self.signatures += 1
        return self._key.sign(data, signature_algorithm)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._key.public_key()

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._key.curve

    @property
    def key_size(self) -> int:
        return self._key.key_size

    def exchange(self, *args: object) -> bytes:  # type: ignore[override]
        raise NotImplementedError

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        raise NotImplementedError

    def private_bytes(self, *args: object) -> bytes:  # type: ignore[override]
        raise NotImplementedError

    def __copy__(self) -> CountingKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> CountingKey:
        return self


def test_one_signature_per_crl_however_many_entries() -> None:
    key = CountingKey()
    issuer = Issuer(NAME, key, KeyAlgorithm.ECDSA_P256, None)
    crl = build_crl(issuer, CrlRequest(1, NOW, [_entry(i) for i in range(1, 2001)], POLICY))
    assert key.signatures == 1 and len(crl) == 2000
    assert crl.is_signature_valid(key.public_key())
    with pytest.raises(x509.ExtensionNotFound):  # no SKI known: no AKI
        crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert hashes.SHA256().name == crl.signature_hash_algorithm.name  # type: ignore[union-attr]


def test_crl_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="start at 1"):
        build_crl(_issuer(), CrlRequest(0, NOW, [], POLICY))


# -- the publishing state ---------------------------------------------------------------------------------


def test_due_at_is_the_batch_or_the_refresh_point_whichever_first() -> None:
    never = CrlState("ca-1", 0)
    assert never.due_at(POLICY, NOW) == NOW
    published = replace(never, this_update=NOW, next_update=NOW + POLICY.validity)
    assert published.due_at(POLICY, NOW) == NOW + timedelta(hours=12)
    dirty = published.marked_dirty(NOW + timedelta(hours=1))
    assert dirty.due_at(POLICY, NOW) == NOW + timedelta(hours=1, seconds=30)
    again = dirty.marked_dirty(NOW + timedelta(hours=2))
    assert again.dirty_since == dirty.dirty_since and again.dirty_marks == dirty.dirty_marks + 1


def test_the_dirty_mark_survives_a_revocation_marked_during_a_rebuild() -> None:
    dirty = CrlState("ca-1", 0).marked_dirty(NOW)
    observed = dirty.dirty_marks
    assert dirty.cleaned(observed).dirty_since is None
    assert dirty.marked_dirty(NOW).cleaned(observed).dirty_since == NOW


def test_claims_never_reuse_a_number_and_publications_only_move_forward() -> None:
    state = CrlState("ca-1", 0).claimed().claimed()
    assert state.last_crl_number == 2
    newer = state.published(2, NOW, POLICY, '"b"', [_entry(1)])
    assert newer.published_crl_number == 2 and newer.serial_count == 1 and newer.serials == ("1",)
    assert newer.published(1, NOW + timedelta(seconds=5), POLICY, '"a"', []) == newer


def test_a_failure_alerts_once_per_crl_generation_and_only_near_next_update() -> None:
    assert CrlState("ca-1", 0).failed(NOW, POLICY, "boom").stale_alerted_for == NEVER_PUBLISHED
    published = CrlState("ca-1", 0).published(1, NOW, POLICY, '"e"', [])
    assert published.next_update is not None
    at_refresh = published.failed(NOW + timedelta(hours=12), POLICY, "boom")
    assert at_refresh.stale_alerted_for is None and at_refresh.last_error == "boom"
    late = published.failed(NOW + timedelta(hours=18), POLICY, "boom")
    assert late.stale_alerted_for == published.next_update.isoformat()
    assert late.failed(NOW + timedelta(hours=30), POLICY, "still").stale_alerted_for == late.stale_alerted_for


def test_expired_certificates_leave_the_crl_and_the_rest_is_sorted() -> None:
    entries = [
        _entry(3, not_after=NOW + timedelta(days=1)),
        _entry(1, not_after=NOW - timedelta(seconds=1)),
        _entry(2),
    ]
    assert [e.serial_number for e in still_listed(entries, NOW)] == ["2", "3"]


def test_events_name_the_most_recent_serials_first_and_are_capped() -> None:
    entries = [_entry(i, revoked_at=NOW + timedelta(seconds=i)) for i in range(1, MAX_EVENT_SERIALS + 6)]
    serials = event_serials(entries)
    assert len(serials) == MAX_EVENT_SERIALS and serials[0] == f"{MAX_EVENT_SERIALS + 5:x}"
