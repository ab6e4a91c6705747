"""The inputs of each use case, shape-checked by pydantic; the API uses them as request bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from certwright.domain.authority import CaConfigType
from certwright.domain.certificate import CertificateConfigType, Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import check_text

PemText = Field(default=None, max_length=32 * 1024)
ChainText = Field(default=None, max_length=64 * 1024)


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    @field_validator("name", "description", check_fields=False)
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """Names and descriptions end up in consoles, logs and alert e-mails: no control or bidi characters."""
        if value:
            check_text(value, "name or description", 400)
        return value


class SubjectIn(Command):
    commonName: str = Field(max_length=64)
    organization: str | None = Field(default=None, max_length=64)
    organizationalUnit: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    stateOrProvince: str | None = Field(default=None, max_length=128)
    locality: str | None = Field(default=None, max_length=128)

    def as_dict(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SanIn(Command):
    type: Literal["DNS", "IP"]
    value: str = Field(max_length=253)


class NameConstraintIn(Command):
    permittedDnsSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedDnsSubtrees: list[str] = Field(default_factory=list, max_length=50)
    permittedIpSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedIpSubtrees: list[str] = Field(default_factory=list, max_length=50)


class CaRulesIn(Command):
    leafCertificateMaxValidityDuration: str | None = None
    certificateAuthorityMaxValidityDuration: str | None = None
    pathLengthConstraint: StrictInt | None = None
    nameConstraint: NameConstraintIn | None = None


class CreateAuthority(Command):
    name: str = Field(min_length=1, max_length=255)
    configType: CaConfigType
    issuerCertificateAuthorityId: str | None = Field(default=None, max_length=64)
    subject: SubjectIn
    keyAlgorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    validityDuration: str = "P10Y"
    rules: CaRulesIn | None = None
    description: str = Field(default="", max_length=400)


class CreateAuthorityVersion(Command):
    # Default: as long as the current version's validity.
    validityDuration: str | None = Field(default=None, max_length=40)


class RenewalRuleIn(Command):
    renewalInterval: str
    advanceRenewalPeriod: str
    stage: Literal["CURRENT", "PENDING"] = "CURRENT"


class CreateCertificate(Command):
    name: str = Field(min_length=1, max_length=255)
    configType: CertificateConfigType
    issuerCertificateAuthorityId: str | None = Field(default=None, max_length=64)
    profile: Profile | None = None
    subject: SubjectIn | None = None
    subjectAlternativeNames: list[SanIn] = Field(default_factory=list, max_length=100)
    keyAlgorithm: KeyAlgorithm | None = None
    validityDuration: str | None = None
    csrPem: str | None = PemText
    certificatePem: str | None = PemText
    certChainPem: str | None = ChainText
    privateKeyPem: str | None = PemText
    renewalRule: RenewalRuleIn | None = None
    description: str = Field(default="", max_length=400)
    # ISO-8601 durations before expiry at which CertificateExpiring is raised (default P30D, P7D).
    expiryAlertThresholds: list[str] | None = Field(default=None, max_length=5)


class CreateVersion(Command):
    """Renew now (service-held key), a new CSR, or a new import; CURRENT unless stage is PENDING."""

    stage: Literal["CURRENT", "PENDING"] = "CURRENT"
    validityDuration: str | None = None
    csrPem: str | None = PemText
    certificatePem: str | None = PemText
    certChainPem: str | None = ChainText
    privateKeyPem: str | None = PemText


class UpdateCertificate(Command):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=400)
    renewalRule: RenewalRuleIn | None = None
    expiryAlertThresholds: list[str] | None = Field(default=None, max_length=5)


class RevokeVersion(Command):
    # RFC 5280 reason (OCI names); checked against what is revoked in certwright.domain.revocation.
    revocationReason: str | None = Field(default=None, max_length=40)


class ScheduleDeletion(Command):
    timeOfDeletion: str | None = Field(default=None, max_length=40)


class EndpointIn(Command):
    """Where the associated resource serves the certificate, for the scheduled prober (domain.parse_endpoint)."""

    address: str = Field(min_length=1, max_length=300, description="host:port or [IPv6]:port")
    serverName: str | None = Field(default=None, min_length=1, max_length=253, description="the SNI name to send")


class CreateAssociation(Command):
    # Exactly one: the certificate the resource serves, or the CA bundle it trusts (mTLS).
    certificateId: str | None = Field(default=None, min_length=1, max_length=64)
    caBundleId: str | None = Field(default=None, min_length=1, max_length=64)
    associatedResourceId: str = Field(min_length=1, max_length=1600)
    hostnames: list[str] = Field(default_factory=list, max_length=100)
    # For a load-balancer listener: serve as its default certificate, or as one of its SNI certificates.
    listenerCertificateRole: Literal["DEFAULT", "SNI"] = "DEFAULT"
    # An endpoint the scheduled prober checks (services/probes.py); certificate associations only.
    endpoint: EndpointIn | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CreateAssociation:
        if (self.certificateId is None) == (self.caBundleId is None):
            raise ValueError("give exactly one of certificateId and caBundleId")
        return self
