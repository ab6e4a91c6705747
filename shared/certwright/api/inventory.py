"""The list filters of the inventory routes (GET /certificates, ...): their declaration, as the OpenAPI document
shows them, and the domain query (certwright.domain.inventory.InventoryQuery) they make."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query

from certwright.api.request import PAGE_ALPHABET
from certwright.domain.association import DeploymentState
from certwright.domain.authority import LifecycleState
from certwright.domain.inventory import MAX_LIMIT, InventoryQuery, SortBy, SortOrder
from certwright.domain.names import check_text
from certwright.domain.tags import parse_tag_filter
from certwright.errors import InvalidInputError

SearchPageToken = Annotated[
    str | None,
    Query(
        alias="page",
        min_length=1,
        max_length=6000,
        pattern=PAGE_ALPHABET,
        description="the previous page's nextPage (same query)",
    ),
]
SearchLimit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT}")]
NameQuery = Annotated[str | None, Query(min_length=1, max_length=255, description="only this exact name")]
NamePrefixQuery = Annotated[
    str | None, Query(alias="namePrefix", min_length=1, max_length=255, description="only names starting so")
]
LifecycleQuery = Annotated[LifecycleState | None, Query(alias="lifecycleState", description="only in this state")]
IssuerQuery = Annotated[
    str | None,
    Query(alias="issuerCertificateAuthorityId", min_length=1, max_length=64, description="only issued by this CA"),
]
SanQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=253, description="only certificates with this SAN, exactly (e.g. *.example.com)"),
]
HostnameQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=253,
        description="only certificates serving this host: a SAN equal to it, or a wildcard SAN covering it",
    ),
]
NotAfterBeforeQuery = Annotated[
    datetime | None,
    Query(alias="notAfterBefore", description="only those whose CURRENT version expires before (ISO-8601)"),
]
NotAfterAfterQuery = Annotated[
    datetime | None,
    Query(alias="notAfterAfter", description="only those whose CURRENT version expires after (ISO-8601)"),
]
InUseQuery = Annotated[
    Literal["true", "false"] | None,
    Query(alias="inUse", description="true: has an ACTIVE association; false: has none"),
]
DeploymentStateQuery = Annotated[
    DeploymentState | None,
    Query(alias="deploymentState", description="only those with an association in this deployment state"),
]
TagQuery = Annotated[
    list[str] | None,
    Query(description="key=value; repeat for more (all must hold)", max_length=10),
]
SortByQuery = Annotated[
    SortBy | None,
    Query(
        alias="sortBy",
        description="order of the page; default: by name with a name filter, by notAfter with an expiry filter, "
        "else timeCreated",
    ),
]
BundleSortByQuery = Annotated[
    Literal["name", "timeCreated"] | None,
    Query(alias="sortBy", description="order of the page; default: by name with a name filter, else timeCreated"),
]
CaSerialQuery = Annotated[
    str | None,
    Query(
        alias="serialNumber",
        min_length=1,
        max_length=59,
        pattern=r"^[0-9A-Fa-f:]+$",
        description="only the CA whose CURRENT version has this serial (hex)",
    ),
]
SortOrderQuery = Annotated[SortOrder, Query(alias="sortOrder", description="ASC (default) or DESC")]


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    if when.tzinfo is None:
        raise InvalidInputError("notAfterBefore / notAfterAfter need a time zone (e.g. Z)", code="InvalidParameter")
    return when.astimezone(UTC)


def inventory_query(
    *,
    name: str | None = None,
    name_prefix: str | None = None,
    lifecycle_state: LifecycleState | None = None,
    issuer_id: str | None = None,
    san: str | None = None,
    hostname: str | None = None,
    serial_number: str | None = None,
    not_after_before: datetime | None = None,
    not_after_after: datetime | None = None,
    in_use: Literal["true", "false"] | None = None,
    deployment_state: DeploymentState | None = None,
    tags: list[str] | None = None,
    sort_by: SortBy | None = None,
    sort_order: SortOrder = SortOrder.ASC,
) -> InventoryQuery:
    for text in (name, name_prefix, san, hostname):
        if text is not None:
            check_text(text, "filter", 255)
    return InventoryQuery(
        name=name,
        name_prefix=name_prefix,
        lifecycle_state=lifecycle_state,
        issuer_id=issuer_id,
        san=san,
        hostname=hostname,
        serial_number=serial_number,
        not_after_before=_utc(not_after_before),
        not_after_after=_utc(not_after_after),
        in_use=None if in_use is None else in_use == "true",
        deployment_state=deployment_state.value if deployment_state else None,
        tags=tuple(dict.fromkeys(parse_tag_filter(t) for t in tags or [])),
        sort_by=sort_by,
        sort_order=sort_order,
    )


def is_filtered(query: InventoryQuery) -> bool:
    """Whether the request asks for more than the plain listing (oldest first)."""
    return query != InventoryQuery()
