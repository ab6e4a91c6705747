"""Routes under /associations."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from certwright.api import presenters
from certwright.api.inventory import DeploymentStateQuery, SearchLimit, SearchPageToken, SortOrderQuery
from certwright.api.presenters import AssociationOut, AssociationPage
from certwright.api.request import (
    READ,
    WRITE,
    IdempotencyKey,
    answers,
    caller,
    create,
    json_response,
    next_page,
    page_start,
    services,
)
from certwright.api.requests import CreateAssociation
from certwright.domain.association import AssociationState
from certwright.domain.inventory import InventoryQuery, SortBy, SortOrder

router = Router()

CertificateFilter = Annotated[
    str | None,
    Query(alias="certificateId", min_length=1, max_length=64, description="only this certificate's associations"),
]


@router.post("/associations", responses=answers(201, AssociationOut, WRITE))
def create_association(request: CreateAssociation, idempotency_key: IdempotencyKey = None) -> Response[str]:
    return create(
        router,
        "CreateAssociation",
        request,
        lambda: presenters.association(services().associations.create(request.command(), caller(router))),
        idempotency_key,
    )


AssociationStateQuery = Annotated[
    AssociationState | None, Query(alias="state", description="only associations in this consent state")
]
AssociationSortByQuery = Annotated[
    Literal["timeCreated"] | None, Query(alias="sortBy", description="associations are listed by time created")
]


@router.get("/associations", responses=answers(200, AssociationPage, READ))
def list_associations(
    limit: SearchLimit = 50,
    page_token: SearchPageToken = None,
    certificate_id: CertificateFilter = None,
    deployment_state: DeploymentStateQuery = None,
    state: AssociationStateQuery = None,
    sort_by: AssociationSortByQuery = None,
    sort_order: SortOrderQuery = SortOrder.ASC,
) -> Response[str]:
    """Associations the caller may read, filtered (every given filter must hold); see docs/inventory.md."""
    if deployment_state is None and state is None and sort_order is SortOrder.ASC:
        result = services().associations.list_page(certificate_id, limit, page_start(router, page_token))
    else:
        query = InventoryQuery(
            deployment_state=deployment_state.value if deployment_state else None,
            association_state=state.value if state else None,
            certificate_id=certificate_id,
            sort_by=SortBy.TIME_CREATED,
            sort_order=sort_order,
        )
        result = services().associations.search(query, limit, page_start(router, page_token))
    return json_response(next_page(router, [presenters.association(a) for a in result.items], result.next_token))


@router.get("/associations/<association_id>", responses=answers(200, AssociationOut, READ))
def get_association(association_id: str) -> Response[str]:
    return json_response(presenters.association(services().associations.get(association_id)))


@router.post("/associations/<association_id>/actions/confirm", responses=answers(200, AssociationOut, WRITE))
def confirm_association(association_id: str) -> Response[str]:
    """The host (IAM role or user) of an association consents by calling with its own identity."""
    return json_response(presenters.association(services().associations.confirm(association_id, caller(router))))


@router.delete("/associations/<association_id>", responses=answers(204, None, WRITE))
def delete_association(association_id: str) -> Response[str]:
    services().associations.delete(association_id, caller(router))
    return Response(status_code=204, body="")
