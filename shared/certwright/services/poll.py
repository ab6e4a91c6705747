"""Hosts: one poll for every certificate a host serves (with entity tags), and the host's report of what it installed.

A poll answers, for the calling principal, each of its host associations with the certificate's CURRENT version
(number, serial, notAfter) and an entity tag, read by the index on the associated principal: no scan, no KMS
call, no key material. The poll's own entity tag changes exactly when one of its items does, so a host asks with
If-None-Match and mostly hears 304. A report (DEPLOYED, verified or not, or FAILED with a reason) is written to
the association row like the deployer's own outcome, so the outbox announces DeploymentSucceeded or
DeploymentFailed for hosts as it does for listeners.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace

from certwright.domain.association import (
    Association,
    AssociationState,
    ReportedState,
    principal_arn,
    report_deployment,
    require_host_association,
    same_report,
)
from certwright.errors import AccessDeniedError, ConflictError, NotFoundError
from certwright.ports import HostAssociationIndex, HostBinding, Store
from certwright.services.commands import ReportDeployment
from certwright.services.context import Runtime


@dataclass(frozen=True)
class PollItem:
    binding: HostBinding
    etag: str


@dataclass(frozen=True)
class Poll:
    etag: str
    items: list[PollItem]
    # Associations left out because the answer reached MAX_POLL_ITEMS (unconfirmed ones go first).
    omitted: int = 0


def _tag(*parts: object) -> str:
    """A strong entity tag, quoted as HTTP writes it."""
    digest = hashlib.sha256("\x00".join(str(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def item_etag(binding: HostBinding) -> str:
    """Changes with what a host acts on: the association's consent, hostnames and deployment (a report), the
    CURRENT version and the certificate's name; not with the rest of the row (an endpoint probe records its result
    on the association every run, and must not turn every poll into a full answer)."""
    a, c, v = binding.association, binding.certificate, binding.version
    d = a.deployment
    deployment = (
        d.state.value,
        d.desired_version,
        d.deployed_version,
        d.deployed_serial_number,
        d.last_error,
        d.verified_at,
    )
    return _tag(
        "item", a.id, a.state.value, *a.hostnames, *deployment, c.current_version_number, v.serial_number, c.name
    )


def poll_etag(item_etags: Sequence[str]) -> str:
    """The answer's entity tag: the set of its items' tags, whatever order they were read in."""
    return _tag("poll", *sorted(item_etags))


def matches(if_none_match: str | None, etag: str) -> bool:
    """Does an If-None-Match header name `etag`? (`*`, a list, weak W/ tags and an unquoted tag all count.)"""
    if not if_none_match:
        return False
    wanted = etag.strip('"')
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag.strip('"') == wanted:
            return True
    return False


MAX_UNCONFIRMED = 100  # unconfirmed items in one answer (each at most ~6 KB with 100 hostnames)


class PollService:
    def __init__(self, index: HostAssociationIndex, store: Store, runtime: Runtime) -> None:
        self._index = index
        self._store = store
        self._rt = runtime

    def poll(self, caller: str, certificate_ids: Sequence[str] | None = None) -> Poll:
        """Every certificate association of the caller's principal (an assumed-role session polls for its role)."""
        wanted = frozenset(certificate_ids) if certificate_ids is not None else None
        bindings = self._index.bindings_of(principal_arn(caller), wanted)
        # Anyone who can create a certificate can create (unconfirmed) associations naming this host: they must not
        # grow the answer past what Lambda returns (6 MB) or crowd out what the host confirmed. Every confirmed one
        # (the host consented to each), then at most MAX_UNCONFIRMED of the others, oldest first; the host finds
        # the rest by naming their certificates in `certificateIds`.
        confirmed = [b for b in bindings if b.association.state is AssociationState.ACTIVE]
        waiting = [b for b in bindings if b.association.state is not AssociationState.ACTIVE]
        kept = confirmed + waiting[:MAX_UNCONFIRMED]
        items = [PollItem(b, item_etag(b)) for b in kept]
        return Poll(poll_etag([i.etag for i in items]), items, omitted=len(bindings) - len(kept))

    def report_deployment(self, association_id: str, command: ReportDeployment, caller: str) -> Association:
        """The association's host says it now serves `versionNumber` (DEPLOYED) or could not (FAILED, why)."""
        association = self._store.get_association(association_id)
        if association is None:
            raise NotFoundError(f"association {association_id} not found")
        require_host_association(association)
        if principal_arn(caller) != association.host_principal:
            self._store.record(
                self._rt.audit(
                    association.certificate_id,
                    "ReportDeployment",
                    caller,
                    "DENIED",
                    associationId=association.id,
                    reason="NOT_THE_ASSOCIATED_PRINCIPAL",
                )
            )
            raise AccessDeniedError(
                f"only {association.associated_resource_id} itself may report the deployment of {association_id}"
            )
        certificate = self._store.get_certificate(association.certificate_id)
        version = self._store.get_version(association.certificate_id, command.version_number)
        if certificate is None or version is None or version.deleted_at:
            raise NotFoundError(f"certificate {association.certificate_id} has no version {command.version_number}")
        deployment = report_deployment(
            association,
            version_number=version.version_number,
            current_version_number=certificate.current_version_number,
            serial_number=version.serial_number,
            state=ReportedState(command.state),
            verified=command.verified,
            reason=command.reason,
            now=self._rt.clock(),
        )
        if same_report(association.deployment, deployment):
            return association  # a repeated report: nothing to write, announce or audit again
        try:
            # Conditional on the row version read: a concurrent consent change or report wins, this one retries.
            saved = self._store.save_association(replace(association, deployment=deployment))
        except ConflictError as err:
            raise ConflictError(
                f"association {association_id} changed concurrently; retry", code="ConcurrentModification"
            ) from err
        details = {
            "associationId": association.id,
            "versionNumber": str(version.version_number),
            "state": deployment.state.value,
            "verified": str(deployment.verified_at is not None).lower(),
        }
        if deployment.last_error and command.state == ReportedState.FAILED.value:
            details["reason"] = deployment.last_error
        self._store.record(self._rt.audit(association.certificate_id, "ReportDeployment", caller, **details))
        return saved
