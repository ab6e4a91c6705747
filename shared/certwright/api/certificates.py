"""Routes under /certificates: create, read, update, versions, stages, bundles and deletion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api import presenters
from certwright.api.request import caller, create, json_response, page, paging, services
from certwright.domain.certificate import Certificate
from certwright.errors import InvalidInputError
from certwright.services.commands import (
    CreateCertificate,
    CreateVersion,
    RevokeVersion,
    ScheduleDeletion,
    UpdateCertificate,
)

router = Router()


def _present(certificate: Certificate) -> dict[str, Any]:
    return presenters.certificate(certificate, services().certificates.current(certificate), _now())


def _now() -> datetime:
    return services().certificates.now()


def _version_number(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 10**8:
        raise InvalidInputError("version number must be a positive integer")
    return int(raw)


@router.post("/certificates")
def create_certificate(command: CreateCertificate) -> Response[str]:
    def action() -> dict[str, Any]:
        certificate, version = services().issuance.create(command, caller(router))
        return presenters.certificate(certificate, version, _now())

    return create(router, "CreateCertificate", command, action)


@router.get("/certificates")
def list_certificates() -> Response[str]:
    limit, token = paging(router)
    result = services().certificates.list_page(limit, token)
    return json_response(page([_present(c) for c in result.items], result.next_token))


@router.get("/certificates/<certificate_id>")
def get_certificate(certificate_id: str) -> Response[str]:
    return json_response(_present(services().certificates.get(certificate_id)))


@router.patch("/certificates/<certificate_id>")
def update_certificate(certificate_id: str, command: UpdateCertificate) -> Response[str]:
    return json_response(_present(services().certificates.update(certificate_id, command, caller(router))))


@router.post("/certificates/<certificate_id>/versions")
def create_version(certificate_id: str, command: CreateVersion) -> Response[str]:
    def action() -> dict[str, Any]:
        _, version = services().issuance.create_version(certificate_id, command, caller(router))
        return presenters.version(version, _now())

    return create(router, f"CreateCertificateVersion:{certificate_id}", command, action)


@router.get("/certificates/<certificate_id>/versions")
def list_versions(certificate_id: str) -> Response[str]:
    versions, now = services().certificates.versions(certificate_id), _now()
    return json_response(page([presenters.version(v, now) for v in versions], None))


@router.get("/certificates/<certificate_id>/versions/<number>")
def get_version(certificate_id: str, number: str) -> Response[str]:
    version = services().certificates.version(certificate_id, _version_number(number))
    return json_response(presenters.version(version, _now()))


@router.post("/certificates/<certificate_id>/versions/<number>/actions/promote")
def promote_version(certificate_id: str, number: str) -> Response[str]:
    certificate = services().certificates.promote(certificate_id, _version_number(number), caller(router))
    return json_response(_present(certificate))


@router.post("/certificates/<certificate_id>/versions/<number>/actions/revoke")
def revoke_version(certificate_id: str, number: str, command: RevokeVersion) -> Response[str]:
    outcome = services().revocation.revoke_certificate_version(
        certificate_id, _version_number(number), command, caller(router)
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


@router.post("/certificates/<certificate_id>/actions/schedule-deletion")
def schedule_deletion(certificate_id: str, command: ScheduleDeletion) -> Response[str]:
    return json_response(_present(services().certificates.schedule_deletion(certificate_id, command, caller(router))))


@router.post("/certificates/<certificate_id>/actions/cancel-deletion")
def cancel_deletion(certificate_id: str) -> Response[str]:
    return json_response(_present(services().certificates.cancel_deletion(certificate_id, caller(router))))


@router.post("/certificates/<certificate_id>/versions/<number>/actions/schedule-deletion")
def schedule_version_deletion(certificate_id: str, number: str, command: ScheduleDeletion) -> Response[str]:
    version = services().deletion.schedule_version_deletion(
        certificate_id, _version_number(number), command, caller(router)
    )
    return json_response(presenters.version(version, _now()))


@router.post("/certificates/<certificate_id>/versions/<number>/actions/cancel-deletion")
def cancel_version_deletion(certificate_id: str, number: str) -> Response[str]:
    version = services().deletion.cancel_version_deletion(certificate_id, _version_number(number), caller(router))
    return json_response(presenters.version(version, _now()))


@router.get("/certificates/<certificate_id>/bundle")
def get_bundle(certificate_id: str) -> Response[str]:
    event = router.current_event
    number = event.get_query_string_value("versionNumber")
    include = (event.get_query_string_value("includePrivateKey") or "false").lower()
    if include not in ("true", "false"):
        raise InvalidInputError("includePrivateKey must be true or false")
    bundle = services().bundles.get(
        certificate_id,
        stage=event.get_query_string_value("stage"),
        version_number=_version_number(number) if number else None,
        include_private_key=include == "true",
        caller=caller(router),
    )
    return json_response(presenters.bundle(bundle.certificate, bundle.version, bundle.private_key_pem))
