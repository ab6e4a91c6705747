"""Routes under /ca-bundles: create, read, versions, the bundle PEM a verifier loads, associations, deletion."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from certwright.api import presenters
from certwright.api.inventory import (
    BundleSortByQuery,
    InUseQuery,
    LifecycleQuery,
    NamePrefixQuery,
    NameQuery,
    SearchLimit,
    SearchPageToken,
    SortOrderQuery,
    TagQuery,
    inventory_query,
    is_filtered,
)
from certwright.api.presenters import (
    AssociationPage,
    CaBundleOut,
    CaBundlePage,
    CaBundlePemOut,
    CaBundleVersionOut,
    CaBundleVersionPage,
)
from certwright.api.request import (
    LIST,
    READ,
    WRITE,
    IdempotencyKey,
    StageQuery,
    VersionNumber,
    VersionQuery,
    answers,
    caller,
    create,
    json_response,
    next_page,
    page,
    page_start,
    services,
)
from certwright.api.requests import CreateCaBundle, CreateCaBundleVersion, ReplaceTags
from certwright.domain.ca_bundle import CaBundle, CaBundleVersion, TrustedCertificate
from certwright.domain.inventory import SortBy, SortOrder

router = Router()


def _certificate(c: TrustedCertificate) -> dict[str, str]:
    return {
        "subject": c.subject,
        "sha256Fingerprint": c.fingerprint,
        "notAfter": c.not_after.isoformat(),
        "source": c.source,
    }


def present_version(v: CaBundleVersion) -> dict[str, Any]:
    return {
        "caBundleId": v.bundle_id,
        "versionNumber": v.version_number,
        "stages": sorted(s.value for s in v.stages),
        "reason": v.reason,
        "createdBy": v.created_by,
        "timeCreated": v.created_at.isoformat(),
        "certificates": [_certificate(c) for c in v.certificates],
    }


def present_bundle(b: CaBundle, current: CaBundleVersion | None) -> dict[str, Any]:
    return {
        "id": b.id,
        "name": b.name,
        "description": b.description,
        "lifecycleState": b.lifecycle_state.value,
        "certificateAuthorityIds": list(b.authority_ids),
        "includeCertificateAuthorityChain": b.include_chain,
        "givenCertificates": [_certificate(c) for c in b.given],
        "withdrawnCertificateAuthorityIds": list(b.withdrawn_authority_ids),
        "stale": b.stale,
        "currentVersionNumber": b.current_version_number,
        "latestVersionNumber": b.latest_version_number,
        "associationCount": b.association_count,
        "createdBy": b.created_by,
        "timeCreated": b.created_at.isoformat(),
        "currentVersion": present_version(current) if current else None,
        "freeformTags": dict(b.freeform_tags),
    }


def _present(bundle: CaBundle) -> dict[str, Any]:
    return present_bundle(bundle, services().ca_bundles.current(bundle))


@router.post("/ca-bundles", responses=answers(201, CaBundleOut, WRITE))
def create_ca_bundle(request: CreateCaBundle, idempotency_key: IdempotencyKey = None) -> Response[str]:
    def action() -> dict[str, Any]:
        bundle, version = services().ca_bundles.create(request.command(), caller(router))
        return present_bundle(bundle, version)

    return create(router, "CreateCaBundle", request, action, idempotency_key)


@router.get("/ca-bundles", responses=answers(200, CaBundlePage, LIST))
def list_ca_bundles(
    limit: SearchLimit = 50,
    page_token: SearchPageToken = None,
    name: NameQuery = None,
    name_prefix: NamePrefixQuery = None,
    lifecycle_state: LifecycleQuery = None,
    in_use: InUseQuery = None,
    tag: TagQuery = None,
    sort_by: BundleSortByQuery = None,
    sort_order: SortOrderQuery = SortOrder.ASC,
) -> Response[str]:
    """CA bundles the caller may read, filtered (every given filter must hold) and sorted; see docs/inventory.md."""
    query = inventory_query(
        name=name,
        name_prefix=name_prefix,
        lifecycle_state=lifecycle_state,
        in_use=in_use,
        tags=tag,
        sort_by=None if sort_by is None else SortBy(sort_by),
        sort_order=sort_order,
    )
    if is_filtered(query):
        result = services().ca_bundles.search(query, limit, page_start(router, page_token))
    else:
        result = services().ca_bundles.list_page(limit, page_start(router, page_token))
    return json_response(next_page(router, [present_bundle(b, None) for b in result.items], result.next_token))


@router.get("/ca-bundles/<bundle_id>", responses=answers(200, CaBundleOut, READ))
def get_ca_bundle(bundle_id: str) -> Response[str]:
    return json_response(_present(services().ca_bundles.get(bundle_id)))


@router.delete("/ca-bundles/<bundle_id>", responses=answers(204, None, WRITE))
def delete_ca_bundle(bundle_id: str) -> Response[str]:
    services().ca_bundles.delete(bundle_id, caller(router))
    return Response(status_code=204, body="")


@router.post("/ca-bundles/<bundle_id>/versions", responses=answers(201, CaBundleVersionOut, WRITE))
def create_ca_bundle_version(
    bundle_id: str, request: CreateCaBundleVersion, idempotency_key: IdempotencyKey = None
) -> Response[str]:
    def action() -> dict[str, Any]:
        _, version = services().ca_bundles.create_version(bundle_id, request.command(), caller(router))
        return present_version(version)

    return create(router, f"CreateCaBundleVersion:{bundle_id}", request, action, idempotency_key)


@router.get("/ca-bundles/<bundle_id>/versions", responses=answers(200, CaBundleVersionPage, READ))
def list_ca_bundle_versions(bundle_id: str) -> Response[str]:
    versions = services().ca_bundles.versions(bundle_id)
    return json_response(page([present_version(v) for v in versions], None))


@router.get("/ca-bundles/<bundle_id>/versions/<number>", responses=answers(200, CaBundleVersionOut, READ))
def get_ca_bundle_version(bundle_id: str, number: VersionNumber) -> Response[str]:
    return json_response(present_version(services().ca_bundles.version(bundle_id, number)))


@router.get("/ca-bundles/<bundle_id>/bundle", responses=answers(200, CaBundlePemOut, READ))
def get_ca_bundle_pem(bundle_id: str, stage: StageQuery = None, version_number: VersionQuery = None) -> Response[str]:
    """The PEM concatenation of one version (CURRENT unless versionNumber or stage says otherwise)."""
    version = services().ca_bundles.select(bundle_id, stage=stage, version_number=version_number)
    return json_response(present_version(version) | {"caBundlePem": version.bundle_pem})


@router.get("/ca-bundles/<bundle_id>/associations", responses=answers(200, AssociationPage, READ))
def list_ca_bundle_associations(bundle_id: str) -> Response[str]:
    associations = services().ca_bundles.associations(bundle_id)
    return json_response(page([presenters.association(a) for a in associations], None))


@router.put("/ca-bundles/<bundle_id>/tags", responses=answers(200, CaBundleOut, WRITE))
def replace_ca_bundle_tags(bundle_id: str, request: ReplaceTags) -> Response[str]:
    """Replace the bundle's freeform tags with the given set ({} removes them all)."""
    return json_response(_present(services().ca_bundles.replace_tags(bundle_id, request.tags(), caller(router))))
