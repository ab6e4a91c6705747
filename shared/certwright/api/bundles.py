"""Routes for hosts: the batch poll (POST /bundles/poll) and the report of a deployment back to its association."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from certwright.api import presenters
from certwright.api.presenters import AssociationOut, PollOut
from certwright.api.request import WRITE, answers, caller, json_response, services
from certwright.api.requests import PollBundles, ReportDeployment
from certwright.services.poll import matches

router = Router()

# A poll only reads; its body can still be too large or not JSON.
POLL_ERRORS = (400, 403, 413, 415, 502, 503)

IfNoneMatch = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        max_length=1024,
        description="the etag of an earlier answer: 304 with no body while nothing changed",
    ),
]


def _poll_answers() -> dict[int, OpenAPIResponse]:
    table = answers(200, PollOut, POLL_ERRORS)
    table[304] = {"description": "not modified: If-None-Match names the current etag (no body)", "content": {}}
    return table


@router.post("/bundles/poll", responses=_poll_answers())
def poll_bundles(command: PollBundles, if_none_match: IfNoneMatch = None) -> Response[str]:
    """Every certificate the calling host is associated with: CURRENT version, serial, notAfter (no key, no KMS)."""
    result = services().poll.poll(caller(router), command.certificateIds)
    headers = {"ETag": result.etag, "Cache-Control": "no-store"}
    if matches(if_none_match, result.etag):
        return Response(status_code=304, body="", headers=headers)
    body: dict[str, Any] = {
        "etag": result.etag,
        "items": [
            presenters.poll_item(i.binding.association, i.binding.certificate, i.binding.version, i.etag)
            for i in result.items
        ],
        "omitted": result.omitted,
    }
    answer = json_response(body)
    answer.headers.update(headers)
    return answer


@router.post("/associations/<association_id>/actions/report-deployment", responses=answers(200, AssociationOut, WRITE))
def report_deployment(association_id: str, command: ReportDeployment) -> Response[str]:
    """The association's host reports the version it installed (DEPLOYED, verified or not) or why it could not."""
    return json_response(
        presenters.association(services().poll.report_deployment(association_id, command.command(), caller(router)))
    )
