"""Routes under /certificates: create, read, update, versions, stages, bundles and deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from certwright.api import presenters
from certwright.api.inventory import (
    DeploymentStateQuery,
    HostnameQuery,
    InUseQuery,
    IssuerQuery,
    LifecycleQuery,
    NamePrefixQuery,
    NameQuery,
    NotAfterAfterQuery,
    NotAfterBeforeQuery,
    SanQuery,
    SearchLimit,
    SearchPageToken,
    SortByQuery,
    SortOrderQuery,
    TagQuery,
    inventory_query,
    is_filtered,
)
from certwright.api.presenters import (
    BundleOut,
    CertificateOut,
    CertificatePage,
    RevokedVersionOut,
    VersionOut,
    VersionPage,
)
from certwright.api.request import (
    LIST,
    READ,
    WRITE,
    IdempotencyKey,
    IncludePrivateKey,
    StageQuery,
    VersionNumber,
    VersionQuery,
    answers,
    caller,
    create,
    json_response,
    next_page,
    page,
    page_start,
    services,
)
from certwright.api.requests import (
    CreateCertificateRequest,
    CreateVersion,
    RevokeVersion,
    ScheduleDeletion,
    UpdateCertificate,
)
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import SortOrder

router = Router()


def _present(certificate: Certificate) -> dict[str, Any]:
    return presenters.certificate(certificate, services().certificates.current(certificate), _now())


def _now() -> datetime:
    return services().certificates.now()


@router.post("/certificates", responses=answers(201, CertificateOut, WRITE))
def create_certificate(
    request: Annotated[CreateCertificateRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def action() -> dict[str, Any]:
        certificate, version = services().issuance.create(request.command(), caller(router))
        return presenters.certificate(certificate, version, _now())

    return create(router, "CreateCertificate", request, action, idempotency_key)


SerialQuery = Annotated[
    str | None,
    Query(alias="serialNumber", min_length=1, max_length=59, description="only the certificate with this serial (hex)"),
]
FingerprintQuery = Annotated[
    str | None,
    Query(
        alias="fingerprintSha256", min_length=64, max_length=95, description="only the certificate with this SHA-256"
    ),
]


@router.get("/certificates", responses=answers(200, CertificatePage, LIST))
def list_certificates(
    limit: SearchLimit = 50,
    page_token: SearchPageToken = None,
    serial_number: SerialQuery = None,
    fingerprint_sha256: FingerprintQuery = None,
    name: NameQuery = None,
    name_prefix: NamePrefixQuery = None,
    lifecycle_state: LifecycleQuery = None,
    issuer_certificate_authority_id: IssuerQuery = None,
    san: SanQuery = None,
    hostname: HostnameQuery = None,
    not_after_before: NotAfterBeforeQuery = None,
    not_after_after: NotAfterAfterQuery = None,
    in_use: InUseQuery = None,
    deployment_state: DeploymentStateQuery = None,
    tag: TagQuery = None,
    sort_by: SortByQuery = None,
    sort_order: SortOrderQuery = SortOrder.ASC,
) -> Response[str]:
    """Certificates the caller may read, filtered (every given filter must hold) and sorted; see docs/inventory.md."""
    query = inventory_query(
        name=name,
        name_prefix=name_prefix,
        lifecycle_state=lifecycle_state,
        issuer_id=issuer_certificate_authority_id,
        san=san,
        hostname=hostname,
        not_after_before=not_after_before,
        not_after_after=not_after_after,
        in_use=in_use,
        deployment_state=deployment_state,
        tags=tag,
        sort_by=sort_by,
        sort_order=sort_order,
    )
    if serial_number is not None or fingerprint_sha256 is not None:
        # Find by what a client sees: one index query, every match on one page.
        found = services().certificates.narrow(services().lookup.find(serial_number, fingerprint_sha256), query)
        return json_response(page([_present(c) for c in found], None))
    if is_filtered(query):
        result = services().certificates.search(query, limit, page_start(router, page_token))
    else:
        result = services().certificates.list_page(limit, page_start(router, page_token))
    return json_response(next_page(router, [_present(c) for c in result.items], result.next_token))


@router.get("/certificates/<certificate_id>", responses=answers(200, CertificateOut, READ))
def get_certificate(certificate_id: str) -> Response[str]:
    return json_response(_present(services().certificates.get(certificate_id)))


@router.patch("/certificates/<certificate_id>", responses=answers(200, CertificateOut, WRITE))
def update_certificate(certificate_id: str, request: UpdateCertificate) -> Response[str]:
    updated = services().certificates.update(certificate_id, request.command(), caller(router))
    return json_response(_present(updated))


@router.post("/certificates/<certificate_id>/versions", responses=answers(201, VersionOut, WRITE))
def create_version(
    certificate_id: str, request: CreateVersion, idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def action() -> dict[str, Any]:
        _, version = services().issuance.create_version(request.command(certificate_id), caller(router))
        return presenters.version(version, _now())

    return create(router, f"CreateCertificateVersion:{certificate_id}", request, action, idempotency_key)


@router.get("/certificates/<certificate_id>/versions", responses=answers(200, VersionPage, READ))
def list_versions(certificate_id: str) -> Response[str]:
    versions, now = services().certificates.versions(certificate_id), _now()
    return json_response(page([presenters.version(v, now) for v in versions], None))


@router.get("/certificates/<certificate_id>/versions/<number>", responses=answers(200, VersionOut, READ))
def get_version(certificate_id: str, number: VersionNumber) -> Response[str]:
    return json_response(presenters.version(services().certificates.version(certificate_id, number), _now()))


@router.post(
    "/certificates/<certificate_id>/versions/<number>/actions/promote", responses=answers(200, CertificateOut, WRITE)
)
def promote_version(certificate_id: str, number: VersionNumber) -> Response[str]:
    certificate = services().certificates.promote(certificate_id, number, caller(router))
    return json_response(_present(certificate))


@router.post(
    "/certificates/<certificate_id>/versions/<number>/actions/revoke",
    responses=answers(200, RevokedVersionOut, WRITE),
)
def revoke_version(certificate_id: str, number: VersionNumber, request: RevokeVersion) -> Response[str]:
    outcome = services().revocation.revoke_certificate_version(
        certificate_id, number, request.command(), caller(router)
    )
    replacement = outcome.replacement
    return json_response(
        {
            **presenters.version(outcome.version, _now()),
            "replacement": None
            if replacement is None
            else {
                "state": replacement.state,
                "versionNumber": replacement.version_number,
                "message": replacement.message,
            },
        }
    )


@router.post("/certificates/<certificate_id>/actions/schedule-deletion", responses=answers(200, CertificateOut, WRITE))
def schedule_deletion(certificate_id: str, request: ScheduleDeletion) -> Response[str]:
    scheduled = services().certificates.schedule_deletion(certificate_id, request.command(), caller(router))
    return json_response(_present(scheduled))


@router.post("/certificates/<certificate_id>/actions/cancel-deletion", responses=answers(200, CertificateOut, WRITE))
def cancel_deletion(certificate_id: str) -> Response[str]:
    return json_response(_present(services().certificates.cancel_deletion(certificate_id, caller(router))))


@router.post(
    "/certificates/<certificate_id>/versions/<number>/actions/schedule-deletion",
    responses=answers(200, VersionOut, WRITE),
)
def schedule_version_deletion(certificate_id: str, number: VersionNumber, request: ScheduleDeletion) -> Response[str]:
    version = services().deletion.schedule_version_deletion(certificate_id, number, request.command(), caller(router))
    return json_response(presenters.version(version, _now()))


@router.post(
    "/certificates/<certificate_id>/versions/<number>/actions/cancel-deletion",
    responses=answers(200, VersionOut, WRITE),
)
def cancel_version_deletion(certificate_id: str, number: VersionNumber) -> Response[str]:
    version = services().deletion.cancel_version_deletion(certificate_id, number, caller(router))
    return json_response(presenters.version(version, _now()))


@router.get("/certificates/<certificate_id>/bundle", responses=answers(200, BundleOut, READ))
def get_bundle(
    certificate_id: str,
    stage: StageQuery = None,
    version_number: VersionQuery = None,
    include_private_key: IncludePrivateKey = "false",
) -> Response[str]:
    bundle = services().bundles.get(
        certificate_id,
        stage=stage,
        version_number=version_number,
        include_private_key=include_private_key == "true",
        caller=caller(router),
    )
    return json_response(presenters.bundle(bundle.certificate, bundle.version, bundle.private_key_pem))
