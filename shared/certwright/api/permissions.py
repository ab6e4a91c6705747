"""Every API operation as a Cedar action on a resource, checked in one place before the route runs.

`RULES` maps each (method, route) the resolver serves to its operation name and a resolver that loads the
resources it touches — from path ids, and from ids in the validated body (issuerCertificateAuthorityId,
certificateId, caBundleId, certificateAuthorityIds, resourceId). `enforce` is the resolver's middleware:
it runs after request validation and before the route, so a denied request has no side effect beyond the
audit record of the denial. A route missing from `RULES` is refused (deny by default; tests/authz checks
the table covers every route). List routes filter what they return by the caller's Read permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from cryptography import x509
from pydantic import BaseModel

from certwright.acme.resources import EabKey
from certwright.authorization import visibility
from certwright.authorization.enforcement import Authorizer
from certwright.authorization.entities import SERVICE_ID, Entity
from certwright.authorization.grants import ResourceKind, resource_kind
from certwright.authorization.identity import Principal, principal_from_arn
from certwright.bootstrap import Container
from certwright.domain.association import Association
from certwright.domain.authority import CertificateAuthority
from certwright.domain.ca_bundle import CaBundle
from certwright.domain.certificate import Certificate, CertificateConfigType
from certwright.domain.names import common_dns_suffix
from certwright.errors import AccessDeniedError, InvalidInputError, NotFoundError


@dataclass(frozen=True)
class Check:
    action: str
    entity: Entity
    resource_id: str
    # The NotFound message when the caller may not read it; None for the stack itself (never hidden).
    hidden: str | None
    context: dict[str, Any] = field(default_factory=dict)
    operation: str = ""


@dataclass
class Call:
    """What a resolver sees: the caller, path arguments, the validated body, the query and the services."""

    principal: Principal
    args: dict[str, Any]
    body: BaseModel | None
    query: Callable[[str], str | None]
    services: Container

    @property
    def builder(self) -> Any:
        return self.services.authorizer.entities

    def authority(self, action: str, ca_id: str, **context: Any) -> Check:
        ca = self.services.authorities.get(ca_id)
        return Check(action, self.builder.authority(ca), ca.id, f"certificate authority {ca_id} not found", context)

    def certificate(self, action: str, certificate_id: str, **context: Any) -> Check:
        c = self.services.certificates.get(certificate_id)
        return Check(action, self.builder.certificate(c), c.id, f"certificate {certificate_id} not found", context)

    def ca_bundle(self, action: str, bundle_id: str) -> Check:
        b = self.services.ca_bundles.get(bundle_id)
        return Check(action, self.builder.ca_bundle(b), b.id, f"CA bundle {bundle_id} not found")

    def association(self, action: str, association_id: str) -> Check:
        a = self.services.associations.get(association_id)
        return Check(action, association_entity(self.services, a), a.id, f"association {association_id} not found")

    def service(self, operation: str) -> Check:
        return Check("Create", self.builder.service(), SERVICE_ID, None, {"operation": operation})

    def field(self, name: str) -> Any:
        return getattr(self.body, name, None) if self.body is not None else None


Resolver = Callable[[Call], list[Check]]


@dataclass(frozen=True)
class Rule:
    operation: str
    resolve: Resolver
    # Lists: the route reads many resources; each is shown only if the caller may Read it.
    lists: bool = False


def association_entity(services: Container, a: Association) -> Entity:
    parent: Certificate | CaBundle | None
    if a.ca_bundle_id is not None:
        parent = services.ca_bundle_store.get_bundle(a.ca_bundle_id)
    else:
        parent = services.store.get_certificate(a.certificate_id)
    return services.authorizer.entities.association(a, parent)


# -- names a request asks a CA to issue ---------------------------------------------------------------


def _csr_names(pem: str) -> list[str]:
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
        names = [str(a.value) for a in csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)]
        try:
            sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return names
        return (
            names
            + [str(n) for n in sans.get_values_for_type(x509.DNSName)]
            + [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
        )
    except ValueError:
        # Not a CSR the service would accept either; a name no policy matches keeps the decision safe.
        return ["<unreadable CSR>"]


def requested_names(body: BaseModel | None) -> list[str]:
    """Common name, SANs (or the CSR's) and, for a CA, its permitted DNS subtrees; lower case, unique."""
    if body is None:
        return []
    names: list[str] = []
    subject = getattr(body, "subject", None)
    if subject is not None and getattr(subject, "commonName", None):
        names.append(subject.commonName)
    names += [s.value for s in getattr(body, "subjectAlternativeNames", None) or []]
    csr = getattr(body, "csrPem", None)
    if csr:
        names += _csr_names(csr)
    rules = getattr(body, "rules", None)
    constraint = getattr(rules, "nameConstraint", None) if rules is not None else None
    if constraint is not None:
        names += list(getattr(constraint, "permittedDnsSubtrees", None) or [])
    return sorted({n.strip().lower().rstrip(".") for n in names if n and n.strip()})


def _issue_context(call: Call, issuing: str) -> dict[str, Any]:
    names = requested_names(call.body)
    return {"issuing": issuing, "names": names, "namesSuffix": common_dns_suffix(names)}


# -- resolvers ----------------------------------------------------------------------------------------


def _none(_: Call) -> list[Check]:
    return []


def _create_authority(call: Call) -> list[Check]:
    issuer = call.field("issuerCertificateAuthorityId")
    if issuer:
        return [call.authority("Issue", issuer, **_issue_context(call, "SUBORDINATE_CA"))]
    parent = call.field("parentCertificateAuthorityId")
    if parent:
        # Signed outside: the external root signs nothing here, so its reader may anchor a CA below it.
        return [call.service("CreateCertificateAuthority"), call.authority("Read", parent)]
    return [call.service("CreateCertificateAuthority")]


def _create_certificate(call: Call) -> list[Check]:
    issuer = call.field("issuerCertificateAuthorityId")
    # An import names no CA it is issued from (one given is refused as bad input by the service).
    if issuer and call.field("configType") is not CertificateConfigType.IMPORTED:
        return [call.authority("Issue", issuer, **_issue_context(call, "CERTIFICATE"))]
    return [call.service("CreateCertificate")]


def _renew_certificate(call: Call) -> list[Check]:
    certificate_id = call.args["certificate_id"]
    checks = [call.certificate("Renew", certificate_id)]
    issuer = call.services.certificates.get(certificate_id).issuer_ca_id
    if call.field("csrPem") and issuer:
        # A new CSR brings new names: the CA's issuers decide those as for a new certificate.
        checks.append(call.authority("Issue", issuer, **_issue_context(call, "CERTIFICATE")))
    return checks


def _bundle(call: Call) -> list[Check]:
    """Read the certificate; with includePrivateKey=true also ReadPrivateKey, both audited as key reads.

    What the decision point allows here, the key service still checks (the association's state and consent).
    """
    certificate_id = call.args["certificate_id"]
    read = call.certificate("Read", certificate_id)
    if (call.query("includePrivateKey") or "").lower() != "true":
        return [read]
    if (
        call.services.certificates.get(certificate_id).config_type
        is CertificateConfigType.MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA
    ):
        # Certwright holds no key of a CSR-managed certificate: nothing to decide, the service answers NoPrivateKey.
        return [read]
    key_read = "ReadPrivateKey"
    return [
        Check("Read", read.entity, read.resource_id, read.hidden, operation=key_read),
        Check(key_read, read.entity, read.resource_id, read.hidden, operation=key_read),
    ]


def _create_association(call: Call) -> list[Check]:
    certificate_id = call.field("certificateId")
    if certificate_id:
        return [call.certificate("Associate", certificate_id)]
    return [call.ca_bundle("Associate", call.field("caBundleId") or "")]


def _authorities_read(call: Call) -> list[Check]:
    return [call.authority("Read", a) for a in dict.fromkeys(call.field("certificateAuthorityIds") or [])]


def _create_ca_bundle(call: Call) -> list[Check]:
    return [call.service("CreateCaBundle"), *_authorities_read(call)]


def _ca_bundle_version(call: Call) -> list[Check]:
    return [call.ca_bundle("Renew", call.args["bundle_id"]), *_authorities_read(call)]


def _resource(call: Call, action: str, resource_id: str) -> Check:
    kind = resource_kind(resource_id)
    if kind is ResourceKind.AUTHORITY:
        return call.authority(action, resource_id)
    if kind is ResourceKind.CERTIFICATE:
        return call.certificate(action, resource_id)
    return call.ca_bundle(action, resource_id)


def _grant_on_body(call: Call) -> list[Check]:
    resource_id = call.field("resourceId") or ""
    check = _resource(call, "Grant", resource_id)
    check.context["role"] = call.field("role") or ""
    return [check]


def _grant_on_query(call: Call) -> list[Check]:
    resource_id = call.query("resourceId") or ""
    if not resource_id:
        raise InvalidInputError("resourceId is required: the id of a CA, a certificate or a CA bundle")
    return [_resource(call, "Grant", resource_id)]


def _grant_by_id(call: Call) -> list[Check]:
    grant = call.services.grants.get(call.args["grant_id"])
    try:
        check = _resource(call, "Grant", grant.resource_id)
    except NotFoundError as err:
        raise NotFoundError(f"grant {grant.id} not found") from err
    check.context["role"] = grant.role.value
    return [Check(check.action, check.entity, check.resource_id, f"grant {grant.id} not found", check.context)]


def _audit(call: Call) -> list[Check]:
    """ReadAudit on the resource; records of a resource that no longer exists are for admins only."""
    resource_id = call.query("resourceId") or ""
    services = call.services
    lookups: list[tuple[Callable[[str], Any], Callable[[Any], Entity]]] = [
        (services.store.get_certificate, services.authorizer.entities.certificate),
        (services.store.get_authority, services.authorizer.entities.authority),
        (services.ca_bundle_store.get_bundle, services.authorizer.entities.ca_bundle),
        (services.store.get_association, lambda a: association_entity(services, a)),
    ]
    for lookup, build in lookups:
        found = lookup(resource_id) if resource_id else None
        if found is not None:
            return [Check("ReadAudit", build(found), resource_id, f"resource {resource_id} not found")]
    if services.authorizer.entities.is_admin(call.principal):
        return []
    raise NotFoundError(f"resource {resource_id} not found")


def _eab_key(call: Call) -> list[Check]:
    """Anyone may hold EAB keys (an ACME account acts as its key's principal, never with more); one bound to a
    CA needs a CA the caller can see."""
    ca_id = call.field("certificateAuthorityId")
    return [call.authority("Read", ca_id)] if ca_id else []


def _eab_key_revocation(call: Call) -> list[Check]:
    """Revoke on the key: its owner (the principal it binds accounts to) or an admin; to anyone else it does not
    exist."""
    key_id = call.args["key_id"]
    key = call.services.eab_keys.get(key_id)
    if key is None:
        raise NotFoundError(f"EAB key {key_id} not found")
    return [Check("Revoke", call.services.authorizer.entities.eab_key(key), key_id, f"EAB key {key_id} not found")]


def _on(kind: str, action: str, arg: str) -> Resolver:
    def resolve(call: Call) -> list[Check]:
        return [getattr(call, kind)(action, call.args[arg])]

    return resolve


_CA, _CERT, _BUNDLE, _ASSOC = "authority", "certificate", "ca_bundle", "association"

RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): Rule("GetOpenApi", _none),
    # certificate authorities
    ("POST", "/certificate-authorities"): Rule("CreateCertificateAuthority", _create_authority),
    ("GET", "/certificate-authorities"): Rule("ListCertificateAuthorities", _none, lists=True),
    ("GET", "/certificate-authorities/{ca_id}"): Rule("GetCertificateAuthority", _on(_CA, "Read", "ca_id")),
    ("GET", "/certificate-authorities/{ca_id}/versions"): Rule(
        "ListCertificateAuthorityVersions", _on(_CA, "Read", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/versions"): Rule(
        "CreateCertificateAuthorityVersion", _on(_CA, "Renew", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/versions/{number}/actions/revoke"): Rule(
        "RevokeCertificateAuthorityVersion", _on(_CA, "Revoke", "ca_id")
    ),
    ("GET", "/certificate-authorities/{ca_id}/bundle"): Rule(
        "GetCertificateAuthorityBundle", _on(_CA, "Read", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/actions/schedule-deletion"): Rule(
        "ScheduleCertificateAuthorityDeletion", _on(_CA, "ScheduleDeletion", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/actions/cancel-deletion"): Rule(
        "CancelCertificateAuthorityDeletion", _on(_CA, "ScheduleDeletion", "ca_id")
    ),
    ("PUT", "/certificate-authorities/{ca_id}/tags"): Rule(
        "ReplaceCertificateAuthorityTags", _on(_CA, "Update", "ca_id")
    ),
    ("PATCH", "/certificate-authorities/{ca_id}"): Rule("UpdateCertificateAuthority", _on(_CA, "Update", "ca_id")),
    ("POST", "/certificate-authorities/{ca_id}/actions/disable"): Rule(
        "DisableCertificateAuthority", _on(_CA, "Disable", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/actions/enable"): Rule(
        "EnableCertificateAuthority", _on(_CA, "Disable", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/versions/{number}/actions/promote"): Rule(
        "PromoteCertificateAuthorityVersion", _on(_CA, "Promote", "ca_id")
    ),
    ("GET", "/certificate-authorities/{ca_id}/csr"): Rule("GetCertificateAuthorityCsr", _on(_CA, "Read", "ca_id")),
    ("POST", "/certificate-authorities/{ca_id}/actions/import-certificate"): Rule(
        "ImportCertificateAuthorityCertificate", _on(_CA, "Renew", "ca_id")
    ),
    ("GET", "/certificate-authorities/{ca_id}/versions/{number}"): Rule(
        "GetCertificateAuthorityVersion", _on(_CA, "Read", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/versions/{number}/actions/schedule-deletion"): Rule(
        "ScheduleCertificateAuthorityVersionDeletion", _on(_CA, "ScheduleDeletion", "ca_id")
    ),
    ("POST", "/certificate-authorities/{ca_id}/versions/{number}/actions/cancel-deletion"): Rule(
        "CancelCertificateAuthorityVersionDeletion", _on(_CA, "ScheduleDeletion", "ca_id")
    ),
    # certificates
    ("POST", "/certificates"): Rule("CreateCertificate", _create_certificate),
    ("GET", "/certificates"): Rule("ListCertificates", _none, lists=True),
    ("GET", "/certificates/{certificate_id}"): Rule("GetCertificate", _on(_CERT, "Read", "certificate_id")),
    ("PATCH", "/certificates/{certificate_id}"): Rule("UpdateCertificate", _on(_CERT, "Update", "certificate_id")),
    ("POST", "/certificates/{certificate_id}/versions"): Rule("CreateCertificateVersion", _renew_certificate),
    ("GET", "/certificates/{certificate_id}/versions"): Rule(
        "ListCertificateVersions", _on(_CERT, "Read", "certificate_id")
    ),
    ("GET", "/certificates/{certificate_id}/versions/{number}"): Rule(
        "GetCertificateVersion", _on(_CERT, "Read", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/versions/{number}/actions/promote"): Rule(
        "PromoteCertificateVersion", _on(_CERT, "Promote", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/versions/{number}/actions/revoke"): Rule(
        "RevokeCertificateVersion", _on(_CERT, "Revoke", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/actions/schedule-deletion"): Rule(
        "ScheduleCertificateDeletion", _on(_CERT, "ScheduleDeletion", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/actions/cancel-deletion"): Rule(
        "CancelCertificateDeletion", _on(_CERT, "ScheduleDeletion", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/versions/{number}/actions/schedule-deletion"): Rule(
        "ScheduleCertificateVersionDeletion", _on(_CERT, "ScheduleDeletion", "certificate_id")
    ),
    ("POST", "/certificates/{certificate_id}/versions/{number}/actions/cancel-deletion"): Rule(
        "CancelCertificateVersionDeletion", _on(_CERT, "ScheduleDeletion", "certificate_id")
    ),
    ("GET", "/certificates/{certificate_id}/bundle"): Rule("GetCertificateBundle", _bundle),
    # associations
    ("POST", "/associations"): Rule("CreateAssociation", _create_association),
    ("GET", "/associations"): Rule("ListAssociations", _none, lists=True),
    ("GET", "/associations/{association_id}"): Rule("GetAssociation", _on(_ASSOC, "Read", "association_id")),
    ("DELETE", "/associations/{association_id}"): Rule("DeleteAssociation", _on(_ASSOC, "Delete", "association_id")),
    # Whoever may read the association passes here; the association service then lets only its host confirm.
    ("POST", "/associations/{association_id}/actions/confirm"): Rule(
        "ConfirmAssociation", _on(_ASSOC, "Read", "association_id")
    ),
    # CA bundles
    ("POST", "/ca-bundles"): Rule("CreateCaBundle", _create_ca_bundle),
    ("GET", "/ca-bundles"): Rule("ListCaBundles", _none, lists=True),
    ("GET", "/ca-bundles/{bundle_id}"): Rule("GetCaBundle", _on(_BUNDLE, "Read", "bundle_id")),
    ("DELETE", "/ca-bundles/{bundle_id}"): Rule("DeleteCaBundle", _on(_BUNDLE, "Delete", "bundle_id")),
    ("POST", "/ca-bundles/{bundle_id}/versions"): Rule("CreateCaBundleVersion", _ca_bundle_version),
    ("GET", "/ca-bundles/{bundle_id}/versions"): Rule("ListCaBundleVersions", _on(_BUNDLE, "Read", "bundle_id")),
    ("GET", "/ca-bundles/{bundle_id}/versions/{number}"): Rule("GetCaBundleVersion", _on(_BUNDLE, "Read", "bundle_id")),
    ("GET", "/ca-bundles/{bundle_id}/bundle"): Rule("GetCaBundlePem", _on(_BUNDLE, "Read", "bundle_id")),
    ("GET", "/ca-bundles/{bundle_id}/associations"): Rule(
        "ListCaBundleAssociations", _on(_BUNDLE, "Read", "bundle_id")
    ),
    ("PUT", "/ca-bundles/{bundle_id}/tags"): Rule("ReplaceCaBundleTags", _on(_BUNDLE, "Update", "bundle_id")),
    # audit and grants
    ("GET", "/audit-events"): Rule("ListAuditEvents", _audit),
    ("POST", "/grants"): Rule("CreateGrant", _grant_on_body),
    ("GET", "/grants"): Rule("ListGrants", _grant_on_query),
    ("DELETE", "/grants/{grant_id}"): Rule("DeleteGrant", _grant_by_id),
    # hosts: any authenticated principal polls its own associations (the index on the caller decides which).
    ("POST", "/bundles/poll"): Rule("PollBundles", _none),
    # Like confirm: readers of the association pass here; the poll service then lets only its host report.
    ("POST", "/associations/{association_id}/actions/report-deployment"): Rule(
        "ReportDeployment", _on(_ASSOC, "Read", "association_id")
    ),
    # ACME External Account Binding keys: anyone holds their own; the owner or an admin revokes one.
    ("POST", "/acme/eab-keys"): Rule("CreateAcmeEabKey", _eab_key),
    # Anyone lists their own; ?principal= another's lists only the keys the caller may Read (admins: all).
    ("GET", "/acme/eab-keys"): Rule("ListAcmeEabKeys", _none, lists=True),
    ("DELETE", "/acme/eab-keys/{key_id}"): Rule("RevokeAcmeEabKey", _eab_key_revocation),
}


def served_routes(app: ApiGatewayResolver) -> set[tuple[str, str]]:
    return {(r.method, r.openapi_path) for r in (*app._static_routes, *app._dynamic_routes)}


def principal_of(event: Any) -> Principal:
    """The caller: requestContext.identity.userArn only (identity.caller is a principal id, never an ARN)."""
    if not isinstance(event, APIGatewayProxyEvent):
        raise AccessDeniedError("request is not authenticated")
    return principal_from_arn(event.request_context.identity.user_arn or "")


def _visible(services: Container, principal: Principal) -> visibility.Predicate:
    authorizer: Authorizer = services.authorizer
    entities = authorizer.entities

    def predicate(item: object) -> bool:
        if isinstance(item, CertificateAuthority):
            entity = entities.authority(item)
        elif isinstance(item, Certificate):
            entity = entities.certificate(item)
        elif isinstance(item, CaBundle):
            entity = entities.ca_bundle(item)
        elif isinstance(item, Association):
            entity = association_entity(services, item)
        elif isinstance(item, EabKey):
            entity = entities.eab_key(item)
        else:
            return False
        return authorizer.may_read(principal, entity)

    return predicate


def enforce(services: Container, app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
    route = app.context.get("_route")
    key = (route.method, route.openapi_path) if route is not None else None
    rule = RULES.get(key) if key is not None else None
    principal = principal_of(app.current_event)
    if rule is None:
        if key is None or key not in served_routes(app):
            return next_middleware(app)  # no such route: the resolver's 404 answers
        raise AccessDeniedError("this operation is not open to anyone")
    args = dict(app.context.get("_route_args") or {})
    body = next((v for v in args.values() if isinstance(v, BaseModel)), None)
    call = Call(principal, args, body, app.current_event.get_query_string_value, services)
    for check in rule.resolve(call):
        services.authorizer.require(
            principal,
            check.action,
            check.entity,
            operation=check.operation or rule.operation,
            resource_id=check.resource_id,
            hidden=check.hidden,
            context=check.context,
        )
    with visibility.scope(_visible(services, principal)):
        return next_middleware(app)
