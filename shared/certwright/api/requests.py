"""The API's request bodies: their shape as the OpenAPI document shows it, and the service command each maps to.

Field names are the wire's (camelCase, as in the API contract); every model forbids unknown fields. A create
body is a union discriminated by `configType`, one model per type, so a field that does not apply to a type
is refused here (`inapplicable` words the answer) and the services never check applicability themselves.
Values are checked for shape and size only; the services validate their meaning (names, durations, PEMs).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator, model_validator

from certwright.domain.authority import CaConfigType
from certwright.domain.ca_bundle import MAX_AUTHORITIES
from certwright.domain.certificate import CertificateConfigType, Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName, check_text
from certwright.domain.signing import SigningAlgorithm
from certwright.domain.tags import Tags, parse_tags
from certwright.services import commands

_PEM = 32 * 1024
_CHAIN = 64 * 1024
Stage = Literal["CURRENT", "PENDING"]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("name", "description", check_fields=False)
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        """Names and descriptions end up in consoles, logs and alert e-mails: no control or bidi characters."""
        if value:
            check_text(value, "name or description", 400)
        return value


# -- parts ------------------------------------------------------------------------------------------------------


class SubjectIn(Request):
    commonName: str = Field(max_length=64)
    organization: str | None = Field(default=None, max_length=64)
    organizationalUnit: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=2)
    stateOrProvince: str | None = Field(default=None, max_length=128)
    locality: str | None = Field(default=None, max_length=128)
    serialNumber: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=64)
    surname: str | None = Field(default=None, max_length=32768)
    givenName: str | None = Field(default=None, max_length=32768)
    initials: str | None = Field(default=None, max_length=32768)
    pseudonym: str | None = Field(default=None, max_length=128)
    generationQualifier: str | None = Field(default=None, max_length=32768)
    distinguishedNameQualifier: str | None = Field(default=None, max_length=64)
    street: str | None = Field(default=None, max_length=128)
    domainComponent: list[str] | None = Field(default=None, max_length=10, description="most significant first")

    def subject(self) -> Subject:
        return Subject(
            common_name=self.commonName,
            organization=self.organization,
            organizational_unit=self.organizationalUnit,
            country=self.country,
            state_or_province=self.stateOrProvince,
            locality=self.locality,
            serial_number=self.serialNumber,
            email=self.email,
            title=self.title,
            surname=self.surname,
            given_name=self.givenName,
            initials=self.initials,
            pseudonym=self.pseudonym,
            generation_qualifier=self.generationQualifier,
            distinguished_name_qualifier=self.distinguishedNameQualifier,
            street=self.street,
            domain_components=tuple(self.domainComponent or ()),
        )


class SanIn(Request):
    type: Literal["DNS", "IP", "URI", "EMAIL"]
    value: str = Field(max_length=2048)

    def san(self) -> SubjectAlternativeName:
        return SubjectAlternativeName(SanType(self.type), self.value)


class NameConstraintIn(Request):
    permittedDnsSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedDnsSubtrees: list[str] = Field(default_factory=list, max_length=50)
    permittedIpSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedIpSubtrees: list[str] = Field(default_factory=list, max_length=50)
    permittedUriSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedUriSubtrees: list[str] = Field(default_factory=list, max_length=50)
    permittedEmailSubtrees: list[str] = Field(default_factory=list, max_length=50)
    excludedEmailSubtrees: list[str] = Field(default_factory=list, max_length=50)

    def spec(self) -> commands.NameConstraintSpec:
        return commands.NameConstraintSpec(
            permitted_uri=tuple(self.permittedUriSubtrees),
            excluded_uri=tuple(self.excludedUriSubtrees),
            permitted_email=tuple(self.permittedEmailSubtrees),
            excluded_email=tuple(self.excludedEmailSubtrees),
            permitted_dns=tuple(self.permittedDnsSubtrees),
            excluded_dns=tuple(self.excludedDnsSubtrees),
            permitted_ip=tuple(self.permittedIpSubtrees),
            excluded_ip=tuple(self.excludedIpSubtrees),
        )


class CaRulesIn(Request):
    leafCertificateMaxValidityDuration: str | None = None
    certificateAuthorityMaxValidityDuration: str | None = None
    pathLengthConstraint: StrictInt | None = None
    nameConstraint: NameConstraintIn | None = None

    def spec(self) -> commands.CaRulesSpec:
        return commands.CaRulesSpec(
            leaf_max_validity=self.leafCertificateMaxValidityDuration,
            ca_max_validity=self.certificateAuthorityMaxValidityDuration,
            path_length=self.pathLengthConstraint,
            name_constraint=self.nameConstraint.spec() if self.nameConstraint else None,
        )


class RenewalRuleIn(Request):
    renewalInterval: str
    advanceRenewalPeriod: str
    stage: Stage = "CURRENT"

    def spec(self) -> commands.RenewalRuleSpec:
        return commands.RenewalRuleSpec(
            renewal_interval=self.renewalInterval, advance_renewal_period=self.advanceRenewalPeriod, stage=self.stage
        )


def _thresholds(raw: list[str] | None) -> tuple[str, ...] | None:
    return None if raw is None else tuple(raw)


TagsIn = Annotated[
    dict[str, str] | None,
    Field(
        default=None,
        description="freeform tags, key -> value: at most 50; keys 1-128 and values 0-256 characters of letters, "
        "digits, spaces and _ . : / = + - @; keys are case-sensitive and may not start with aws:",
    ),
]


def _tags(raw: dict[str, str] | None) -> Tags:
    return parse_tags(raw or {})


# -- certificate authorities ----------------------------------------------------------------------------------


class CrlSettingsIn(Request):
    enabled: StrictBool = True
    validityDuration: str | None = Field(default=None, max_length=40, description="PT1H..P90D; default the service's")
    customFormattedUrls: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="http(s) URLs written into the CRL distribution points; placeholders {caVersion} (or {}) and {caId}",
    )

    def spec(self) -> commands.CrlSettingsSpec:
        return commands.CrlSettingsSpec(
            enabled=self.enabled,
            validity_duration=self.validityDuration,
            custom_formatted_urls=tuple(self.customFormattedUrls),
        )


class CrlSettingsPatchIn(Request):
    """crlSettings in a PATCH: only the fields named change; validityDuration null returns to the service's."""

    enabled: StrictBool | None = None
    validityDuration: str | None = Field(default=None, max_length=40, description="PT1H..P90D; null: the service's")
    customFormattedUrls: list[str] | None = Field(default=None, max_length=5, description="replaces the list")

    def patch(self) -> commands.CrlSettingsPatch:
        urls = self.customFormattedUrls
        return commands.CrlSettingsPatch(
            enabled=self.enabled,
            validity_named="validityDuration" in self.model_fields_set,
            validity_duration=self.validityDuration,
            custom_formatted_urls=None if urls is None else tuple(urls),
        )


class _AuthorityFields(Request):
    name: str = Field(min_length=1, max_length=255)
    subject: SubjectIn
    keyAlgorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    validityDuration: str | None = Field(
        default=None, description="ISO-8601; default P10Y (a subordinate's is cut to fit inside its issuer)"
    )
    rules: CaRulesIn | None = None
    signingAlgorithm: SigningAlgorithm | None = Field(
        default=None, description="default: SHA256_WITH_RSA for RSA keys, SHA256/384_WITH_ECDSA for P-256/P-384"
    )
    kmsKeyId: str | None = Field(
        default=None, min_length=1, max_length=2048, description="an existing asymmetric SIGN_VERIFY KMS key"
    )
    crlSettings: CrlSettingsIn | None = None
    description: str = Field(default="", max_length=400)
    freeformTags: TagsIn = None

    def _command(self, config_type: CaConfigType, issuer_id: str | None) -> commands.CreateAuthority:
        return commands.CreateAuthority(
            name=self.name,
            config_type=config_type,
            subject=self.subject.subject(),
            issuer_id=issuer_id,
            key_algorithm=self.keyAlgorithm,
            validity_duration=self.validityDuration,
            rules=self.rules.spec() if self.rules else None,
            freeform_tags=_tags(self.freeformTags),
            description=self.description,
            signing_algorithm=self.signingAlgorithm,
            kms_key_id=self.kmsKeyId,
            crl_settings=self.crlSettings.spec() if self.crlSettings else None,
        )


class CreateRootAuthority(_AuthorityFields):
    configType: Literal[CaConfigType.ROOT_CA_GENERATED_INTERNALLY]

    def command(self) -> commands.CreateAuthority:
        return self._command(self.configType, None)


class CreateSubordinateAuthority(_AuthorityFields):
    configType: Literal[CaConfigType.SUBORDINATE_CA_ISSUED_BY_INTERNAL_CA]
    issuerCertificateAuthorityId: str = Field(min_length=1, max_length=64)

    def command(self) -> commands.CreateAuthority:
        return self._command(self.configType, self.issuerCertificateAuthorityId)


class CreateExternalRootAuthority(Request):
    """An imported root certificate (no key): a trust anchor for CA bundles and externally signed subordinates."""

    configType: Literal[CaConfigType.ROOT_CA_MANAGED_EXTERNALLY]
    name: str = Field(min_length=1, max_length=255)
    certificatePem: str = Field(min_length=1, max_length=_PEM)
    description: str = Field(default="", max_length=400)

    def command(self) -> commands.ImportExternalRoot:
        return commands.ImportExternalRoot(
            name=self.name, certificate_pem=self.certificatePem, description=self.description
        )


class LeafRuleIn(Request):
    leafCertificateMaxValidityDuration: str | None = Field(default=None, max_length=40)


class CreateExternallyIssuedSubordinate(Request):
    """A CA whose key is created in KMS and whose certificate an outside CA signs (GET .../csr, then
    POST .../actions/import-certificate). Path length and name constraints come from that certificate."""

    configType: Literal[CaConfigType.SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA]
    name: str = Field(min_length=1, max_length=255)
    subject: SubjectIn
    keyAlgorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    parentCertificateAuthorityId: str = Field(min_length=1, max_length=64)
    rules: LeafRuleIn | None = None
    description: str = Field(default="", max_length=400)

    def command(self) -> commands.CreateExternallyIssuedSubordinate:
        return commands.CreateExternallyIssuedSubordinate(
            name=self.name,
            subject=self.subject.subject(),
            parent_id=self.parentCertificateAuthorityId,
            key_algorithm=self.keyAlgorithm,
            leaf_max_validity=self.rules.leafCertificateMaxValidityDuration if self.rules else None,
            description=self.description,
        )


class ImportCaCertificate(Request):
    certificatePem: str = Field(min_length=1, max_length=_PEM)
    chainPem: str = Field(default="", max_length=_CHAIN)


CreateAuthorityRequest = Annotated[
    CreateRootAuthority | CreateSubordinateAuthority | CreateExternalRootAuthority | CreateExternallyIssuedSubordinate,
    Field(discriminator="configType"),
]


class CreateAuthorityVersion(Request):
    # Default: as long as the current version's validity.
    validityDuration: str | None = Field(default=None, max_length=40)
    # ROOT_CA_MANAGED_EXTERNALLY only (and required there): the re-issued root, same subject and key.
    certificatePem: str | None = Field(default=None, min_length=1, max_length=_PEM)
    # PENDING: the new version waits (LATEST, PENDING) until POST .../versions/{n}/actions/promote.
    stage: Stage = "CURRENT"


class UpdatableCaRulesIn(Request):
    """The rules a PATCH may change (docs/certificate-authorities.md says why the others may not); null removes
    the limit. pathLengthConstraint and nameConstraint are accepted only to be refused with RuleNotUpdatable."""

    leafCertificateMaxValidityDuration: str | None = Field(default=None, max_length=40)
    certificateAuthorityMaxValidityDuration: str | None = Field(default=None, max_length=40)
    pathLengthConstraint: StrictInt | None = None
    nameConstraint: NameConstraintIn | None = None


class UpdateAuthority(Request):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=400)
    rules: UpdatableCaRulesIn | None = None
    crlSettings: CrlSettingsPatchIn | None = None

    def command(self) -> commands.UpdateAuthority:
        rules = None if self.rules is None else self.rules.model_dump(include=self.rules.model_fields_set)
        crls = None if self.crlSettings is None else self.crlSettings.patch()
        return commands.UpdateAuthority(name=self.name, description=self.description, rules=rules, crl_settings=crls)


# -- certificates -----------------------------------------------------------------------------------------------


class _InternalCaFields(Request):
    """What every certificate an internal CA signs has: its issuer, profile, names, validity, renewal."""

    name: str = Field(min_length=1, max_length=255)
    issuerCertificateAuthorityId: str = Field(min_length=1, max_length=64)
    profile: Profile
    subjectAlternativeNames: list[SanIn] = Field(default_factory=list, max_length=100)
    keyAlgorithm: KeyAlgorithm | None = None
    validityDuration: str | None = Field(default=None, description="ISO-8601; default P90D")
    renewalRule: RenewalRuleIn | None = None
    description: str = Field(default="", max_length=400)
    # ISO-8601 durations before expiry at which CertificateExpiring is raised (default P30D, P7D).
    expiryAlertThresholds: list[str] | None = Field(default=None, max_length=5)
    freeformTags: TagsIn = None
    signingAlgorithm: SigningAlgorithm | None = Field(default=None, description="default: the issuing CA's")

    def _fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "issuer_id": self.issuerCertificateAuthorityId,
            "profile": self.profile,
            "sans": tuple(s.san() for s in self.subjectAlternativeNames),
            "key_algorithm": self.keyAlgorithm,
            "validity_duration": self.validityDuration,
            "renewal_rule": self.renewalRule.spec() if self.renewalRule else None,
            "description": self.description,
            "expiry_alert_thresholds": _thresholds(self.expiryAlertThresholds),
            "freeform_tags": _tags(self.freeformTags),
            "signing_algorithm": self.signingAlgorithm,
        }


class IssueCertificateRequest(_InternalCaFields):
    """The service generates and holds the key."""

    configType: Literal[CertificateConfigType.ISSUED_BY_INTERNAL_CA]
    subject: SubjectIn

    def command(self) -> commands.IssueCertificate:
        return commands.IssueCertificate(subject=self.subject.subject(), **self._fields())


class SignCsrRequest(_InternalCaFields):
    """The requester holds the key; subject and names default to the CSR's."""

    configType: Literal[CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA]
    csrPem: str = Field(max_length=_PEM)
    subject: SubjectIn | None = None

    def command(self) -> commands.SignCsr:
        subject = self.subject.subject() if self.subject else None
        return commands.SignCsr(csr_pem=self.csrPem, subject=subject, **self._fields())


class ImportCertificateRequest(Request):
    """Issued elsewhere: its names, key algorithm and validity are the certificate's own."""

    configType: Literal[CertificateConfigType.IMPORTED]
    name: str = Field(min_length=1, max_length=255)
    certificatePem: str = Field(max_length=_PEM)
    certChainPem: str = Field(max_length=_CHAIN)
    privateKeyPem: str = Field(max_length=_PEM)
    description: str = Field(default="", max_length=400)
    expiryAlertThresholds: list[str] | None = Field(default=None, max_length=5)
    freeformTags: TagsIn = None

    def command(self) -> commands.ImportCertificate:
        return commands.ImportCertificate(
            name=self.name,
            certificate_pem=self.certificatePem,
            chain_pem=self.certChainPem,
            private_key_pem=self.privateKeyPem,
            description=self.description,
            expiry_alert_thresholds=_thresholds(self.expiryAlertThresholds),
            freeform_tags=_tags(self.freeformTags),
        )


CreateCertificateRequest = Annotated[
    IssueCertificateRequest | SignCsrRequest | ImportCertificateRequest, Field(discriminator="configType")
]


class CreateVersion(Request):
    """Renew now (service-held key), a new CSR, or a new import; CURRENT unless stage is PENDING.

    Which one the certificate takes depends on its configType: the service refuses the others.
    """

    stage: Stage = "CURRENT"
    validityDuration: str | None = None
    csrPem: str | None = Field(default=None, max_length=_PEM)
    certificatePem: str | None = Field(default=None, max_length=_PEM)
    certChainPem: str | None = Field(default=None, max_length=_CHAIN)
    privateKeyPem: str | None = Field(default=None, max_length=_PEM)

    @model_validator(mode="after")
    def _one_kind(self) -> CreateVersion:
        imported = (self.certificatePem, self.certChainPem, self.privateKeyPem)
        if any(p is not None for p in imported):
            if self.csrPem is not None:
                raise ValueError("a new version is a new CSR (csrPem) or a new import, not both")
            if self.validityDuration:
                raise ValueError("validityDuration does not apply to an import (its certificate has its own)")
            if any(p is None for p in imported):
                raise ValueError("a new import needs certificatePem, certChainPem and privateKeyPem")
        return self

    def command(self, certificate_id: str) -> commands.NewVersion:
        if self.certificatePem is not None and self.certChainPem is not None and self.privateKeyPem is not None:
            return commands.ReimportCertificate(
                certificate_id=certificate_id,
                certificate_pem=self.certificatePem,
                chain_pem=self.certChainPem,
                private_key_pem=self.privateKeyPem,
                stage=self.stage,
            )
        if self.csrPem is not None:
            return commands.RenewWithCsr(
                certificate_id=certificate_id,
                csr_pem=self.csrPem,
                stage=self.stage,
                validity_duration=self.validityDuration,
            )
        return commands.RenewCertificate(
            certificate_id=certificate_id, stage=self.stage, validity_duration=self.validityDuration
        )


class UpdateCertificate(Request):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=400)
    renewalRule: RenewalRuleIn | None = None
    expiryAlertThresholds: list[str] | None = Field(default=None, max_length=5)
    # The whole new tag set: it replaces the old one ({} removes every tag).
    freeformTags: TagsIn = None

    def command(self) -> commands.UpdateCertificate:
        return commands.UpdateCertificate(
            name=self.name,
            description=self.description,
            renewal_rule=self.renewalRule.spec() if self.renewalRule else None,
            expiry_alert_thresholds=_thresholds(self.expiryAlertThresholds),
            freeform_tags=None if self.freeformTags is None else _tags(self.freeformTags),
        )


class RevokeVersion(Request):
    # RFC 5280 reason (OCI names); checked against what is revoked in certwright.domain.revocation.
    revocationReason: str | None = Field(default=None, max_length=40)

    def command(self) -> commands.RevokeVersion:
        return commands.RevokeVersion(revocation_reason=self.revocationReason)


class ScheduleDeletion(Request):
    timeOfDeletion: str | None = Field(default=None, max_length=40)

    def command(self) -> commands.ScheduleDeletion:
        return commands.ScheduleDeletion(time_of_deletion=self.timeOfDeletion)


# -- associations, CA bundles, grants ---------------------------------------------------------------------------


class EndpointIn(Request):
    """Where the associated resource serves the certificate, for the scheduled prober (domain.parse_endpoint)."""

    address: str = Field(min_length=1, max_length=300, description="host:port or [IPv6]:port")
    serverName: str | None = Field(default=None, min_length=1, max_length=253, description="the SNI name to send")


class CreateAssociation(Request):
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

    def command(self) -> commands.CreateAssociation:
        return commands.CreateAssociation(
            associated_resource_id=self.associatedResourceId,
            certificate_id=self.certificateId,
            ca_bundle_id=self.caBundleId,
            hostnames=tuple(self.hostnames),
            listener_role=self.listenerCertificateRole,
            endpoint=(
                commands.EndpointSpec(address=self.endpoint.address, server_name=self.endpoint.serverName)
                if self.endpoint is not None
                else None
            ),
        )


class CreateCaBundle(Request):
    name: str = Field(min_length=1, max_length=255)
    description: str = Field(default="", max_length=400)
    caBundlePem: str | None = Field(default=None, max_length=_CHAIN)
    certificateAuthorityIds: list[str] = Field(default_factory=list, max_length=MAX_AUTHORITIES)
    # Each CA's chain up to its root too, so verifiers that need a self-signed anchor accept its leaves.
    includeCertificateAuthorityChain: bool = True
    freeformTags: TagsIn = None

    def command(self) -> commands.CreateCaBundle:
        return commands.CreateCaBundle(
            name=self.name,
            description=self.description,
            bundle_pem=self.caBundlePem,
            authority_ids=tuple(self.certificateAuthorityIds),
            include_chain=self.includeCertificateAuthorityChain,
            freeform_tags=_tags(self.freeformTags),
        )


class CreateCaBundleVersion(Request):
    """New sources for a bundle: what is given replaces that kind of source; what is omitted is kept."""

    caBundlePem: str | None = Field(default=None, max_length=_CHAIN)
    certificateAuthorityIds: list[str] | None = Field(default=None, max_length=MAX_AUTHORITIES)

    @model_validator(mode="after")
    def _something(self) -> CreateCaBundleVersion:
        if self.caBundlePem is None and self.certificateAuthorityIds is None:
            raise ValueError("give caBundlePem, certificateAuthorityIds or both")
        return self

    def command(self) -> commands.CreateCaBundleVersion:
        ids = self.certificateAuthorityIds
        return commands.CreateCaBundleVersion(
            bundle_pem=self.caBundlePem, authority_ids=None if ids is None else tuple(ids)
        )


class ReplaceTags(Request):
    """PUT .../tags: the whole new tag set of a CA or CA bundle ({} removes every tag)."""

    freeformTags: dict[str, str] = Field(description="key -> value; validated like AWS tags (see freeformTags)")

    def tags(self) -> Tags:
        return _tags(self.freeformTags)


class CreateGrant(Request):
    resourceId: str = Field(min_length=1, max_length=64)
    principalArn: str = Field(min_length=1, max_length=2048)
    role: Literal["ISSUER", "MANAGER", "READER"]

    def command(self) -> commands.CreateGrant:
        return commands.CreateGrant(resource_id=self.resourceId, principal_arn=self.principalArn, role=self.role)


# -- a field of another configType ------------------------------------------------------------------------------

_VARIANTS: tuple[tuple[type[BaseModel], ...], ...] = (
    (CreateRootAuthority, CreateSubordinateAuthority),
    (IssueCertificateRequest, SignCsrRequest, ImportCertificateRequest),
)


def _other_fields() -> dict[str, frozenset[str]]:
    """For each configType, the fields that only the union's other types take."""
    table: dict[str, frozenset[str]] = {}
    for union in _VARIANTS:
        every = frozenset(name for model in union for name in model.model_fields)
        for model in union:
            tag = model.model_fields["configType"].annotation.__args__[0].value  # type: ignore[union-attr]
            table[tag] = every - frozenset(model.model_fields)
    return table


OTHER_FIELDS = _other_fields()


def inapplicable(tag: str, field: str) -> str | None:
    """The answer to `field` given in a body of configType `tag` when another configType takes it, else None."""
    if field in OTHER_FIELDS.get(tag, frozenset()):
        return f"{field} does not apply to configType {tag}"
    return None


# -- hosts ------------------------------------------------------------------------------------------------------

MAX_POLL_FILTER = 100


class PollBundles(Request):
    """`{}` for every association of the caller, or only those of some certificates."""

    certificateIds: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=MAX_POLL_FILTER
    )


class ReportDeployment(Request):
    versionNumber: StrictInt = Field(ge=1, le=10**8 - 1)
    state: Literal["DEPLOYED", "FAILED"]
    verified: StrictBool = False
    reason: str | None = Field(default=None, max_length=4096, description="why it failed (FAILED only)")

    def command(self) -> commands.ReportDeployment:
        return commands.ReportDeployment(
            version_number=self.versionNumber, state=self.state, verified=self.verified, reason=self.reason
        )


class CreateEabKey(Request):
    """POST /acme/eab-keys: an EAB key for the caller, optionally only for one CA's ACME directory."""

    certificateAuthorityId: str | None = Field(default=None, min_length=1, max_length=64)
