"""Certificate issuance use cases: a new certificate (issued, CSR-signed or imported), a new version, a renewal.

Each one checks everything first (certwright.services.version_plans: nothing is written until every check has
passed), then hands the plan to certwright.services.version_writer, which reserves, signs and publishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from certwright.authorization.identity import normalize_arn
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion
from certwright.domain.durations import Duration
from certwright.domain.publication import PublicationUrls
from certwright.domain.renewal import RenewalRule
from certwright.domain.sweep import DEFAULT_THRESHOLDS, parse_thresholds
from certwright.errors import ConflictError, InvalidInputError
from certwright.ports import KeyVault, Store
from certwright.services.authorities import AuthorityService
from certwright.services.commands import (
    ImportCertificate,
    IssueCertificate,
    NewCertificate,
    NewVersion,
    ReimportCertificate,
    RenewalRuleSpec,
    RenewCertificate,
    RenewWithCsr,
    SignCsr,
    StageName,
)
from certwright.services.context import Runtime
from certwright.services.reservation import current_token
from certwright.services.version_plans import Plan, VersionPlanner
from certwright.services.version_writer import VersionWriter

# The serial claim's issuer had moved on from the (cached) issuer the plan was checked against.
ISSUER_CHANGED = "IssuerChanged"
_CONFIG_TYPES: dict[type[NewCertificate], CertificateConfigType] = {
    IssueCertificate: CertificateConfigType.ISSUED_BY_INTERNAL_CA,
    SignCsr: CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA,
    ImportCertificate: CertificateConfigType.IMPORTED,
}


class IssuanceService:
    def __init__(
        self,
        store: Store,
        authorities: AuthorityService,
        vault: KeyVault,
        runtime: Runtime,
        publication: PublicationUrls | None = None,
        *,
        backdate: timedelta = timedelta(0),
    ) -> None:
        self._rt = runtime
        self._plans = VersionPlanner(store, authorities, backdate=backdate)
        self._writer = VersionWriter(store, authorities, vault, runtime, publication)

    def get(self, certificate_id: str) -> Certificate:
        return self._writer.get(certificate_id)

    def create(self, command: NewCertificate, caller: str) -> tuple[Certificate, CertificateVersion]:
        """A new certificate and its version 1 (CURRENT)."""
        return _on_current_issuer(lambda fresh: self._create(command, caller, fresh=fresh))

    def _create(self, command: NewCertificate, caller: str, *, fresh: bool) -> tuple[Certificate, CertificateVersion]:
        now = self._rt.clock()
        reservation = self._writer.reservation(current_token(), now)
        resumed: Certificate | None = None
        if reservation is not None and reservation.live:
            found = self._writer.resume(reservation.found, caller, is_new=True)
            if isinstance(found, tuple):
                return found
            resumed = found
        duration: Duration | None = None
        if isinstance(command, ImportCertificate):
            plan = self._plans.imported(command.certificate_pem, command.chain_pem, command.private_key_pem, now)
        else:
            plan, duration = self._plans.internal(
                issuer_id=command.issuer_id,
                profile=command.profile,
                subject=command.subject,
                sans=command.sans,
                key_algorithm=command.key_algorithm,
                validity_text=command.validity_duration,
                csr_pem=command.csr_pem if isinstance(command, SignCsr) else None,
                now=now,
                fresh=fresh,
                signing_algorithm=command.signing_algorithm,
            )
        if resumed is not None and reservation is not None:
            number = resumed.latest_version_number + 1
            reserved = replace(resumed, lifecycle_state=LifecycleState.CREATING, latest_version_number=number)
            return self._writer.issue(
                reserved, plan, number, pending=False, caller=caller, is_new=True, reservation=reservation.next(number)
            )
        certificate = self._new_certificate(command, plan, duration, caller)
        claim = reservation.fresh(certificate.id) if reservation is not None else None
        return self._writer.issue(certificate, plan, 1, pending=False, caller=caller, is_new=True, reservation=claim)

    def _new_certificate(
        self, command: NewCertificate, plan: Plan, duration: Duration | None, caller: str
    ) -> Certificate:
        internal = None if isinstance(command, ImportCertificate) else command
        rule_spec = internal.renewal_rule if internal else None
        thresholds = command.expiry_alert_thresholds
        return Certificate(
            id=self._rt.ids("cert"),
            name=command.name,
            config_type=_CONFIG_TYPES[type(command)],
            profile=internal.profile if internal else None,
            issuer_ca_id=plan.issuer.id if plan.issuer else None,
            subject=plan.subject,
            sans=plan.sans,
            key_algorithm=plan.key_algorithm,
            validity_duration=duration,
            renewal_rule=renewal_rule(rule_spec, duration) if rule_spec and duration else None,
            lifecycle_state=LifecycleState.CREATING,
            created_by=caller,
            created_at=self._rt.clock(),
            owner=normalize_arn(caller),
            latest_version_number=1,
            description=command.description,
            freeform_tags=command.freeform_tags,
            expiry_alert_thresholds=parse_thresholds(list(thresholds))
            if thresholds is not None
            else DEFAULT_THRESHOLDS,
            signing_algorithm=internal.signing_algorithm if internal else None,
        )

    def renew(
        self, certificate_id: str, caller: str, *, stage: StageName = "CURRENT", validity_duration: str | None = None
    ) -> tuple[Certificate, CertificateVersion]:
        """A new version of a certificate whose key the service holds: a fresh key, the same names and rules."""
        command = RenewCertificate(certificate_id=certificate_id, stage=stage, validity_duration=validity_duration)
        return self.create_version(command, caller)

    def create_version(self, command: NewVersion, caller: str) -> tuple[Certificate, CertificateVersion]:
        """A new version: CURRENT unless the command's stage is PENDING; each kind fits one kind of certificate."""
        return _on_current_issuer(lambda fresh: self._create_version(command, caller, fresh=fresh))

    def _create_version(
        self, command: NewVersion, caller: str, *, fresh: bool
    ) -> tuple[Certificate, CertificateVersion]:
        certificate_id = command.certificate_id
        now = self._rt.clock()
        reservation = self._writer.reservation(current_token(), now)
        if reservation is not None and reservation.live and reservation.found.certificate_id == certificate_id:
            resumed = self._writer.resume(reservation.found, caller, is_new=False)
            if isinstance(resumed, tuple):
                return resumed
        certificate = self.get(certificate_id)
        certificate.ensure_active()
        certificate.ensure_not_retired()
        kind = certificate.config_type
        if kind is CertificateConfigType.IMPORTED:
            if isinstance(command, RenewWithCsr) or (
                isinstance(command, RenewCertificate) and command.validity_duration
            ):
                raise InvalidInputError("a new version of an imported certificate is a new import")
            if not isinstance(command, ReimportCertificate):
                raise InvalidInputError("an import needs certificatePem, certChainPem and privateKeyPem")
            plan = self._plans.imported(command.certificate_pem, command.chain_pem, command.private_key_pem, now)
        else:
            if isinstance(command, ReimportCertificate):
                raise InvalidInputError("certificatePem, certChainPem and privateKeyPem apply only to imports")
            wants_csr = kind is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA
            if wants_csr != isinstance(command, RenewWithCsr):
                raise InvalidInputError("a new version of a CSR-managed certificate needs csrPem (and only then)")
            validity_text = command.validity_duration or (
                certificate.validity_duration.text if certificate.validity_duration else None
            )
            plan, _ = self._plans.internal(
                issuer_id=certificate.issuer_ca_id,
                profile=certificate.profile,
                subject=certificate.subject,
                sans=certificate.sans,
                key_algorithm=None if wants_csr else certificate.key_algorithm,
                validity_text=validity_text,
                csr_pem=command.csr_pem if isinstance(command, RenewWithCsr) else None,
                now=now,
                fresh=fresh,
                signing_algorithm=certificate.signing_algorithm,
            )
        number = certificate.latest_version_number + 1
        reserved = replace(certificate, latest_version_number=number)
        claim = None
        if reservation is not None:
            claim = reservation.next(number) if reservation.live else reservation.fresh(certificate_id, number)
        return self._writer.issue(
            reserved, plan, number, pending=command.stage == "PENDING", caller=caller, is_new=False, reservation=claim
        )


def _on_current_issuer(
    attempt: Callable[[bool], tuple[Certificate, CertificateVersion]],
) -> tuple[Certificate, CertificateVersion]:
    """Run `attempt` on the planner's cached issuer, then once more on a fresh read if the issuer had changed by
    the time the serial was claimed (IssuerChanged: nothing was written)."""
    try:
        return attempt(False)
    except ConflictError as err:
        if err.code != ISSUER_CHANGED:
            raise
    try:
        return attempt(True)
    except ConflictError as err:
        if err.code != ISSUER_CHANGED:
            raise
        raise ConflictError(str(err), code="ConcurrentModification") from err


def renewal_rule(spec: RenewalRuleSpec, validity: Duration) -> RenewalRule:
    """The checked rule of `spec` for a certificate of `validity`."""
    return RenewalRule.parse(spec.renewal_interval, spec.advance_renewal_period, spec.stage, validity)
