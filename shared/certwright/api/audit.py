"""Routes under /audit-events: a resource's audit trail (who, what, when, result, details), newest first."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from certwright.api.presenters import AuditEventPage
from certwright.api.request import (
    PAGE_ALPHABET,
    READ,
    Limit,
    PageToken,
    answers,
    json_response,
    next_page,
    page_start,
    services,
)
from certwright.domain.audit import AuditRecord
from certwright.errors import InvalidInputError

router = Router()
MAX_RESOURCE_ID = 128

ResourceId = Annotated[
    str,
    Query(
        alias="resourceId",
        min_length=1,
        max_length=MAX_RESOURCE_ID,
        description="the id of a certificate, CA, CA bundle or association (grants: a CA, certificate or CA bundle)",
    ),
]
# nextToken is this route's name for the page token; `page` (as on the other lists) works too.
NextToken = Annotated[
    str | None, Query(alias="nextToken", min_length=1, max_length=3000, pattern=PAGE_ALPHABET, description="= page")
]


def _present(r: AuditRecord) -> dict[str, Any]:
    return {
        "resourceId": r.resource_id,
        "action": r.action,
        "caller": r.actor,
        "time": r.at.isoformat(),
        "result": r.result,
        "details": dict(r.details),
    }


@router.get("/audit-events", responses=answers(200, AuditEventPage, READ))
def list_audit_events(
    resource_id: ResourceId, limit: Limit = 50, page_token: PageToken = None, next_token: NextToken = None
) -> Response[str]:
    if not resource_id.isprintable():
        raise InvalidInputError("resourceId is required: the id of a certificate, CA or association")
    result = services().audit.list_for(resource_id, limit, page_start(router, next_token or page_token))
    body = next_page(router, [_present(r) for r in result.items], result.next_token)
    return json_response(body | {"nextToken": body["nextPage"]})
