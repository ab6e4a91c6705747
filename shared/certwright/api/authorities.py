"""Routes under /certificate-authorities."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api import presenters
from certwright.api.request import caller, create, json_response, page, paging, services
from certwright.errors import InvalidInputError
from certwright.services.commands import CreateAuthority, CreateAuthorityVersion, RevokeVersion, ScheduleDeletion

router = Router()


@router.post("/certificate-authorities")
def create_authority(command: CreateAuthority) -> Response[str]:
    return create(
        router,
        "CreateCertificateAuthority",
        command,
        lambda: presenters.authority(services().authorities.create(command, caller(router))),
    )


@router.get("/certificate-authorities")
def list_authorities() -> Response[str]:
    limit, token = paging(router)
    result = services().authorities.list_page(limit, token)
    return json_response(page([presenters.authority(ca) for ca in result.items], result.next_token))


@router.get("/certificate-authorities/<ca_id>")
def get_authority(ca_id: str) -> Response[str]:
    return json_response(presenters.authority(services().authorities.get(ca_id)))


@router.get("/certificate-authorities/<ca_id>/versions")
def list_authority_versions(ca_id: str) -> Response[str]:
    versions = services().authorities.versions(ca_id)
    return json_response(page([presenters.authority_version(v) for v in versions], None))


@router.post("/certificate-authorities/<ca_id>/versions")
def create_authority_version(ca_id: str, command: CreateAuthorityVersion) -> Response[str]:
    return create(
        router,
        f"CreateCertificateAuthorityVersion:{ca_id}",
        command,
        lambda: presenters.authority(services().authorities.create_version(ca_id, command, caller(router))),
    )


@router.post("/certificate-authorities/<ca_id>/versions/<number>/actions/revoke")
def revoke_authority_version(ca_id: str, number: str, command: RevokeVersion) -> Response[str]:
    if not number.isdigit() or not 0 < int(number) < 10**8:
        raise InvalidInputError("version number must be a positive integer")
    ca = services().revocation.revoke_authority_version(ca_id, int(number), command, caller(router))
    return json_response(presenters.authority(ca))


@router.get("/certificate-authorities/<ca_id>/bundle")
def get_authority_bundle(ca_id: str) -> Response[str]:
    certificate_pem, chain = services().authorities.chain_pems(ca_id)
    return json_response(
        {"certificateAuthorityId": ca_id, "certificatePem": certificate_pem, "certChainPem": "".join(chain)}
    )


@router.post("/certificate-authorities/<ca_id>/actions/schedule-deletion")
def schedule_authority_deletion(ca_id: str, command: ScheduleDeletion) -> Response[str]:
    ca = services().authorities.schedule_deletion(ca_id, command, caller(router))
    return json_response(presenters.authority(ca))


@router.post("/certificate-authorities/<ca_id>/actions/cancel-deletion")
def cancel_authority_deletion(ca_id: str) -> Response[str]:
    return json_response(presenters.authority(services().authorities.cancel_deletion(ca_id, caller(router))))
