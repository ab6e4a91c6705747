"""Routes under /grants: give a principal a role on a resource, list a resource's grants, take one back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api.audit import ResourceId
from certwright.api.presenters import GrantOut, GrantPage
from certwright.api.request import READ, WRITE, IdempotencyKey, answers, caller, create, json_response, page, services
from certwright.api.requests import CreateGrant
from certwright.authorization.grants import Grant

router = Router()


def present(g: Grant) -> dict[str, Any]:
    return {
        "id": g.id,
        "resourceId": g.resource_id,
        "principalArn": g.principal_arn,
        "role": g.role.value,
        "createdBy": g.created_by,
        "timeCreated": g.created_at.isoformat(),
    }


@router.post("/grants", responses=answers(201, GrantOut, WRITE))
def create_grant(request: CreateGrant, idempotency_key: IdempotencyKey = None) -> Response[str]:
    return create(
        router,
        "CreateGrant",
        request,
        lambda: present(services().grants.create(request.command(), caller(router))),
        idempotency_key,
    )


@router.get("/grants", responses=answers(200, GrantPage, READ))
def list_grants(resource_id: ResourceId) -> Response[str]:
    return json_response(page([present(g) for g in services().grants.of(resource_id)], None))


@router.delete("/grants/<grant_id>", responses=answers(204, None, WRITE))
def delete_grant(grant_id: str) -> Response[str]:
    services().grants.delete(grant_id, caller(router))
    return Response(status_code=204, body="")
