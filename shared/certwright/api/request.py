"""Request helpers shared by the routers: caller identity, paging, idempotent creation, JSON answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from certwright import bootstrap
from certwright.authorization.identity import principal_from_arn
from certwright.bootstrap import Container
from certwright.errors import AccessDeniedError, InvalidInputError
from certwright.services.reservation import request_token, reserving

MAX_PAGE = 100


def services() -> Container:
    return bootstrap.container()


def caller(router: Router) -> str:
    """The caller's ARN as API Gateway's IAM authentication reported it (requestContext.identity.userArn).

    Only userArn identifies the caller: identity.caller is a principal id (AROA…:session), never an ARN, and
    the body never names the caller. The ARN is returned as given (a session ARN keeps its session name for
    the audit); certwright.authorization.identity normalizes it for matching.
    """
    event = router.current_event
    if not isinstance(event, APIGatewayProxyEvent):
        raise AccessDeniedError("request is not authenticated")
    return principal_from_arn(event.request_context.identity.user_arn or "").caller_arn


def paging(router: Router) -> tuple[int, str | None]:
    event = router.current_event
    raw = event.get_query_string_value("limit", "50") or "50"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidInputError(f"limit must be an integer from 1 to {MAX_PAGE}")
    return int(raw), event.get_query_string_value("page")


def page(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    return {"items": items, "nextPage": token}


def json_response(body: dict[str, Any], status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def create(router: Router, operation: str, command: BaseModel, action: Callable[[], dict[str, Any]]) -> Response[str]:
    """Run a create call once per Idempotency-Key (if given) and answer 201.

    With a key, the action runs under the request's reservation token (certwright.services.reservation): if an
    earlier attempt crashed after reserving, the retry finishes from what it reserved instead of creating twice.
    """
    key = router.current_event.headers.get("Idempotency-Key")
    who, body = caller(router), command.model_dump(mode="json")
    token = request_token(who, operation, key, body) if key else None
    with reserving(token):
        answer = services().idempotency.run(caller=who, operation=operation, key=key, body=body, action=action)
    return json_response(answer, 201)
