"""Deployment: bring every association's target to the certificate's CURRENT version, verified, or say why not.

Level-triggered: events only say "look again". Each reconcile reads the certificate's CURRENT version
now, so duplicate, late or reordered events cannot deploy an older version (invariant I6, tests/crash/invariants.py); the deployed
version only goes down when a person promotes an older version (an explicit rollback).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from certwright.domain.association import (
    Association,
    AssociationState,
    AssociationType,
    Deployment,
    DeploymentState,
    ListenerRole,
)
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.errors import CertwrightError, ConflictError, NotFoundError, TransientError
from certwright.ports import AcmPort, ListenerPort, ListenerView, Store
from certwright.services.bundles import Bundle, BundleService
from certwright.services.consent import ConsentService
from certwright.services.context import Runtime
from certwright.x509.deployable import deployment_problems

VISIBILITY_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=5)


class DeploymentError(CertwrightError):
    """The target could not be moved to the new version; it stays on (or was put back on) the previous one."""

    code = "DeploymentFailed"


class DeploymentService:
    def __init__(
        self,
        store: Store,
        bundles: BundleService,
        acm: AcmPort,
        listeners: ListenerPort,
        runtime: Runtime,
        deployer_arn: str,
        sleep: Callable[[float], None],
        consent: ConsentService,
    ) -> None:
        self._store = store
        self._bundles = bundles
        self._acm = acm
        self._listeners = listeners
        self._rt = runtime
        self._deployer = deployer_arn
        self._sleep = sleep
        self._consent = consent

    # -- entry points ---------------------------------------------------------------------------------

    def reconcile_certificate(self, certificate_id: str) -> list[Association]:
        """Every association of the certificate converges on its CURRENT version (failures are recorded)."""
        results = []
        failures: list[str] = []
        for association in self._store.associations_of(certificate_id):
            try:
                results.append(self.reconcile(association.id))
            except NotFoundError:
                continue  # deleted since it was listed
            except CertwrightError as err:
                # One target failing must not keep the others on the old version.
                failures.append(f"{association.id}: {err.message}")
        if failures:
            # Some targets could not be reached; the event is retried, converged ones are no-ops next time.
            raise TransientError("; ".join(failures))
        return results

    def reconcile(self, association_id: str) -> Association:
        association = self._store.get_association(association_id)
        if association is None:
            raise NotFoundError(f"association {association_id} no longer exists")
        if association.ca_bundle_id is not None:
            return association  # a listener or host that trusts a CA bundle: a record, nothing to deploy
        certificate = self._store.get_certificate(association.certificate_id)
        if certificate is None or not certificate.current_version_number:
            raise NotFoundError(f"certificate {association.certificate_id} has no current version")
        version = self._store.get_version(certificate.id, certificate.current_version_number)
        if version is None:
            raise NotFoundError(f"version {certificate.current_version_number} vanished")
        # Consent again before every deployment: without it nothing is touched and the association is SUSPENDED
        # (announced, alerted); the retry schedule looks again and resumes it once the target consents again.
        association, _ = self._consent.refresh(association, retry_at=self._rt.clock() + RETRY_AFTER)
        if association.state is not AssociationState.ACTIVE:
            return association
        if association.association_type is AssociationType.HOST_PRINCIPAL:
            return self._expect_host(association, version)
        if self._already_serving(association, version):
            return association
        association = self._save(
            association,
            replace(
                association.deployment,
                desired_version=version.version_number,
                state=DeploymentState.DEPLOYING,
                attempts=association.deployment.attempts + 1,
            ),
            # Planned before any side effect: if this run dies mid-deployment, the retry schedule takes it up again.
            retry_at=self._rt.clock() + RETRY_AFTER,
        )
        try:
            arn = self._deploy(association, certificate, version)
        except TransientError as err:
            self._fail(association, err.message)
            raise
        except CertwrightError as err:
            # Refused for good (a rejected certificate, a vanished listener, no key): recorded, retried later.
            return self._fail(association, err.message)
        return self._save(
            association,
            replace(
                association.deployment,
                deployed_version=version.version_number,
                state=DeploymentState.DEPLOYED,
                last_error=None,
                verified_at=self._rt.clock(),
                deployed_serial_number=version.serial_number,
                deployed_acm_arn=arn,
                attempts=0,
            ),
            previous_arn=association.deployment.deployed_acm_arn,
        )

    def undeploy(
        self,
        certificate_id: str,
        association_type: AssociationType,
        resource_id: str,
        listener_role: ListenerRole,
        deployed_acm_arn: str | None,
    ) -> None:
        """After an association is deleted: take an SNI certificate off its listener (a default certificate stays,
        as a listener always needs one) and delete our ACM copy once nothing serves it."""
        if association_type is not AssociationType.LOAD_BALANCER_LISTENER or not deployed_acm_arn:
            return
        if listener_role is ListenerRole.SNI:
            if deployed_acm_arn in self._listeners.certificates(resource_id).sni:
                self._listeners.remove_sni(resource_id, deployed_acm_arn)
            self._remove_unused_copy(certificate_id, deployed_acm_arn)
        else:
            # The listener goes on serving it, so the copy is no longer ours to delete when others move on.
            self._store.forget_acm_copy(certificate_id, deployed_acm_arn)

    def retry_due(self, has_time: Callable[[], bool] = lambda: True, limit: int = 100) -> dict[str, int | bool]:
        """Reconcile the associations whose failed or interrupted deployment is due for another attempt."""
        report: dict[str, int | bool] = {"retried": 0, "failed": 0, "more": False}
        due = self._store.deployments_to_retry(self._rt.clock(), limit)
        for association in due:
            if not has_time():
                report["more"] = True
                break
            try:
                self.reconcile(association.id)
                report["retried"] = int(report["retried"]) + 1
            except CertwrightError:
                report["failed"] = int(report["failed"]) + 1  # recorded on the association, next retry planned
        report["more"] = bool(report["more"]) or len(due) == limit
        return report

    # -- the steps ------------------------------------------------------------------------------------

    def _already_serving(self, association: Association, version: CertificateVersion) -> bool:
        deployment = association.deployment
        if deployment.state is not DeploymentState.DEPLOYED or deployment.deployed_version != version.version_number:
            return False
        arn = deployment.deployed_acm_arn
        return arn is not None and self._serving(association, arn) and self._acm.serial_of(arn) == version.serial_number

    def _deploy(self, association: Association, certificate: Certificate, version: CertificateVersion) -> str:
        bundle = self._bundles.get(
            certificate.id,
            stage=None,
            version_number=version.version_number,
            include_private_key=True,
            caller=self._deployer,
        )
        self._precheck(association, bundle)
        assert bundle.private_key_pem is not None
        chain = "".join(version.chain_pems)
        if association.association_type is AssociationType.ACM_CERTIFICATE:
            arn = self._acm.import_certificate(
                version.certificate_pem,
                bundle.private_key_pem,
                chain,
                {},
                existing_arn=association.associated_resource_id,
            )
            self._verify_serial(arn, version)
            return arn
        arn = self._acm_copy(certificate, version, bundle.private_key_pem, chain)
        self._switch_listener(association, arn, version)
        return arn

    def _precheck(self, association: Association, bundle: Bundle) -> None:
        assert bundle.private_key_pem is not None
        problems = deployment_problems(
            bundle.version.certificate_pem,
            "".join(bundle.version.chain_pems),
            bundle.private_key_pem,
            self._rt.clock(),
            association.hostnames,
        )
        if problems:
            raise DeploymentError("not deployed: " + "; ".join(problems))

    def _acm_copy(self, certificate: Certificate, version: CertificateVersion, key_pem: str, chain: str) -> str:
        """The ACM copy of this version, shared by all its listeners; imported once, recorded on the version."""
        existing = self._store.acm_copy(certificate.id, version.version_number)
        if existing and self._acm.serial_of(existing) is not None:
            return existing
        if existing:
            # Deleted once nothing served it; a rollback to this version needs a fresh copy.
            self._store.forget_acm_copy(certificate.id, existing)
        tags = {"certwright:certificateId": certificate.id, "certwright:versionNumber": str(version.version_number)}
        # Marked before importing: an attempt that dies between the import and its record leaves the mark, and the
        # next attempt adopts the copy it finds by its tags instead of importing (and leaking) a second one.
        if self._store.begin_acm_import(certificate.id, version.version_number):
            adopted = self._adopt_unrecorded(certificate.id, version, tags)
            if adopted is not None:
                return adopted
        arn = self._acm.import_certificate(version.certificate_pem, key_pem, chain, tags)
        winner = self._store.record_acm_copy(certificate.id, version.version_number, arn)
        if winner != arn:
            self._acm.delete(arn)  # a concurrent deployer imported first; keep one copy
        self._store.end_acm_import(certificate.id, version.version_number)
        return winner

    def _adopt_unrecorded(self, certificate_id: str, version: CertificateVersion, tags: dict[str, str]) -> str | None:
        winner, number = None, version.version_number
        for arn in self._acm.tagged(tags):
            if self._acm.serial_of(arn) != version.serial_number.lstrip("0"):
                continue  # tags anyone could set: only a copy holding this version's serial is ours to adopt
            recorded = self._store.record_acm_copy(certificate_id, number, arn)
            if recorded != arn:
                self._acm.delete(arn)  # a second unrecorded copy: keep one
            winner = recorded
        if winner is not None:
            self._store.end_acm_import(certificate_id, number)
        return winner

    def _switch_listener(self, association: Association, arn: str, version: CertificateVersion) -> None:
        listener = association.associated_resource_id
        before = self._listeners.certificates(listener)
        previous = (
            before.default
            if association.listener_role is ListenerRole.DEFAULT
            else (association.deployment.deployed_acm_arn)
        )
        try:
            self._until_visible(lambda: self._apply(association, listener, arn, before.sni))
            self._verify_serial(arn, version)
            if not self._serving(association, arn):
                raise DeploymentError(f"listener {listener} does not serve {arn} after the update")
        except CertwrightError:
            self._restore(association, listener, arn, previous, before)
            raise
        if association.listener_role is ListenerRole.SNI and previous and previous != arn:
            self._listeners.remove_sni(listener, previous)

    def _apply(self, association: Association, listener: str, arn: str, sni: tuple[str, ...]) -> None:
        if association.listener_role is ListenerRole.DEFAULT:
            self._listeners.set_default(listener, arn)
        elif arn not in sni:
            self._listeners.add_sni(listener, arn)

    def _until_visible(self, action: Callable[[], None]) -> None:
        """ELB may not see a fresh ACM import for a moment (CertificateNotFound): back off and try again."""
        for attempt in range(VISIBILITY_ATTEMPTS):
            try:
                action()
                return
            except TransientError as err:
                if err.code != "CertificateNotFound" or attempt == VISIBILITY_ATTEMPTS - 1:
                    raise
                self._sleep(min(0.25 * 2**attempt, 4.0))

    def _restore(
        self, association: Association, listener: str, arn: str, previous: str | None, before: ListenerView
    ) -> None:
        try:
            if association.listener_role is ListenerRole.DEFAULT:
                if previous and previous != arn:
                    self._listeners.set_default(listener, previous)
            elif arn != previous and arn not in before.sni:
                # Only what this attempt added: after a crashed attempt, the new copy may be all that serves.
                self._listeners.remove_sni(listener, arn)
        except CertwrightError:
            # The failure is recorded on the association either way; the next reconcile retries.
            pass

    def _serving(self, association: Association, arn: str) -> bool:
        if association.association_type is AssociationType.ACM_CERTIFICATE:
            return arn == association.associated_resource_id
        now = self._listeners.certificates(association.associated_resource_id)
        return now.default == arn if association.listener_role is ListenerRole.DEFAULT else arn in now.sni

    def _verify_serial(self, arn: str, version: CertificateVersion) -> None:
        held = self._acm.serial_of(arn)
        if held != version.serial_number.lstrip("0"):
            raise DeploymentError(f"ACM holds serial {held} for {arn}, expected {version.serial_number}")

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _expect_host(self, association: Association, version: CertificateVersion) -> Association:
        if association.deployment.desired_version == version.version_number:
            return association
        return self._save(
            association,
            replace(association.deployment, desired_version=version.version_number, state=DeploymentState.PENDING),
        )

    def _fail(self, association: Association, message: str) -> Association:
        latest = self._store.get_association(association.id) or association
        return self._save(
            latest,
            replace(latest.deployment, state=DeploymentState.FAILED, last_error=message[:500]),
            retry_at=self._rt.clock() + RETRY_AFTER,
        )

    def _save(
        self,
        association: Association,
        deployment: Deployment,
        *,
        previous_arn: str | None = None,
        retry_at: datetime | None = None,
    ) -> Association:
        try:
            saved = self._store.save_association(replace(association, deployment=deployment), retry_at=retry_at)
        except ConflictError as err:
            raise TransientError(f"association {association.id} changed concurrently; retrying") from err
        if previous_arn and previous_arn != deployment.deployed_acm_arn:
            self._remove_unused_copy(association.certificate_id, previous_arn)
        return saved

    def _remove_unused_copy(self, certificate_id: str, arn: str) -> None:
        """Delete an ACM copy we imported once no association of its certificate serves it any more."""
        if arn not in self._store.acm_copies(certificate_id):
            return
        if any(a.deployment.deployed_acm_arn == arn for a in self._store.associations_of(certificate_id)):
            return
        self._acm.delete(arn)
        self._store.forget_acm_copy(certificate_id, arn)
