"""Routes under /audit-events: a resource's audit trail (who, what, when, result, details), newest first."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api.request import json_response, page, paging, services
from certwright.domain.audit import AuditRecord
from certwright.errors import InvalidInputError

router = Router()
MAX_RESOURCE_ID = 128


def _present(r: AuditRecord) -> dict[str, Any]:
    return {
        "resourceId": r.resource_id,
        "action": r.action,
        "caller": r.actor,
        "time": r.at.isoformat(),
        "result": r.result,
        "details": dict(r.details),
    }


@router.get("/audit-events")
def list_audit_events() -> Response[str]:
    event = router.current_event
    resource_id = event.get_query_string_value("resourceId") or ""
    if not resource_id or len(resource_id) > MAX_RESOURCE_ID or not resource_id.isprintable():
        raise InvalidInputError("resourceId is required: the id of a certificate, CA or association")
    limit, token = paging(router)
    # nextToken is this route's name for the page token; `page` (as on the other lists) works too.
    token = event.get_query_string_value("nextToken") or token
    result = services().audit.list_for(resource_id, limit, token)
    body = page([_present(r) for r in result.items], result.next_token)
    return json_response(body | {"nextToken": result.next_token})
