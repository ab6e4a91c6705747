"""Routes under /certificate-authorities."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from certwright.api import presenters
from certwright.api.inventory import (
    CaSerialQuery,
    IssuerQuery,
    LifecycleQuery,
    NamePrefixQuery,
    NameQuery,
    NotAfterAfterQuery,
    NotAfterBeforeQuery,
    SearchLimit,
    SearchPageToken,
    SortByQuery,
    SortOrderQuery,
    TagQuery,
    inventory_query,
    is_filtered,
)
from certwright.api.presenters import (
    AuthorityChainOut,
    AuthorityCsrOut,
    AuthorityOut,
    AuthorityPage,
    AuthorityVersionOut,
    AuthorityVersionPage,
)
from certwright.api.request import (
    LIST,
    READ,
    WRITE,
    IdempotencyKey,
    VersionNumber,
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
    CreateAuthorityRequest,
    CreateAuthorityVersion,
    ImportCaCertificate,
    ReplaceTags,
    RevokeVersion,
    ScheduleDeletion,
    UpdateAuthority,
)
from certwright.domain.inventory import SortOrder

router = Router()


@router.post("/certificate-authorities", responses=answers(201, AuthorityOut, WRITE))
def create_authority(
    request: Annotated[CreateAuthorityRequest, Body()], idempotency_key: IdempotencyKey = None
) -> Response[str]:
    return create(
        router,
        "CreateCertificateAuthority",
        request,
        lambda: presenters.authority(services().authorities.create_any(request.command(), caller(router))),
        idempotency_key,
    )


@router.get("/certificate-authorities", responses=answers(200, AuthorityPage, LIST))
def list_authorities(
    limit: SearchLimit = 50,
    page_token: SearchPageToken = None,
    name: NameQuery = None,
    name_prefix: NamePrefixQuery = None,
    lifecycle_state: LifecycleQuery = None,
    issuer_certificate_authority_id: IssuerQuery = None,
    serial_number: CaSerialQuery = None,
    not_after_before: NotAfterBeforeQuery = None,
    not_after_after: NotAfterAfterQuery = None,
    tag: TagQuery = None,
    sort_by: SortByQuery = None,
    sort_order: SortOrderQuery = SortOrder.ASC,
) -> Response[str]:
    """CAs the caller may read, filtered (every given filter must hold) and sorted; see docs/inventory.md."""
    query = inventory_query(
        name=name,
        name_prefix=name_prefix,
        lifecycle_state=lifecycle_state,
        issuer_id=issuer_certificate_authority_id,
        serial_number=serial_number,
        not_after_before=not_after_before,
        not_after_after=not_after_after,
        tags=tag,
        sort_by=sort_by,
        sort_order=sort_order,
    )
    if is_filtered(query):
        result = services().authorities.search(query, limit, page_start(router, page_token))
    else:
        result = services().authorities.list_page(limit, page_start(router, page_token))
    return json_response(next_page(router, [presenters.authority(ca) for ca in result.items], result.next_token))


@router.get("/certificate-authorities/<ca_id>", responses=answers(200, AuthorityOut, READ))
def get_authority(ca_id: str) -> Response[str]:
    return json_response(presenters.authority(services().authorities.get(ca_id)))


@router.get("/certificate-authorities/<ca_id>/versions", responses=answers(200, AuthorityVersionPage, READ))
def list_authority_versions(ca_id: str) -> Response[str]:
    versions = services().authorities.versions(ca_id)
    return json_response(page([presenters.authority_version(v) for v in versions], None))


@router.post("/certificate-authorities/<ca_id>/versions", responses=answers(201, AuthorityOut, WRITE))
def create_authority_version(
    ca_id: str, request: CreateAuthorityVersion, idempotency_key: IdempotencyKey = None
) -> Response[str]:
    return create(
        router,
        f"CreateCertificateAuthorityVersion:{ca_id}",
        request,
        lambda: presenters.authority(
            services().authorities.create_version(
                ca_id,
                request.validityDuration,
                caller(router),
                certificate_pem=request.certificatePem,
                stage=request.stage,
            )
        ),
        idempotency_key,
    )


@router.post(
    "/certificate-authorities/<ca_id>/versions/<number>/actions/revoke", responses=answers(200, AuthorityOut, WRITE)
)
def revoke_authority_version(ca_id: str, number: VersionNumber, request: RevokeVersion) -> Response[str]:
    ca = services().revocation.revoke_authority_version(ca_id, number, request.command(), caller(router))
    return json_response(presenters.authority(ca))


@router.get("/certificate-authorities/<ca_id>/bundle", responses=answers(200, AuthorityChainOut, READ))
def get_authority_bundle(ca_id: str) -> Response[str]:
    certificate_pem, chain = services().authorities.chain_pems(ca_id)
    return json_response(
        {"certificateAuthorityId": ca_id, "certificatePem": certificate_pem, "certChainPem": "".join(chain)}
    )


@router.post("/certificate-authorities/<ca_id>/actions/schedule-deletion", responses=answers(200, AuthorityOut, WRITE))
def schedule_authority_deletion(ca_id: str, request: ScheduleDeletion) -> Response[str]:
    ca = services().authorities.schedule_deletion(ca_id, request.command(), caller(router))
    return json_response(presenters.authority(ca))


@router.post("/certificate-authorities/<ca_id>/actions/cancel-deletion", responses=answers(200, AuthorityOut, WRITE))
def cancel_authority_deletion(ca_id: str) -> Response[str]:
    return json_response(presenters.authority(services().authorities.cancel_deletion(ca_id, caller(router))))


@router.put("/certificate-authorities/<ca_id>/tags", responses=answers(200, AuthorityOut, WRITE))
def replace_authority_tags(ca_id: str, request: ReplaceTags) -> Response[str]:
    """Replace the CA's freeform tags with the given set ({} removes them all)."""
    ca = services().authorities.replace_tags(ca_id, request.tags(), caller(router))
    return json_response(presenters.authority(ca))


@router.patch("/certificate-authorities/<ca_id>", responses=answers(200, AuthorityOut, WRITE))
def update_authority(ca_id: str, request: UpdateAuthority) -> Response[str]:
    # A crlSettings change reaches the CRL publisher as CertificateAuthorityCrlSettingsChanged (the outbox).
    ca = services().authorities.update(ca_id, request.command(), caller(router))
    return json_response(presenters.authority(ca))


@router.post("/certificate-authorities/<ca_id>/actions/disable", responses=answers(200, AuthorityOut, WRITE))
def disable_authority(ca_id: str) -> Response[str]:
    ca = services().authorities.set_issuance(ca_id, enabled=False, caller=caller(router))
    return json_response(presenters.authority(ca))


@router.post("/certificate-authorities/<ca_id>/actions/enable", responses=answers(200, AuthorityOut, WRITE))
def enable_authority(ca_id: str) -> Response[str]:
    ca = services().authorities.set_issuance(ca_id, enabled=True, caller=caller(router))
    return json_response(presenters.authority(ca))


@router.get("/certificate-authorities/<ca_id>/versions/<number>", responses=answers(200, AuthorityVersionOut, READ))
def get_authority_version(ca_id: str, number: VersionNumber) -> Response[str]:
    return json_response(presenters.authority_version(services().authorities.get_version(ca_id, number)))


# 409 NoPendingCsr: the CA is not waiting for a certificate from an outside CA.
@router.get("/certificate-authorities/<ca_id>/csr", responses=answers(200, AuthorityCsrOut, (*READ, 409)))
def get_authority_csr(ca_id: str) -> Response[str]:
    ca, csr = services().authorities.csr(ca_id)
    return json_response({"certificateAuthorityId": ca.id, "lifecycleState": ca.lifecycle_state.value, "csrPem": csr})


@router.post("/certificate-authorities/<ca_id>/actions/import-certificate", responses=answers(200, AuthorityOut, WRITE))
def import_authority_certificate(ca_id: str, request: ImportCaCertificate) -> Response[str]:
    ca = services().authorities.import_certificate(ca_id, request.certificatePem, request.chainPem, caller(router))
    return json_response(presenters.authority(ca))


@router.post(
    "/certificate-authorities/<ca_id>/versions/<number>/actions/promote", responses=answers(200, AuthorityOut, WRITE)
)
def promote_authority_version(ca_id: str, number: VersionNumber) -> Response[str]:
    return json_response(presenters.authority(services().authorities.promote_version(ca_id, number, caller(router))))


@router.post(
    "/certificate-authorities/<ca_id>/versions/<number>/actions/schedule-deletion",
    responses=answers(200, AuthorityVersionOut, WRITE),
)
def schedule_authority_version_deletion(ca_id: str, number: VersionNumber, request: ScheduleDeletion) -> Response[str]:
    version = services().authorities.schedule_version_deletion(ca_id, number, request.command(), caller(router))
    return json_response(presenters.authority_version(version))


@router.post(
    "/certificate-authorities/<ca_id>/versions/<number>/actions/cancel-deletion",
    responses=answers(200, AuthorityVersionOut, WRITE),
)
def cancel_authority_version_deletion(ca_id: str, number: VersionNumber) -> Response[str]:
    version = services().authorities.cancel_version_deletion(ca_id, number, caller(router))
    return json_response(presenters.authority_version(version))
