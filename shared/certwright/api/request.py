"""Request helpers shared by the routers: caller identity, declared parameters, answers and their contract."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import BaseModel

from certwright import bootstrap
from certwright.api.presenters import ErrorOut
from certwright.authorization.identity import principal_from_arn
from certwright.bootstrap import Container
from certwright.domain.stages import Stage
from certwright.errors import AccessDeniedError
from certwright.services.reservation import request_token, reserving

MAX_PAGE = 100
MAX_VERSION = 10**8 - 1

# -- parameters, declared so the resolver checks them and the OpenAPI document lists them -------------------

# A page token is base64url (adapters/page_tokens.py): anything else is 400 InvalidParameter before it is opened.
PAGE_ALPHABET = "^[A-Za-z0-9_=-]+$"
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, 1 to {MAX_PAGE}")]
PageToken = Annotated[
    str | None,
    Query(
        alias="page", min_length=1, max_length=3000, pattern=PAGE_ALPHABET, description="the previous page's nextPage"
    ),
]
VersionNumber = Annotated[int, Path(ge=1, le=MAX_VERSION, description="a version number (1, 2, ...)")]
VersionQuery = Annotated[
    int | None, Query(alias="versionNumber", ge=1, le=MAX_VERSION, description="this version instead of a stage")
]
StageQuery = Annotated[Stage | None, Query(description="the version in this stage (default CURRENT)")]
IncludePrivateKey = Annotated[
    Literal["true", "false"],
    Query(alias="includePrivateKey", description="also return the private key (only to its associated reader)"),
]
# Create calls run once per key (adapters/idempotency.py): printable ASCII, 1 to 255 characters.
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern="^[ -~]+$",
        description=(
            f"run this create once: 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters, chosen by the caller and "
            "kept for 24 hours per caller and operation. A repeat with the same key and the same body answers the "
            "first answer (201, the same resource) and creates nothing; the same key with a different body is "
            "409 IdempotencyKeyReused; while the first request still runs, 409 RequestInProgress with Retry-After. A "
            "malformed key is 400 InvalidParameter and nothing is created. Refused requests do not use up the key."
        ),
    ),
]

# -- the answers each route may give ---------------------------------------------------------------------------

_ERRORS: dict[int, str] = {
    400: "bad input: malformed body or parameter (InvalidParameter, InvalidJson, InvalidPageToken, ...)",
    403: "the caller may not do this (NotAuthorized)",
    404: "no such resource (NotFound)",
    409: "the resource's state does not allow it, or a concurrent change won (retry after reading it again)",
    413: "request body too large (PayloadTooLarge)",
    415: "request body is not application/json (UnsupportedMediaType)",
    422: "well-formed but refused by a CA rule or profile (NameConstraintViolation, ValidityExceedsCaRule, ...)",
    502: "a dependency failed (DependencyFailure)",
    503: "a dependency is briefly unavailable; retry after Retry-After seconds",
}
_SUCCESS = {200: "OK", 201: "created", 204: "done (no body)"}
READ = (400, 403, 404, 413, 502, 503)
LIST = (400, 403, 413, 502, 503)
WRITE = (400, 403, 404, 409, 413, 415, 422, 502, 503)


def answers(status: int, model: type[BaseModel] | None, errors: tuple[int, ...]) -> dict[int, OpenAPIResponse]:
    """The `responses=` of a route: its success answer (`model`, or no body) and its {code, message} errors."""
    success: OpenAPIResponse = {"description": _SUCCESS.get(status, "OK")}
    # No content at all for 204 (the resolver would otherwise describe the handler's return type).
    success["content"] = {} if model is None else {content_types.APPLICATION_JSON: {"model": model}}
    table: dict[int, OpenAPIResponse] = {status: success}
    for code in errors:
        table[code] = {"description": _ERRORS[code], "content": {content_types.APPLICATION_JSON: {"model": ErrorOut}}}
    return table


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


def page(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A list answer whose whole content is on this page (no next page)."""
    return {"items": items, "nextPage": token}


def next_page(router: Router, items: list[dict[str, Any]], token: str | None, scope: str = "") -> dict[str, Any]:
    """A listing's page: its next-page token sealed for the caller and the route (it would otherwise carry the
    sort key of the last row read, which may be one the caller cannot see), and for `scope` if given (what the
    listing is of when a parameter names it, e.g. whose EAB keys)."""
    return page(items, services().page_tokens.seal(token, _token_holder(router, scope)) if token else None)


def page_start(router: Router, sealed: str | None, scope: str = "") -> str | None:
    """The listing's own token a `page` parameter stands for; 400 InvalidPageToken unless it was sealed for this
    caller on this route (and this `scope`)."""
    return services().page_tokens.open(sealed, _token_holder(router, scope)) if sealed else None


def _token_holder(router: Router, scope: str = "") -> str:
    """Whom a page token is for: the caller, on one listing route (a second binding beside the listing's own),
    and the listing's scope when it has one (a token for one scope never opens for another)."""
    holder = f"{caller(router)} {router.current_event.path}"
    return f"{holder} {scope}" if scope else holder


def json_response(body: dict[str, Any], status: int = 200) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def create(
    router: Router,
    operation: str,
    request: BaseModel,
    action: Callable[[], dict[str, Any]],
    key: str | None,
) -> Response[str]:
    """Run a create call once per Idempotency-Key (`key`: the route's IdempotencyKey parameter) and answer 201.

    A route that calls this declares the header (tests/api_contract checks the document names it on exactly
    those routes). With a key, the action runs under the request's reservation token
    (certwright.services.reservation): if an earlier attempt crashed after reserving, the retry finishes from
    what it reserved instead of creating twice.
    """
    who, body = caller(router), request.model_dump(mode="json")
    token = request_token(who, operation, key, body) if key else None
    with reserving(token):
        answer = services().idempotency.run(caller=who, operation=operation, key=key, body=body, action=action)
    return json_response(answer, 201)
