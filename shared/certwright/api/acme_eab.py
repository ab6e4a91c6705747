"""Routes under /acme/eab-keys (IAM-authenticated, unlike the ACME protocol routes): the caller's External
Account Binding keys for ACME clients — create (the HMAC key shown once), list (the caller's, or another
principal's as far as the caller may read them), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from certwright.acme.resources import EabKey
from certwright.api.presenters import EabKeyCreatedOut, EabKeyOut, EabKeyPage
from certwright.api.request import (
    LIST,
    MAX_PAGE,
    WRITE,
    Limit,
    PageToken,
    answers,
    caller,
    json_response,
    next_page,
    page_start,
    services,
)
from certwright.api.requests import CreateEabKey

router = Router()


def present(k: EabKey) -> dict[str, Any]:
    return {
        "keyId": k.key_id,
        "principalArn": k.principal,
        "certificateAuthorityId": k.ca_id,
        "timeCreated": k.created_at.isoformat(),
        "revoked": k.revoked,
    }


@router.post("/acme/eab-keys", responses=answers(201, EabKeyCreatedOut, WRITE))
def create_eab_key(request: CreateEabKey) -> Response[str]:
    # Not through the idempotency store: its answer holds the HMAC key, which must never be stored in plaintext.
    created = services().eab_keys.create(caller(router), request.certificateAuthorityId)
    return json_response({**present(created.key), "hmacKey": created.hmac_key}, 201)


PrincipalQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=2048,
        pattern="^arn:",
        description=(
            "list this principal's keys instead of the caller's (an IAM ARN; an assumed-role session means its "
            "role): only the keys the caller may read are listed (the stack's admins: all), to anyone else none"
        ),
    ),
]


@router.get("/acme/eab-keys", responses=answers(200, EabKeyPage, LIST))
def list_eab_keys(
    principal: PrincipalQuery = None, limit: Limit = MAX_PAGE, page_token: PageToken = None
) -> Response[str]:
    who = caller(router)
    keys = services().eab_keys
    owner = keys.owner(who, principal)  # 400 for a principal that is not an IAM ARN, before the token is opened
    # The token is sealed for whose keys it pages too: one page of a principal's keys never opens another's.
    result = keys.list_page(who, principal, limit, page_start(router, page_token, scope=owner))
    return json_response(next_page(router, [present(k) for k in result.items], result.next_token, scope=owner))


@router.delete("/acme/eab-keys/<key_id>", responses=answers(200, EabKeyOut, WRITE))
def revoke_eab_key(key_id: str) -> Response[str]:
    return json_response(present(services().eab_keys.revoke(key_id, caller(router))))
