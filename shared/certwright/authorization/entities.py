"""Cedar entities for a decision: the principal, the stack (Service) and CAs, certificates, CA bundles, associations.

Every resource entity has the same shape (see schema.cedarschema): account, owner, name, issuer, parent, the
principals holding each granted role, and for certificates the principals its associations name. An
association carries the owner, roles and tags of what it associates (its certificate or CA bundle). Freeform tags
are Cedar entity tags, so a policy reads `resource.hasTag("team") && resource.getTag("team") == "pay"`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from certwright.acme.resources import EabKey
from certwright.authorization.grants import Grant, Role
from certwright.authorization.identity import Principal, normalize_arn
from certwright.domain.association import Association, AssociationType
from certwright.domain.authority import CertificateAuthority
from certwright.domain.ca_bundle import CaBundle
from certwright.domain.certificate import Certificate
from certwright.domain.tags import Tags

NAMESPACE = "Certwright"
SERVICE_ID = "certwright"
_DEPLOYER_TYPES = {AssociationType.LOAD_BALANCER_LISTENER, AssociationType.ACM_CERTIFICATE}

Entity = dict[str, Any]


class EntitySource(Protocol):
    """What the builder reads: grants of a resource and the associations of a certificate."""

    def grants_of(self, resource_id: str) -> list[Grant]: ...

    def associations_of(self, certificate_id: str) -> list[Association]: ...


def uid(kind: str, entity_id: str) -> dict[str, str]:
    return {"type": f"{NAMESPACE}::{kind}", "id": entity_id}


class EntityBuilder:
    def __init__(self, source: EntitySource, *, account: str, admins: Iterable[str], deployer_role_arn: str) -> None:
        self._source = source
        self.account = account
        self._admins = frozenset(normalize_arn(a) for a in admins if a)
        self._deployer = normalize_arn(deployer_role_arn) if deployer_role_arn else ""

    def is_admin(self, principal: Principal) -> bool:
        return principal.arn in self._admins

    def principal(self, p: Principal) -> Entity:
        return {
            "uid": uid("Principal", p.arn),
            "attrs": {
                "arn": p.arn,
                "account": p.account,
                "kind": p.kind,
                "name": p.name,
                "sessionName": p.session_name,
                "admin": p.arn in self._admins,
                "deployer": bool(self._deployer) and p.arn == self._deployer,
            },
            "parents": [],
        }

    def service(self) -> Entity:
        return {"uid": uid("Service", SERVICE_ID), "attrs": {"account": self.account}, "parents": []}

    def _resource(
        self,
        kind: str,
        resource_id: str,
        *,
        owner: str,
        name: str,
        issuer: str = "",
        parent: str = "",
        roles_of: str | None = None,
        associations: list[Association] | None = None,
        tags: Tags = (),
    ) -> Entity:
        grants = self._source.grants_of(roles_of or resource_id)
        by_role: dict[Role, list[str]] = {role: [] for role in Role}
        for grant in grants:
            by_role[grant.role].append(grant.principal_arn)
        hosts: list[str] = []
        key_readers: list[str] = []
        for association in associations or []:
            if association.association_type is AssociationType.HOST_PRINCIPAL:
                host = normalize_arn(association.associated_resource_id)
                hosts.append(host)  # may read the certificate and the association (and so confirm it)
                # May ask for the key; whether it gets it (ACTIVE, consent now) is the key service's decision, which
                # also resumes a suspended association whose consent is back and audits the precise reason.
                key_readers.append(host)
            elif association.association_type in _DEPLOYER_TYPES and self._deployer:
                key_readers.append(self._deployer)
        return {
            "uid": uid(kind, resource_id),
            "attrs": {
                "account": self.account,
                "owner": owner,
                "name": name,
                "issuer": issuer,
                "parent": parent,
                "issuers": sorted(set(by_role[Role.ISSUER])),
                "managers": sorted(set(by_role[Role.MANAGER])),
                "readers": sorted(set(by_role[Role.READER])),
                "associatedPrincipals": sorted(set(hosts)),
                "keyReaders": sorted(set(key_readers)),
            },
            "parents": [],
            "tags": dict(tags),
        }

    def authority(self, ca: CertificateAuthority) -> Entity:
        return self._resource(
            "Authority", ca.id, owner=ca.owner, name=ca.name, issuer=ca.issuer_id or "", tags=ca.freeform_tags
        )

    def certificate(self, c: Certificate) -> Entity:
        associations = self._source.associations_of(c.id) if c.association_count else []
        return self._resource(
            "Certificate",
            c.id,
            owner=c.owner,
            name=c.name,
            issuer=c.issuer_ca_id or "",
            associations=[a for a in associations if a.ca_bundle_id is None],
            tags=c.freeform_tags,
        )

    def eab_key(self, key: EabKey) -> Entity:
        """An ACME EAB key, owned by the principal it binds accounts to (its owner or an admin may revoke it)."""
        return self._resource("EabKey", key.key_id, owner=key.principal, name=key.key_id)

    def ca_bundle(self, b: CaBundle) -> Entity:
        return self._resource("CaBundle", b.id, owner=b.owner, name=b.name, tags=b.freeform_tags)

    def association(self, a: Association, parent: Certificate | CaBundle | None) -> Entity:
        """An association has the owner and roles of its certificate (or CA bundle); unowned if that is gone."""
        parent_id = a.ca_bundle_id or a.certificate_id
        return self._resource(
            "Association",
            a.id,
            owner=parent.owner if parent is not None else "",
            name=a.associated_resource_id,
            parent=parent_id,
            roles_of=parent_id,
            associations=[a] if a.ca_bundle_id is None else [],
            tags=parent.freeform_tags if parent is not None else (),
        )
