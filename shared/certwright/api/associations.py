"""Routes under /associations."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api import presenters
from certwright.api.request import caller, create, json_response, page, paging, services
from certwright.services.commands import CreateAssociation

router = Router()


@router.post("/associations")
def create_association(command: CreateAssociation) -> Response[str]:
    return create(
        router,
        "CreateAssociation",
        command,
        lambda: presenters.association(services().associations.create(command, caller(router))),
    )


@router.get("/associations")
def list_associations() -> Response[str]:
    limit, token = paging(router)
    certificate_id = router.current_event.get_query_string_value("certificateId")
    result = services().associations.list_page(certificate_id, limit, token)
    return json_response(page([presenters.association(a) for a in result.items], result.next_token))


@router.get("/associations/<association_id>")
def get_association(association_id: str) -> Response[str]:
    return json_response(presenters.association(services().associations.get(association_id)))


@router.post("/associations/<association_id>/actions/confirm")
def confirm_association(association_id: str) -> Response[str]:
    """The host (IAM role or user) of an association consents by calling with its own identity."""
    return json_response(presenters.association(services().associations.confirm(association_id, caller(router))))


@router.delete("/associations/<association_id>")
def delete_association(association_id: str) -> Response[str]:
    services().associations.delete(association_id, caller(router))
    return Response(status_code=204, body="")
