"""CaBundleStore contract: versions with stages, CA references, counted associations, deletion while unused."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.domain.association import AssociationType
from certwright.domain.authority import LifecycleState
from certwright.domain.ca_bundle import CaBundle, CaBundleVersion, TrustedCertificate
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, InvalidInputError

from tests.contract import builders as b
from tests.contract.conftest import Ports

TRUSTED = TrustedCertificate("PEM", "ab" * 32, "CN=ca", b.NOW + timedelta(days=30), "ca-1")


def bundle(bundle_id: str = "bundle-1", *, n: int = 0, authorities: tuple[str, ...] = ("ca-1",)) -> CaBundle:
    return CaBundle(
        id=bundle_id,
        name=f"bundle {bundle_id}",
        description="",
        given=(),
        authority_ids=authorities,
        include_chain=True,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by=b.ACTOR,
        created_at=b.NOW + timedelta(seconds=n),
        current_version_number=1,
        latest_version_number=1,
    )


def version(number: int = 1, stages: frozenset[Stage] = b.PUBLISHED, bundle_id: str = "bundle-1") -> CaBundleVersion:
    return CaBundleVersion(bundle_id, number, (TRUSTED,), stages, b.NOW, b.ACTOR)


def test_a_bundle_is_created_once_with_its_version_and_references(ports: Ports) -> None:
    store = ports.bundles
    created = store.create_bundle(bundle(), version(), b.audit("bundle-1"))
    assert created.row_version == 1 and store.get_bundle("bundle-1") == created
    assert store.list_bundle_versions("bundle-1") == [version()]
    assert store.bundles_including("ca-1") == ["bundle-1"]
    with pytest.raises(ConflictError) as err:
        store.create_bundle(bundle(), version(), b.audit("bundle-1"))
    assert err.value.code == "ConcurrentModification"


def test_a_new_version_moves_stages_and_references_under_the_row_version(ports: Ports) -> None:
    store = ports.bundles
    created = store.create_bundle(bundle(), version(), b.audit("bundle-1"))
    moved = replace(created, authority_ids=("ca-2",), current_version_number=2, latest_version_number=2)
    updated = store.add_bundle_version(
        moved, version(2), {1: frozenset({Stage.PREVIOUS})}, b.audit("bundle-1"), previous_authority_ids=("ca-1",)
    )
    assert updated.row_version == 2
    assert [v.stages for v in store.list_bundle_versions("bundle-1")] == [frozenset({Stage.PREVIOUS}), b.PUBLISHED]
    assert store.bundles_including("ca-1") == [] and store.bundles_including("ca-2") == ["bundle-1"]
    assert store.get_bundle_version("bundle-1", 2) == version(2)
    with pytest.raises(ConflictError):
        store.add_bundle_version(moved, version(3), {}, b.audit("bundle-1"))
    with pytest.raises(ConflictError):
        store.add_bundle_version(updated, version(3), {9: b.PUBLISHED}, b.audit("bundle-1"))
    assert store.get_bundle_version("bundle-1", 3) is None


def test_bundle_associations_are_counted_and_block_deletion(ports: Ports) -> None:
    store = ports.bundles
    created = store.create_bundle(bundle(), version(), b.audit("bundle-1"))
    association = replace(
        b.association("assoc-b"), ca_bundle_id="bundle-1", association_type=AssociationType.HOST_PRINCIPAL
    )
    added = store.add_bundle_association(created, association, b.audit("assoc-b"))
    assert added.row_version == 1
    assert store.associations_of_bundle("bundle-1") == [added]
    assert ports.store.get_association("assoc-b") == added
    assert ports.store.associations_of("cert-1") == []  # a bundle's association is not the certificate's
    counted = store.get_bundle("bundle-1")
    assert counted is not None and counted.association_count == 1
    with pytest.raises(ConflictError) as err:
        store.delete_bundle(counted, b.audit("bundle-1"))
    assert err.value.code == "CaBundleInUse"
    store.remove_bundle_association(added, b.audit("assoc-b"))
    emptied = store.get_bundle("bundle-1")
    assert emptied is not None and emptied.association_count == 0
    deleted = store.delete_bundle(emptied, b.audit("bundle-1"))
    assert deleted.lifecycle_state is LifecycleState.DELETED
    assert store.bundles_including("ca-1") == []
    assert store.list_bundles(10, None).items == []
    with pytest.raises(ConflictError):
        store.add_bundle_association(deleted, replace(association, id="assoc-c"), b.audit("assoc-c"))


def test_listing_bundles_pages_with_its_own_tokens(ports: Ports) -> None:
    store = ports.bundles
    for i in range(3):
        store.create_bundle(bundle(f"bundle-{i}", n=i), version(bundle_id=f"bundle-{i}"), b.audit(f"bundle-{i}"))
    first = store.list_bundles(2, None)
    rest = store.list_bundles(2, first.next_token)
    assert [x.id for x in first.items + rest.items] == ["bundle-0", "bundle-1", "bundle-2"]
    with pytest.raises(InvalidInputError):
        ports.store.list_authorities(2, first.next_token)
