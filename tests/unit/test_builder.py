"""The certificate builder with local in-memory keys (the same code signs with a KMS-backed key: docs/architecture.md)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from certwright.domain.authority import NameConstraint, Validity
from certwright.domain.certificate import Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.x509.builder import Issuer, backdated, sign_ca_certificate, sign_leaf_certificate, to_name
from certwright.x509.keys import generate_private_key
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOW = datetime(2024, 5, 17, 10, 30, tzinfo=UTC)
ROOT_SUBJECT = Subject("Local Root", organization="Certwright", country="US")
SANS = (
    SubjectAlternativeName(SanType.DNS, "www.example.com"),
    SubjectAlternativeName(SanType.DNS, "*.api.example.com"),
    SubjectAlternativeName(SanType.IP, "192.0.2.10"),
    SubjectAlternativeName(SanType.IP, "2001:db8::1"),
)
EKU_OIDS = {
    Profile.TLS_SERVER: [ExtendedKeyUsageOID.SERVER_AUTH],
    Profile.TLS_CLIENT: [ExtendedKeyUsageOID.CLIENT_AUTH],
    Profile.TLS_SERVER_OR_CLIENT: [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
    Profile.TLS_CODE_SIGN: [ExtendedKeyUsageOID.CODE_SIGNING],
}
E = TypeVar("E", bound=x509.ExtensionType)
_KEYS: dict[KeyAlgorithm, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {}


def key_for(algorithm: KeyAlgorithm) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    """One key per algorithm for the whole module: RSA 4096 generation is slow."""
    if algorithm not in _KEYS:
        _KEYS[algorithm] = generate_private_key(algorithm)
    return _KEYS[algorithm]


def validity(text: str = "P30D") -> Validity:
    return Validity.starting(NOW, Duration.parse(text))


def make_root(
    algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P384,
    *,
    path_length: int | None = 1,
    name_constraint: NameConstraint | None = None,
) -> x509.Certificate:
    key = key_for(algorithm)
    return sign_ca_certificate(
        subject=ROOT_SUBJECT,
        public_key=key.public_key(),
        serial_number=0x1234_5678_9ABC_DEF0_1234,
        validity=validity("P10Y"),
        issuer=None,
        self_key=key,
        self_algorithm=algorithm,
        path_length=path_length,
        name_constraint=name_constraint or NameConstraint(),
    )


def ext(certificate: x509.Certificate, kind: type[E]) -> x509.Extension[E]:
    return certificate.extensions.get_extension_for_class(kind)


def leaf_from(
    issuer_cert: x509.Certificate,
    issuer_algorithm: KeyAlgorithm,
    profile: Profile,
    leaf_algorithm: KeyAlgorithm,
    sans: tuple[SubjectAlternativeName, ...] = SANS,
) -> x509.Certificate:
    return sign_leaf_certificate(
        subject=Subject("www.example.com", organization="Certwright"),
        sans=sans,
        public_key=key_for(leaf_algorithm).public_key(),
        serial_number=0xABCDEF0123456789,
        validity=validity(),
        profile=profile,
        issuer=Issuer.from_certificate(issuer_cert, key_for(issuer_algorithm), issuer_algorithm),
    )


@pytest.mark.parametrize("algorithm", list(KeyAlgorithm))
def test_a_root_is_self_signed_with_ca_extensions(algorithm: KeyAlgorithm) -> None:
    root = make_root(algorithm)
    root.verify_directly_issued_by(root)
    assert root.subject == root.issuer == to_name(ROOT_SUBJECT)
    assert root.subject.get_attributes_for_oid(NameOID.COUNTRY_NAME)[0].value == "US"
    assert root.serial_number == 0x1234_5678_9ABC_DEF0_1234
    assert root.not_valid_before_utc == NOW
    assert (root.not_valid_after_utc - root.not_valid_before_utc).total_seconds() + 1 == (
        Duration.parse("P10Y").after(NOW) - NOW
    ).total_seconds()
    expected_hash = hashes.SHA384 if algorithm is KeyAlgorithm.ECDSA_P384 else hashes.SHA256
    assert isinstance(root.signature_hash_algorithm, expected_hash)

    constraints = ext(root, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value == x509.BasicConstraints(ca=True, path_length=1)
    usage = ext(root, x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign and usage.value.crl_sign and usage.value.digital_signature
    assert not usage.value.key_encipherment
    ski = ext(root, x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(key_for(algorithm).public_key())
    with pytest.raises(x509.ExtensionNotFound):
        ext(root, x509.ExtendedKeyUsage)
    with pytest.raises(x509.ExtensionNotFound):
        ext(root, x509.NameConstraints)


def test_a_root_without_a_path_length_has_an_unbounded_one() -> None:
    root = make_root(path_length=None)
    assert ext(root, x509.BasicConstraints).value == x509.BasicConstraints(ca=True, path_length=None)


def test_a_root_needs_its_own_key() -> None:
    with pytest.raises(ValueError, match="own signing key"):
        sign_ca_certificate(
            subject=ROOT_SUBJECT,
            public_key=key_for(KeyAlgorithm.ECDSA_P256).public_key(),
            serial_number=1,
            validity=validity(),
            issuer=None,
            path_length=None,
            name_constraint=NameConstraint(),
        )


def test_a_subordinate_carries_aki_and_name_constraints_and_chains_to_the_root() -> None:
    root = make_root(KeyAlgorithm.ECDSA_P384)
    constraint = NameConstraint.from_dict(
        {
            "permittedDnsSubtrees": ["example.com"],
            "excludedDnsSubtrees": ["secret.example.com"],
            "permittedIpSubtrees": ["192.0.2.0/24", "2001:db8::/32"],
            "excludedIpSubtrees": ["192.0.2.128/25"],
        }
    )
    sub_key = key_for(KeyAlgorithm.RSA2048)
    sub = sign_ca_certificate(
        subject=Subject("Local Issuing", organization="Certwright"),
        public_key=sub_key.public_key(),
        serial_number=42,
        validity=validity("P5Y"),
        issuer=Issuer.from_certificate(root, key_for(KeyAlgorithm.ECDSA_P384), KeyAlgorithm.ECDSA_P384),
        path_length=0,
        name_constraint=constraint,
    )
    sub.verify_directly_issued_by(root)
    with pytest.raises(ValueError):
        sub.verify_directly_issued_by(sub)
    assert sub.issuer == root.subject
    assert sub.issuer.public_bytes() == root.subject.public_bytes()
    assert isinstance(sub.signature_hash_algorithm, hashes.SHA384)
    assert ext(sub, x509.BasicConstraints).value == x509.BasicConstraints(ca=True, path_length=0)
    aki = ext(sub, x509.AuthorityKeyIdentifier)
    assert not aki.critical
    assert aki.value.key_identifier == ext(root, x509.SubjectKeyIdentifier).value.digest
    names = ext(sub, x509.NameConstraints)
    assert names.critical
    assert names.value.permitted_subtrees == [
        x509.DNSName("example.com"),
        x509.IPAddress(ipaddress.ip_network("192.0.2.0/24")),
        x509.IPAddress(ipaddress.ip_network("2001:db8::/32")),
    ]
    assert names.value.excluded_subtrees == [
        x509.DNSName("secret.example.com"),
        x509.IPAddress(ipaddress.ip_network("192.0.2.128/25")),
    ]


def test_excluded_only_constraints_have_no_permitted_subtrees() -> None:
    root = make_root(name_constraint=NameConstraint.from_dict({"excludedDnsSubtrees": ["corp.example"]}))
    names = ext(root, x509.NameConstraints).value
    assert names.permitted_subtrees is None
    assert names.excluded_subtrees == [x509.DNSName("corp.example")]


@pytest.mark.parametrize("profile", list(Profile))
@pytest.mark.parametrize(
    ("issuer_algorithm", "leaf_algorithm"),
    [
        (KeyAlgorithm.ECDSA_P384, KeyAlgorithm.ECDSA_P256),
        (KeyAlgorithm.ECDSA_P256, KeyAlgorithm.RSA2048),
        (KeyAlgorithm.RSA3072, KeyAlgorithm.ECDSA_P384),
        (KeyAlgorithm.RSA2048, KeyAlgorithm.RSA3072),
    ],
)
def test_a_leaf_for_each_profile_verifies_and_carries_its_extensions(
    profile: Profile, issuer_algorithm: KeyAlgorithm, leaf_algorithm: KeyAlgorithm
) -> None:
    root = make_root(issuer_algorithm)
    leaf = leaf_from(root, issuer_algorithm, profile, leaf_algorithm)
    leaf.verify_directly_issued_by(root)
    assert leaf.issuer.public_bytes() == root.subject.public_bytes()
    assert leaf.serial_number == 0xABCDEF0123456789
    assert leaf.not_valid_before_utc == NOW
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).total_seconds() + 1 == 30 * 86400

    constraints = ext(leaf, x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value == x509.BasicConstraints(ca=False, path_length=None)

    usage = ext(leaf, x509.KeyUsage)
    assert usage.critical
    assert usage.value.digital_signature
    assert not (usage.value.key_cert_sign or usage.value.crl_sign or usage.value.content_commitment)
    assert not (usage.value.data_encipherment or usage.value.key_agreement)
    rsa_tls = leaf_algorithm.is_rsa and profile in (Profile.TLS_SERVER, Profile.TLS_SERVER_OR_CLIENT)
    assert usage.value.key_encipherment is rsa_tls

    eku = ext(leaf, x509.ExtendedKeyUsage)
    assert not eku.critical
    assert list(eku.value) == EKU_OIDS[profile]

    san = ext(leaf, x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["www.example.com", "*.api.example.com"]
    assert san.get_values_for_type(x509.IPAddress) == [
        ipaddress.ip_address("192.0.2.10"),
        ipaddress.ip_address("2001:db8::1"),
    ]
    assert ext(leaf, x509.SubjectKeyIdentifier).value == x509.SubjectKeyIdentifier.from_public_key(
        key_for(leaf_algorithm).public_key()
    )
    assert ext(leaf, x509.AuthorityKeyIdentifier).value.key_identifier == (
        ext(root, x509.SubjectKeyIdentifier).value.digest
    )


def test_a_code_signing_leaf_has_only_the_code_signing_eku() -> None:
    root = make_root(KeyAlgorithm.ECDSA_P256)
    leaf = leaf_from(root, KeyAlgorithm.ECDSA_P256, Profile.TLS_CODE_SIGN, KeyAlgorithm.RSA2048)
    assert list(ext(leaf, x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CODE_SIGNING]
    assert not ext(leaf, x509.KeyUsage).value.key_encipherment


def test_a_leaf_without_sans_has_no_san_extension() -> None:
    root = make_root(KeyAlgorithm.ECDSA_P256)
    leaf = leaf_from(root, KeyAlgorithm.ECDSA_P256, Profile.TLS_CLIENT, KeyAlgorithm.ECDSA_P256, sans=())
    with pytest.raises(x509.ExtensionNotFound):
        ext(leaf, x509.SubjectAlternativeName)
    leaf.verify_directly_issued_by(root)


def test_a_leaf_signed_by_another_key_does_not_verify() -> None:
    root = make_root(KeyAlgorithm.ECDSA_P256)
    impostor = make_root(KeyAlgorithm.ECDSA_P384)
    leaf = leaf_from(impostor, KeyAlgorithm.ECDSA_P384, Profile.TLS_SERVER, KeyAlgorithm.ECDSA_P256)
    # Same issuer name, different key: name chaining alone must not be enough.
    assert leaf.issuer == root.subject
    with pytest.raises(InvalidSignature):
        leaf.verify_directly_issued_by(root)
    leaf.verify_directly_issued_by(impostor)


# -- notBefore backdating ----------------------------------------------------------------------------------

MARGIN = timedelta(minutes=5)


def root_since(start: datetime) -> x509.Certificate:
    key = key_for(KeyAlgorithm.ECDSA_P384)
    return sign_ca_certificate(
        subject=ROOT_SUBJECT,
        public_key=key.public_key(),
        serial_number=0x1,
        validity=Validity.starting(start, Duration.parse("P10Y")),
        issuer=None,
        self_key=key,
        self_algorithm=KeyAlgorithm.ECDSA_P384,
        path_length=0,
        name_constraint=NameConstraint(),
    )


def test_backdating_moves_only_not_before_and_never_before_the_issuer() -> None:
    asked = validity("P30D")
    signed = backdated(asked, MARGIN)
    assert signed.not_before == NOW - MARGIN
    # The validity asked for still counts from the issue time: P30D ends 30 days minus a second after NOW.
    assert signed.not_after == asked.not_after == NOW + timedelta(days=30) - timedelta(seconds=1)
    assert backdated(asked, MARGIN, not_earlier_than=NOW - timedelta(minutes=2)).not_before == NOW - timedelta(
        minutes=2
    )
    assert backdated(asked, timedelta(0)) == asked
    with pytest.raises(ValueError, match="negative"):
        backdated(asked, -MARGIN)


def test_a_backdated_leaf_starts_margin_before_its_issue_time() -> None:
    root = root_since(NOW - timedelta(days=1))
    key = key_for(KeyAlgorithm.ECDSA_P256)
    leaf = sign_leaf_certificate(
        subject=Subject("www.example.com"),
        sans=SANS[:1],
        public_key=key.public_key(),
        serial_number=0x5EED,
        validity=backdated(validity("P30D"), MARGIN, root.not_valid_before_utc),
        profile=Profile.TLS_SERVER,
        issuer=Issuer.from_certificate(root, key_for(KeyAlgorithm.ECDSA_P384), KeyAlgorithm.ECDSA_P384),
    )
    assert leaf.not_valid_before_utc == NOW - MARGIN
    assert leaf.not_valid_after_utc == NOW + timedelta(days=30) - timedelta(seconds=1)


def test_a_subordinate_issued_a_minute_after_its_root_starts_with_the_root() -> None:
    """The root was issued at NOW without a backdate; a 5-minute backdate a minute later is clamped to it."""
    root = make_root()
    issued = NOW + timedelta(minutes=1)
    asked = Validity.starting(issued, Duration.parse("P1Y"))
    issuer = Issuer.from_certificate(root, key_for(KeyAlgorithm.ECDSA_P384), KeyAlgorithm.ECDSA_P384)
    assert issuer.not_before == root.not_valid_before_utc == NOW
    signed = backdated(asked, MARGIN, issuer.not_before)
    assert signed.not_before == NOW
    sub = sign_ca_certificate(
        subject=Subject("Issuing"),
        public_key=key_for(KeyAlgorithm.ECDSA_P256).public_key(),
        serial_number=0x77,
        validity=signed,
        issuer=issuer,
        path_length=0,
        name_constraint=NameConstraint(),
    )
    assert sub.not_valid_before_utc == root.not_valid_before_utc
    assert sub.not_valid_after_utc == asked.not_after


def test_the_builder_refuses_a_certificate_that_starts_before_its_issuer() -> None:
    root = make_root()
    with pytest.raises(ValueError, match="before the issuer"):
        sign_leaf_certificate(
            subject=Subject("www.example.com"),
            sans=SANS[:1],
            public_key=key_for(KeyAlgorithm.ECDSA_P256).public_key(),
            serial_number=0x5EED,
            validity=backdated(validity("P30D"), MARGIN),
            profile=Profile.TLS_SERVER,
            issuer=Issuer.from_certificate(root, key_for(KeyAlgorithm.ECDSA_P384), KeyAlgorithm.ECDSA_P384),
        )


@pytest.mark.conformance
def test_openssl_accepts_a_backdated_chain_at_a_time_slightly_before_its_issue(tmp_path: Path) -> None:
    """A relying party whose clock is 2 minutes slow verifies a leaf issued just now; without backdating it fails."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (make tools)")
    root, leaf_key = root_since(NOW - timedelta(days=1)), key_for(KeyAlgorithm.ECDSA_P256)
    issuer = Issuer.from_certificate(root, key_for(KeyAlgorithm.ECDSA_P384), KeyAlgorithm.ECDSA_P384)

    def leaf(margin: timedelta) -> Path:
        signed = sign_leaf_certificate(
            subject=Subject("www.example.com"),
            sans=SANS[:1],
            public_key=leaf_key.public_key(),
            serial_number=0x5EED,
            validity=backdated(validity("P30D"), margin, issuer.not_before),
            profile=Profile.TLS_SERVER,
            issuer=issuer,
        )
        path = tmp_path / f"leaf-{margin.seconds}.pem"
        path.write_bytes(signed.public_bytes(serialization.Encoding.PEM))
        return path

    root_file = tmp_path / "root.pem"
    root_file.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    slow_clock = str(int((NOW - timedelta(minutes=2)).timestamp()))

    def verify(leaf_file: Path) -> subprocess.CompletedProcess[str]:
        command = ["openssl", "verify", "-x509_strict", "-attime", slow_clock, "-CAfile", str(root_file)]
        return subprocess.run([*command, str(leaf_file)], capture_output=True, text=True, check=False)

    accepted = verify(leaf(MARGIN))
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    refused = verify(leaf(timedelta(0)))
    assert refused.returncode != 0 and "not yet valid" in refused.stdout + refused.stderr
