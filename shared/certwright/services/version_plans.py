"""What a certificate version will be, decided before any side effect: a request checked against its issuer's
rules, its CSR or its imported certificate, and the key-compromise ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from certwright.domain.authority import (
    CertificateAuthority,
    Validity,
    check_leaf_validity,
    check_name_constraints,
    ensure_can_issue,
)
from certwright.domain.certificate import Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import (
    SanType,
    Subject,
    SubjectAlternativeName,
    looks_like_dns_name,
    normalize_dns_name,
    validate_sans,
    validate_subject,
)
from certwright.domain.signing import SigningAlgorithm, check_signing_algorithm
from certwright.errors import CertwrightError, InvalidInputError, PolicyViolationError
from certwright.ports import Store
from certwright.services.authorities import AuthorityService
from certwright.x509.builder import backdated
from certwright.x509.csr import check_csr
from certwright.x509.imported import check_import
from certwright.x509.keys import spki_fingerprint

DEFAULT_VALIDITY = "P90D"
MAX_CACHED_ISSUERS = 64


@dataclass(frozen=True)
class Plan:
    """Everything needed to produce one version, decided before any side effect."""

    subject: Subject
    sans: tuple[SubjectAlternativeName, ...]
    key_algorithm: KeyAlgorithm
    validity: Validity
    public_key: PublicKeyTypes | None = None
    private_key_der: bytes | None = None
    issuer: CertificateAuthority | None = None
    certificate_pem: str | None = None
    chain_pems: tuple[str, ...] = ()
    # Overrides the issuer's signing algorithm (checked against the issuer's key); None: the issuer's.
    signing_algorithm: SigningAlgorithm | None = None


class VersionPlanner:
    """Pure checks (reads only): each method returns a Plan or raises the typed error the caller sees."""

    def __init__(self, store: Store, authorities: AuthorityService, *, backdate: timedelta = timedelta(0)) -> None:
        self._store = store
        self._authorities = authorities
        # notBefore lies this far before the issue time (Settings.not_before_backdate).
        self._backdate = backdate
        # Issuers as last read, by id: rules and key are checked on them, and the write is conditional on them.
        self._issuers: dict[str, CertificateAuthority] = {}

    def _read_issuer(self, issuer_id: str) -> CertificateAuthority:
        self._issuers.pop(issuer_id, None)
        issuer = self._authorities.get(issuer_id)
        if len(self._issuers) >= MAX_CACHED_ISSUERS:
            self._issuers.clear()
        self._issuers[issuer_id] = issuer
        return issuer

    def _checked_against(
        self,
        issuer: CertificateAuthority,
        sans: tuple[SubjectAlternativeName, ...],
        duration: Duration,
        now: datetime,
    ) -> Validity:
        """The validity to sign, once `issuer` may issue it for `sans`."""
        ensure_can_issue(issuer, now)
        validity = Validity.starting(now, duration)
        check_leaf_validity(issuer, validity, duration)
        check_name_constraints(issuer, sans)
        # Rules count from the issue time; only then is notBefore backdated (never before the issuer's).
        assert issuer.current_version is not None  # ensure_can_issue
        return backdated(validity, self._backdate, issuer.current_version.validity.not_before)

    def internal(
        self,
        *,
        issuer_id: str | None,
        profile: Profile | None,
        subject: Subject | None,
        sans: tuple[SubjectAlternativeName, ...],
        key_algorithm: KeyAlgorithm | None,
        validity_text: str | None,
        csr_pem: str | None,
        now: datetime,
        fresh: bool = False,
        signing_algorithm: SigningAlgorithm | None = None,
    ) -> tuple[Plan, Duration]:
        """A version signed by an internal CA: for a key the service will generate, or for a CSR's key.

        The issuer may come from this planner's cache (`fresh`: read it again); the plan's serial claim then
        holds only while the issuer's row is still at the version checked here (SerialClaim.issuer_row_version).
        """
        if not issuer_id:
            raise InvalidInputError("issuerCertificateAuthorityId is required")
        if profile is None:
            raise InvalidInputError("profile is required")
        duration = Duration.parse(validity_text or DEFAULT_VALIDITY, field="validityDuration")
        public_key: PublicKeyTypes | None = None
        subject_raw = subject.as_dict() if subject is not None else None
        sans_raw = [s.as_dict() for s in sans]
        if csr_pem is not None:
            checked = check_csr(csr_pem, profile)
            if key_algorithm is not None and key_algorithm is not checked.key_algorithm:
                raise InvalidInputError(
                    f"keyAlgorithm {key_algorithm} does not match the CSR's key ({checked.key_algorithm})"
                )
            key_algorithm, public_key = checked.key_algorithm, checked.public_key
            self._refuse_compromised(public_key, "csrPem")
            if subject_raw is None and checked.subject is not None:
                subject_raw = checked.subject.as_dict()
            if not sans_raw:
                sans_raw = list(checked.sans)
        if subject_raw is None:
            raise InvalidInputError("subject is required")
        valid_subject = validate_subject(subject_raw)
        valid_sans = _with_common_name(validate_sans(sans_raw), valid_subject, profile)
        check_sans_for_profile(valid_sans, profile)
        issuer = None if fresh else self._issuers.get(issuer_id)
        validity = None
        if issuer is not None:
            try:
                validity = self._checked_against(issuer, valid_sans, duration, now)
            except CertwrightError:
                issuer = None  # perhaps only the cached copy refuses: decide on a fresh read
        if issuer is None or validity is None:
            issuer = self._read_issuer(issuer_id)
            validity = self._checked_against(issuer, valid_sans, duration, now)
        if signing_algorithm is not None:
            check_signing_algorithm(issuer.key_algorithm, signing_algorithm, field="signingAlgorithm")
        algorithm = key_algorithm or KeyAlgorithm.ECDSA_P256
        plan = Plan(
            valid_subject,
            valid_sans,
            algorithm,
            validity,
            public_key,
            issuer=issuer,
            signing_algorithm=signing_algorithm,
        )
        return plan, duration

    def imported(self, certificate_pem: str, chain_pem: str, key_pem: str, now: datetime) -> Plan:
        """A version issued elsewhere: its certificate, chain and key checked against each other and `now`."""
        if not (certificate_pem and chain_pem and key_pem):
            raise InvalidInputError("an import needs certificatePem, certChainPem and privateKeyPem")
        checked = check_import(certificate_pem, chain_pem, key_pem, now)
        self._refuse_compromised(checked.certificate.public_key(), "certificatePem")
        pem = checked.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
        chain = tuple(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in checked.chain)
        validity = Validity(checked.certificate.not_valid_before_utc, checked.certificate.not_valid_after_utc)
        return Plan(
            checked.subject,
            checked.sans,
            checked.key_algorithm,
            validity,
            private_key_der=checked.private_key_der,
            certificate_pem=pem,
            chain_pems=chain,
        )

    def _refuse_compromised(self, public_key: PublicKeyTypes, field: str) -> None:
        if self._store.key_compromised(spki_fingerprint(public_key)):
            raise PolicyViolationError(
                f"{field}: this key was revoked for keyCompromise and cannot be certified again",
                code="KeyCompromised",
            )


def check_sans_for_profile(sans: tuple[SubjectAlternativeName, ...], profile: Profile) -> None:
    """URI SANs (SPIFFE IDs) only in TLS profiles; email SANs only where the certificate authenticates a client."""
    for san in sans:
        if san.type is SanType.URI and profile is Profile.TLS_CODE_SIGN:
            raise InvalidInputError(
                f"profile {profile.value} takes no URI subject alternative name", code="SanNotAllowedForProfile"
            )
        if san.type is SanType.EMAIL and "clientAuth" not in profile.extended_key_usages:
            raise InvalidInputError(
                f"profile {profile.value} takes no email subject alternative name (TLS_CLIENT, TLS_SERVER_OR_CLIENT)",
                code="SanNotAllowedForProfile",
            )


def _with_common_name(
    sans: tuple[SubjectAlternativeName, ...], subject: Subject, profile: Profile
) -> tuple[SubjectAlternativeName, ...]:
    """Server certificates name their host in the SANs; a DNS-like commonName is added when missing."""
    if not profile.serves_tls:
        return sans
    names = {s.value for s in sans}
    if subject.common_name.lower() in names:
        return sans
    if looks_like_dns_name(subject.common_name):
        return (SubjectAlternativeName(SanType.DNS, normalize_dns_name(subject.common_name)), *sans)
    if not sans:
        raise InvalidInputError(
            f"profile {profile.value} needs a DNS or IP subject alternative name (or a commonName that is a host name)"
        )
    return sans
