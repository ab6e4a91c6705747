"""The inputs of each use case, one frozen dataclass per operation, in the services' own (snake_case) terms.

The API edge (certwright.api.requests) checks a request's shape and maps it to one of these; internal callers
(the renewal sweep, revocation's replacement, the bench) build them directly. Values are as given: the services
validate and normalize them (names, durations, PEMs) against the state they read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from certwright.domain.authority import CaConfigType
from certwright.domain.certificate import Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject, SubjectAlternativeName
from certwright.domain.signing import SigningAlgorithm
from certwright.domain.tags import Tags

StageName = Literal["CURRENT", "PENDING"]

# -- certificate authorities --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NameConstraintSpec:
    permitted_dns: tuple[str, ...] = ()
    excluded_dns: tuple[str, ...] = ()
    permitted_ip: tuple[str, ...] = ()
    excluded_ip: tuple[str, ...] = ()
    permitted_uri: tuple[str, ...] = ()
    excluded_uri: tuple[str, ...] = ()
    permitted_email: tuple[str, ...] = ()
    excluded_email: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CaRulesSpec:
    leaf_max_validity: str | None = None
    ca_max_validity: str | None = None
    path_length: int | None = None
    name_constraint: NameConstraintSpec | None = None


@dataclass(frozen=True, kw_only=True)
class CrlSettingsSpec:
    enabled: bool = True
    validity_duration: str | None = None
    custom_formatted_urls: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CrlSettingsPatch:
    """The crlSettings fields a PATCH named: None leaves enabled / the URLs as they are; the validity changes only
    when `validity_named` (then None returns it to the service's)."""

    enabled: bool | None = None
    validity_named: bool = False
    validity_duration: str | None = None
    custom_formatted_urls: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class CreateAuthority:
    """A root (no issuer) or a subordinate of `issuer_id`; `validity_duration` None: P10Y, fitted for a subordinate."""

    name: str
    config_type: CaConfigType
    subject: Subject
    issuer_id: str | None = None
    key_algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    validity_duration: str | None = None
    rules: CaRulesSpec | None = None
    # Validated (certwright.domain.tags.parse_tags) where the command is built.
    freeform_tags: Tags = ()
    description: str = ""
    # What the CA signs with (None: the default for its key); checked against the key.
    signing_algorithm: SigningAlgorithm | None = None
    # An existing KMS key to use instead of creating one (checked: spec, usage, state, access).
    kms_key_id: str | None = None
    crl_settings: CrlSettingsSpec | None = None


@dataclass(frozen=True, kw_only=True)
class ImportExternalRoot:
    """A ROOT_CA_MANAGED_EXTERNALLY: the root certificate of a CA whose key lives outside Certwright."""

    name: str
    certificate_pem: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class CreateExternallyIssuedSubordinate:
    """A SUBORDINATE_CA_MANAGED_INTERNALLY_ISSUED_BY_EXTERNAL_CA below the external root `parent_id`."""

    name: str
    subject: Subject
    parent_id: str
    key_algorithm: KeyAlgorithm = KeyAlgorithm.ECDSA_P256
    leaf_max_validity: str | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class UpdateAuthority:
    """PATCH of a CA: None leaves a field as it is; `rules` maps a rule's API name to its new duration (None: no
    limit) and holds only the rules the request named."""

    name: str | None = None
    description: str | None = None
    rules: dict[str, str | None] | None = None
    crl_settings: CrlSettingsPatch | None = None


# -- certificates -------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RenewalRuleSpec:
    renewal_interval: str
    advance_renewal_period: str
    stage: StageName = "CURRENT"


@dataclass(frozen=True, kw_only=True)
class IssueCertificate:
    """A certificate whose key the service generates and holds (ISSUED_BY_INTERNAL_CA)."""

    name: str
    issuer_id: str
    profile: Profile
    subject: Subject | None
    sans: tuple[SubjectAlternativeName, ...] = ()
    key_algorithm: KeyAlgorithm | None = None
    validity_duration: str | None = None
    renewal_rule: RenewalRuleSpec | None = None
    description: str = ""
    # ISO-8601 durations before expiry at which CertificateExpiring is raised (None: the defaults).
    expiry_alert_thresholds: tuple[str, ...] | None = None
    freeform_tags: Tags = ()
    # Overrides the issuing CA's signing algorithm for every version (None: the CA's).
    signing_algorithm: SigningAlgorithm | None = None


@dataclass(frozen=True, kw_only=True)
class SignCsr(IssueCertificate):
    """A certificate for the key in a CSR, held by its requester (MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA).

    An omitted subject or SAN list is taken from the CSR; a key algorithm, if given, must match the CSR's key.
    """

    csr_pem: str


@dataclass(frozen=True, kw_only=True)
class ImportCertificate:
    """A certificate issued elsewhere, with its chain and private key (IMPORTED)."""

    name: str
    certificate_pem: str
    chain_pem: str
    private_key_pem: str
    description: str = ""
    expiry_alert_thresholds: tuple[str, ...] | None = None
    freeform_tags: Tags = ()


NewCertificate = IssueCertificate | SignCsr | ImportCertificate


@dataclass(frozen=True, kw_only=True)
class RenewCertificate:
    """A new version under the service-held key's certificate (a fresh key, the same names and rules)."""

    certificate_id: str
    stage: StageName = "CURRENT"
    # None: the certificate's own validity duration.
    validity_duration: str | None = None


@dataclass(frozen=True, kw_only=True)
class RenewWithCsr:
    """A new version of a CSR-managed certificate, for the key (and names) of a new CSR."""

    certificate_id: str
    csr_pem: str
    stage: StageName = "CURRENT"
    validity_duration: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReimportCertificate:
    """A new version of an imported certificate: the next certificate, chain and key issued elsewhere."""

    certificate_id: str
    certificate_pem: str
    chain_pem: str
    private_key_pem: str
    stage: StageName = "CURRENT"


NewVersion = RenewCertificate | RenewWithCsr | ReimportCertificate


@dataclass(frozen=True, kw_only=True)
class UpdateCertificate:
    """Only what is given (not None) changes; at least one field must be."""

    name: str | None = None
    description: str | None = None
    renewal_rule: RenewalRuleSpec | None = None
    expiry_alert_thresholds: tuple[str, ...] | None = None
    # The whole new tag set (replaces the old one; {} removes every tag).
    freeform_tags: Tags | None = None


@dataclass(frozen=True, kw_only=True)
class RevokeVersion:
    # RFC 5280 reason (OCI names); checked against what is revoked in certwright.domain.revocation.
    revocation_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ScheduleDeletion:
    # ISO-8601 with a time zone; None: the default grace period from now.
    time_of_deletion: str | None = None


# -- associations, CA bundles, grants -----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class EndpointSpec:
    """Where the associated resource serves the certificate (validated by domain.association.parse_endpoint)."""

    address: str
    server_name: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateAssociation:
    """The resource `associated_resource_id` serves certificate `certificate_id`, or trusts CA bundle `ca_bundle_id`."""

    associated_resource_id: str
    certificate_id: str | None = None
    ca_bundle_id: str | None = None
    hostnames: tuple[str, ...] = ()
    # For a load-balancer listener: serve as its default certificate, or as one of its SNI certificates.
    listener_role: Literal["DEFAULT", "SNI"] = "DEFAULT"
    # An endpoint the scheduled prober checks (services/probes.py); certificate associations only.
    endpoint: EndpointSpec | None = None


@dataclass(frozen=True, kw_only=True)
class CreateCaBundle:
    name: str
    description: str = ""
    bundle_pem: str | None = None
    authority_ids: tuple[str, ...] = ()
    # Each CA's chain up to its root too, so verifiers that need a self-signed anchor accept its leaves.
    include_chain: bool = True
    freeform_tags: Tags = ()


@dataclass(frozen=True, kw_only=True)
class CreateCaBundleVersion:
    """New sources for a bundle: what is given replaces that kind of source; what is None is kept."""

    bundle_pem: str | None = None
    authority_ids: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class CreateGrant:
    resource_id: str
    principal_arn: str
    role: Literal["ISSUER", "MANAGER", "READER"]


# -- hosts ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportDeployment:
    """The association's host installed `version_number` (DEPLOYED, verified by a handshake or not) or could not
    (FAILED, with the reason)."""

    version_number: int
    state: Literal["DEPLOYED", "FAILED"]
    verified: bool = False
    reason: str | None = None
