"""Customer CSRs: parse strictly, verify the proof of possession, and refuse anything asking for CA powers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certwright.domain.certificate import Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, validate_sans, validate_subject
from certwright.errors import InvalidInputError
from certwright.x509.keys import key_algorithm_of
from certwright.x509.pem import der_blocks

_SUBJECT_OIDS = {
    NameOID.COMMON_NAME: "commonName",
    NameOID.ORGANIZATION_NAME: "organization",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "organizationalUnit",
    NameOID.COUNTRY_NAME: "country",
    NameOID.STATE_OR_PROVINCE_NAME: "stateOrProvince",
    NameOID.LOCALITY_NAME: "locality",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.EMAIL_ADDRESS: "email",
    NameOID.TITLE: "title",
    NameOID.SURNAME: "surname",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.INITIALS: "initials",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
    NameOID.DN_QUALIFIER: "distinguishedNameQualifier",
    NameOID.STREET_ADDRESS: "street",
}
_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
}


@dataclass(frozen=True)
class CheckedCsr:
    public_key: PublicKeyTypes
    key_algorithm: KeyAlgorithm
    subject: Subject | None
    sans: tuple[dict[str, str], ...]


def check_csr(pem: str, profile: Profile) -> CheckedCsr:
    (der,) = der_blocks(pem, {"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}, field="csrPem")
    try:
        csr = x509.load_der_x509_csr(der)
        public_key = csr.public_key()
    except ValueError as err:
        raise InvalidInputError("csrPem is not a valid PKCS#10 certificate request", code="InvalidCsr") from err
    if not csr.is_signature_valid:
        raise InvalidInputError("csrPem signature does not verify with its own key", code="InvalidCsr")
    algorithm = key_algorithm_of(public_key, field="csrPem")
    try:
        extensions = list(csr.extensions)
    except ValueError as err:
        raise InvalidInputError("csrPem has malformed extensions", code="InvalidCsr") from err
    sans: list[dict[str, str]] = []
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.BasicConstraints) and value.ca:
            raise InvalidInputError(
                "csrPem asks for a CA certificate (basicConstraints cA)", code="CsrRequestsCaPowers"
            )
        if isinstance(value, x509.KeyUsage) and (value.key_cert_sign or value.crl_sign):
            raise InvalidInputError("csrPem asks for keyCertSign or cRLSign", code="CsrRequestsCaPowers")
        if isinstance(value, x509.NameConstraints):
            raise InvalidInputError("csrPem carries name constraints", code="CsrRequestsCaPowers")
        if isinstance(value, x509.ExtendedKeyUsage):
            asked = {_EKU_NAMES.get(oid, oid.dotted_string) for oid in value}
            outside = asked - set(profile.extended_key_usages)
            if outside:
                raise InvalidInputError(
                    f"csrPem asks for extended key usages outside profile {profile.value}: {', '.join(sorted(outside))}",
                    code="CsrExtendedKeyUsageNotAllowed",
                )
        if isinstance(value, x509.SubjectAlternativeName):
            sans.extend(_san_entries(value))
    return CheckedCsr(public_key, algorithm, _subject_of(csr.subject), tuple(sans))


def _san_entries(value: x509.SubjectAlternativeName) -> list[dict[str, str]]:
    entries = []
    for name in value:
        if isinstance(name, x509.DNSName):
            entries.append({"type": SanType.DNS.value, "value": name.value})
        elif isinstance(name, x509.IPAddress):
            entries.append({"type": SanType.IP.value, "value": str(name.value)})
        elif isinstance(name, x509.UniformResourceIdentifier):
            entries.append({"type": SanType.URI.value, "value": name.value})
        elif isinstance(name, x509.RFC822Name):
            entries.append({"type": SanType.EMAIL.value, "value": name.value})
        else:
            raise InvalidInputError(
                "csrPem has a subject alternative name that is not DNS, IP, URI or email", code="InvalidCsr"
            )
    validate_sans(entries)
    return entries


def _subject_of(name: x509.Name) -> Subject | None:
    if len(name) == 0:
        return None
    raw: dict[str, Any] = {}
    components: list[str] = []
    for rdn in name.rdns:
        if len(rdn) != 1:
            raise InvalidInputError("csrPem subject has a multi-valued RDN", code="InvalidCsr")
        (attribute,) = rdn
        if attribute.oid == NameOID.DOMAIN_COMPONENT and isinstance(attribute.value, str):
            components.append(attribute.value)  # repeatable, in the CSR's order
            continue
        field = _SUBJECT_OIDS.get(attribute.oid)
        if field is None:
            raise InvalidInputError(
                f"csrPem subject attribute {attribute.oid.dotted_string} is not supported", code="InvalidCsr"
            )
        if field in raw:
            raise InvalidInputError(f"csrPem subject repeats {field}", code="InvalidCsr")
        if not isinstance(attribute.value, str):
            raise InvalidInputError(f"csrPem subject {field} is not a string", code="InvalidCsr")
        raw[field] = attribute.value
    if components:
        raw["domainComponent"] = components
    return validate_subject(raw) if "commonName" in raw else None
