"""Consent: an association acts on a target only while the target's owner says so (a tag naming the certificate).

The owner of an ELBv2 listener, an ACM certificate or an IAM role/user consents by tagging it with
`certwright:consent` whose value lists the certificate ids it accepts, separated by spaces (a tag value holds
256 characters, so nine ids; more go in `certwright:consent:2`, `certwright:consent:3`, ... next to the first).
Only a principal with tagging rights on the target can set it, which is what makes it the owner's word, in a
real account and on the embedded AWS alike. A host (IAM role or user) may instead confirm the association by
calling with its own identity. Consent is checked when an association is created and again before every
deployment and every key read: without it the association is SUSPENDED (or stays PENDING_CONFIRMATION), and it
returns to ACTIVE at the first check that finds consent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from certwright.authorization.identity import account_of
from certwright.domain.association import Association, AssociationState, AssociationType, principal_arn
from certwright.errors import AccessDeniedError, ConflictError, TransientError
from certwright.ports import AssociationStore, TargetTagPort

CONSENT_TAG = "certwright:consent"


class ConsentRequiredError(AccessDeniedError):
    """The target's owner has not consented to this association (its message says which tag to set where)."""

    code = "ConsentRequired"


@dataclass(frozen=True)
class Consent:
    granted: bool
    # Granted: TAG or CONFIRMATION. Refused: NO_CONSENT_TAG, TARGET_NOT_FOUND or CROSS_ACCOUNT (stable, audited).
    basis: str
    message: str


def consented_certificates(tags: Mapping[str, str]) -> frozenset[str]:
    """The certificate ids the tags consent to: `certwright:consent` (required) and its `:n` continuations."""
    if CONSENT_TAG not in tags:
        return frozenset()
    ids: set[str] = set()
    for key, value in tags.items():
        if key == CONSENT_TAG or key.startswith(CONSENT_TAG + ":"):
            ids.update(value.split())
    return frozenset(ids)


def how_to_consent(association_type: AssociationType, resource_arn: str, certificate_id: str) -> str:
    """What the target's owner does to consent, exactly: which tag, on which resource, with which call."""
    tag = f"tag {CONSENT_TAG} = {certificate_id} (space-separated with any certificate ids it already lists)"
    if association_type is AssociationType.LOAD_BALANCER_LISTENER:
        return f"the listener's owner must {tag} on the listener {resource_arn} (elasticloadbalancing:AddTags)"
    if association_type is AssociationType.ACM_CERTIFICATE:
        return f"the ACM certificate's owner must {tag} on {resource_arn} (acm:AddTagsToCertificate)"
    call = "iam:TagRole" if ":role/" in resource_arn else "iam:TagUser"
    return (
        f"the principal's owner must {tag} on {resource_arn} ({call}), or the host confirms with its own identity: "
        "POST /associations/{id}/actions/confirm"
    )


class ConsentService:
    def __init__(
        self,
        tags: TargetTagPort,
        store: AssociationStore,
        home_account: str,
    ) -> None:
        self._tags = tags
        self._store = store
        self._home = home_account

    @property
    def home_account(self) -> str:
        """The stack's account: targets and key readers outside it are refused."""
        return self._home

    def of_target(self, association_type: AssociationType, resource_arn: str, certificate_id: str) -> Consent:
        """Does the target's owner consent to `certificate_id` now (tags only)?"""
        account = account_of(resource_arn)
        if self._home and account != self._home:
            return Consent(
                False,
                "CROSS_ACCOUNT",
                f"{resource_arn} is in account {account or '(none)'}, not {self._home}: Certwright cannot read its "
                "tags, and cross-account associations are not allowed",
            )
        tags = self._tags.tags_of(resource_arn)
        if tags is None:
            return Consent(
                False,
                "TARGET_NOT_FOUND",
                f"{resource_arn} does not exist; " + how_to_consent(association_type, resource_arn, certificate_id),
            )
        if certificate_id in consented_certificates(tags):
            return Consent(True, "TAG", f"{resource_arn} carries {CONSENT_TAG} naming {certificate_id}")
        return Consent(
            False,
            "NO_CONSENT_TAG",
            f"{resource_arn} does not consent to {certificate_id}: "
            + how_to_consent(association_type, resource_arn, certificate_id),
        )

    def of(self, association: Association) -> Consent:
        """Consent for an existing association: the target's tag, or (hosts) the host's own confirmation."""
        if association.association_type is AssociationType.HOST_PRINCIPAL and self.confirmed(association):
            return Consent(True, "CONFIRMATION", f"confirmed by {association.confirmed_by}")
        consent = self.of_target(
            association.association_type, association.associated_resource_id, association.certificate_id
        )
        if consent.granted or association.association_type is not AssociationType.HOST_PRINCIPAL:
            return consent
        return replace(consent, message=consent.message.replace("{id}", association.id))

    @staticmethod
    def confirmed(association: Association) -> bool:
        who = association.confirmed_by
        return bool(who) and principal_arn(who or "") == association.host_principal

    def refresh(self, association: Association, retry_at: datetime | None = None) -> tuple[Association, Consent]:
        """Check consent now and record what it means: ACTIVE with consent; SUSPENDED (or still PENDING_CONFIRMATION)
        without it. A state change is saved (the outbox announces it); `retry_at` plans the next look."""
        consent = self.of(association)
        if consent.granted:
            wanted, reason = AssociationState.ACTIVE, None
        elif association.state is AssociationState.PENDING_CONFIRMATION:
            wanted, reason = AssociationState.PENDING_CONFIRMATION, consent.message[:500]
        else:
            wanted, reason = AssociationState.SUSPENDED, consent.message[:500]
        if wanted is association.state and reason == association.state_reason:
            return association, consent
        try:
            saved = self._store.save_association(
                replace(association, state=wanted, state_reason=reason), retry_at=retry_at
            )
        except ConflictError as err:
            raise TransientError(f"association {association.id} changed concurrently; retrying") from err
        return saved, consent
