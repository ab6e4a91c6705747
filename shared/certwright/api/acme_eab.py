"""Routes under /acme/eab-keys (IAM-authenticated, unlike the ACME protocol routes): the caller's External
Account Binding keys for ACME clients — create (the HMAC key shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.acme.resources import EabKey
from certwright.api.presenters import EabKeyCreatedOut, EabKeyOut, EabKeyPage
from certwright.api.request import READ, WRITE, answers, caller, json_response, page, services
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


@router.get("/acme/eab-keys", responses=answers(200, EabKeyPage, READ))
def list_eab_keys() -> Response[str]:
    return json_response(page([present(k) for k in services().eab_keys.list(caller(router))], None))


@router.delete("/acme/eab-keys/<key_id>", responses=answers(200, EabKeyOut, WRITE))
def revoke_eab_key(key_id: str) -> Response[str]:
    return json_response(present(services().eab_keys.revoke(key_id, caller(router))))
