"""Build and sign CA and leaf certificates from domain values with any signing key (KMS-backed or local)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes, PublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from certwright.domain.authority import NameConstraint, Validity
from certwright.domain.certificate import Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.signing import SigningAlgorithm
from certwright.x509.keys import signature_parameters

_EKU = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codeSigning": ExtendedKeyUsageOID.CODE_SIGNING,
}


@dataclass(frozen=True)
class Issuer:
    """Who signs: the exact subject DER of the issuing certificate, its key identifier, and a signing key.

    `not_before` is the issuing certificate's own notBefore: nothing it signs may start earlier.
    `signing_algorithm` is the CA's (None: the default for its key, certwright.domain.signing).
    """

    name: x509.Name
    key: CertificateIssuerPrivateKeyTypes
    key_algorithm: KeyAlgorithm
    key_identifier: bytes | None
    not_before: datetime | None = None
    signing_algorithm: SigningAlgorithm | None = None

    def signed(self, algorithm: SigningAlgorithm | None = None) -> Issuer:
        """This issuer signing with `algorithm` (a per-certificate override) instead of its own; None: unchanged."""
        return self if algorithm is None else replace(self, signing_algorithm=algorithm)

    @classmethod
    def from_certificate(
        cls,
        certificate: x509.Certificate,
        key: CertificateIssuerPrivateKeyTypes,
        key_algorithm: KeyAlgorithm,
        signing_algorithm: SigningAlgorithm | None = None,
    ) -> Issuer:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return cls(
            certificate.subject, key, key_algorithm, ski.digest, certificate.not_valid_before_utc, signing_algorithm
        )


def backdated(validity: Validity, margin: timedelta, not_earlier_than: datetime | None = None) -> Validity:
    """The validity to sign: notBefore `margin` before the issue time, but never before `not_earlier_than`.

    Relying parties whose clocks run a little slow would otherwise reject a certificate for its first
    seconds ("not yet valid"); public CAs backdate for the same reason. notAfter is left as it is, so the
    validity asked for still counts from the issue time (`validity.not_before`).
    """
    if margin < timedelta(0):
        raise ValueError("the notBefore backdate cannot be negative")
    start = validity.not_before - margin
    if not_earlier_than is not None:
        start = max(start, not_earlier_than)
    return Validity(min(start, validity.not_before), validity.not_after)


@dataclass(frozen=True)
class Publication:
    """Where relying parties fetch the issuer's CRL (this certificate's partition) and the issuer's certificate."""

    crl_url: str | None = None
    ca_issuers_url: str | None = None
    # More places the same CRL is served (the CA's crlSettings.customFormattedUrls, filled in).
    extra_crl_urls: tuple[str, ...] = ()


def _with_publication(builder: x509.CertificateBuilder, publication: Publication | None) -> x509.CertificateBuilder:
    if publication is None:
        return builder
    urls = [*([publication.crl_url] if publication.crl_url else []), *publication.extra_crl_urls]
    if urls:
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(u) for u in urls], None, None, None)
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if publication.ca_issuers_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(publication.ca_issuers_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder


def to_name(subject: Subject) -> x509.Name:
    """The subject in one fixed order (domain components first, most significant first; then C, ST, L, street, O,
    OU, the personal attributes, serialNumber, dnQualifier, CN, emailAddress), whatever order the request had.
    cryptography writes C, serialNumber and dnQualifier as PrintableString, emailAddress and DC as IA5String."""
    pairs = [
        *((NameOID.DOMAIN_COMPONENT, dc) for dc in subject.domain_components),
        (NameOID.COUNTRY_NAME, subject.country),
        (NameOID.STATE_OR_PROVINCE_NAME, subject.state_or_province),
        (NameOID.LOCALITY_NAME, subject.locality),
        (NameOID.STREET_ADDRESS, subject.street),
        (NameOID.ORGANIZATION_NAME, subject.organization),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, subject.organizational_unit),
        (NameOID.TITLE, subject.title),
        (NameOID.SURNAME, subject.surname),
        (NameOID.GIVEN_NAME, subject.given_name),
        (NameOID.INITIALS, subject.initials),
        (NameOID.GENERATION_QUALIFIER, subject.generation_qualifier),
        (NameOID.PSEUDONYM, subject.pseudonym),
        (NameOID.SERIAL_NUMBER, subject.serial_number),
        (NameOID.DN_QUALIFIER, subject.distinguished_name_qualifier),
        (NameOID.COMMON_NAME, subject.common_name),
        (NameOID.EMAIL_ADDRESS, subject.email),
    ]
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs if value is not None])


def to_general_names(sans: tuple[SubjectAlternativeName, ...]) -> list[x509.GeneralName]:
    return [_general_name(san) for san in sans]


def _general_name(san: SubjectAlternativeName) -> x509.GeneralName:
    if san.type is SanType.DNS:
        return x509.DNSName(san.value)
    if san.type is SanType.URI:
        return x509.UniformResourceIdentifier(san.value)
    if san.type is SanType.EMAIL:
        return x509.RFC822Name(san.value)
    return x509.IPAddress(ipaddress.ip_address(san.value))


def sign_ca_certificate(
    *,
    subject: Subject,
    public_key: PublicKeyTypes,
    serial_number: int,
    validity: Validity,
    issuer: Issuer | None,
    self_key: CertificateIssuerPrivateKeyTypes | None = None,
    self_algorithm: KeyAlgorithm | None = None,
    self_signing_algorithm: SigningAlgorithm | None = None,
    path_length: int | None,
    name_constraint: NameConstraint,
    publication: Publication | None = None,
) -> x509.Certificate:
    """A root (issuer None: self-signed with self_key) or a subordinate signed by `issuer`."""
    name = to_name(subject)
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)  # type: ignore[arg-type]
    if issuer is None:
        if self_key is None or self_algorithm is None:
            raise ValueError("a root certificate needs its own signing key")
        issuer = Issuer(name, self_key, self_algorithm, None, signing_algorithm=self_signing_algorithm)
    builder = _base(name, public_key, serial_number, validity, issuer)
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    builder = builder.add_extension(ski, critical=False)
    if issuer.key_identifier is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer.key_identifier, None, None), critical=False)
    if not name_constraint.is_empty:
        builder = builder.add_extension(_name_constraints(name_constraint), critical=True)
    builder = _with_publication(builder, publication)
    return sign_with(builder, issuer)


def sign_leaf_certificate(
    *,
    subject: Subject,
    sans: tuple[SubjectAlternativeName, ...],
    public_key: PublicKeyTypes,
    serial_number: int,
    validity: Validity,
    profile: Profile,
    issuer: Issuer,
    publication: Publication | None = None,
) -> x509.Certificate:
    builder = _base(to_name(subject), public_key, serial_number, validity, issuer)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(_leaf_key_usage(profile, public_key), critical=True)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([_EKU[name] for name in profile.extended_key_usages]), critical=False
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(to_general_names(sans)), critical=False)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(public_key),  # type: ignore[arg-type]
        critical=False,
    )
    if issuer.key_identifier is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier(issuer.key_identifier, None, None), critical=False)
    builder = _with_publication(builder, publication)
    return sign_with(builder, issuer)


def sign_with(builder: x509.CertificateBuilder, issuer: Issuer) -> x509.Certificate:
    """The certificate signed by `issuer.key` with the issuer's signing algorithm (RSA padding included)."""
    digest, rsa_padding = signature_parameters(issuer.key_algorithm, issuer.signing_algorithm)
    return builder.sign(issuer.key, digest, rsa_padding=rsa_padding)


def _base(
    name: x509.Name, public_key: PublicKeyTypes, serial_number: int, validity: Validity, issuer: Issuer
) -> x509.CertificateBuilder:
    if issuer.not_before is not None and validity.not_before < issuer.not_before:
        raise ValueError(
            f"notBefore {validity.not_before.isoformat()} is before the issuer's ({issuer.not_before.isoformat()})"
        )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.name)
        .public_key(public_key)  # type: ignore[arg-type]
        .serial_number(serial_number)
        .not_valid_before(validity.not_before)
        .not_valid_after(validity.not_after)
    )


def _leaf_key_usage(profile: Profile, public_key: PublicKeyTypes) -> x509.KeyUsage:
    # RSA TLS keys may still be used for RSA key transport by old clients; ECDSA keys only sign.
    key_encipherment = profile.serves_tls and isinstance(public_key, rsa.RSAPublicKey)
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _name_constraints(constraint: NameConstraint) -> x509.NameConstraints:
    permitted: list[x509.GeneralName] = [x509.DNSName(n) for n in constraint.permitted_dns]
    permitted += [x509.IPAddress(n) for n in constraint.permitted_ip]
    permitted += [x509.UniformResourceIdentifier(n) for n in constraint.permitted_uri]
    permitted += [x509.RFC822Name(n) for n in constraint.permitted_email]
    excluded: list[x509.GeneralName] = [x509.DNSName(n) for n in constraint.excluded_dns]
    excluded += [x509.IPAddress(n) for n in constraint.excluded_ip]
    excluded += [x509.UniformResourceIdentifier(n) for n in constraint.excluded_uri]
    excluded += [x509.RFC822Name(n) for n in constraint.excluded_email]
    return x509.NameConstraints(permitted_subtrees=permitted or None, excluded_subtrees=excluded or None)
