"""InventoryReindex contract (fake and DynamoDB): index rows lost or left stale by a crash between a row write and
its index sync are brought back in line by the reindex pass; a second pass writes nothing; pages resume from the
stored cursor across runs. On DynamoDB the tests first prove the index really was wrong (the search misses)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from certwright.adapters.dynamodb_authorities import authority_row
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_inventory import INDEX_PREFIX
from certwright.adapters.dynamodb_models import Row
from certwright.domain.authority import CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import InventoryQuery
from certwright.errors import InvalidInputError
from certwright.ports import SerialClaim
from certwright.services.reindex import ReindexPass

from tests.contract import builders as b
from tests.contract.conftest import Ports
from tests.contract.test_ca_bundles import bundle, version
from tests.contract.test_inventory import _publish
from tests.fakes import FakeDeletionStore


def _authority(ports: Ports, ca_id: str, n: int) -> CertificateAuthority:
    ca = ports.store.begin_authority(b.authority(ca_id, n=n, name=f"ca {ca_id}"), SerialClaim("self", f"{ca_id}-s"))
    done = replace(ca, lifecycle_state=LifecycleState.ACTIVE, current_version=b.ca_version())
    return ports.store.complete_authority(done, b.audit(ca_id, "CreateCertificateAuthority"))


def _index_rows(pk: str) -> list[Row]:
    return list(Row.query(pk, Row.sk.startswith(INDEX_PREFIX), consistent_read=True))


def _drop_index_rows(ports: Ports, *pks: str) -> None:
    """What a table written before the inventory existed looks like: the resources' index rows absent."""
    if ports.name == "dynamodb":
        for pk in pks:
            for row in _index_rows(pk):
                row.delete()
            assert not _index_rows(pk)


def _write_row_only(ports: Ports, resource: Certificate | CertificateAuthority) -> None:
    """A row write whose index sync never ran (the writer died between the two)."""
    if ports.name == "fake":
        assert isinstance(ports.store, FakeDeletionStore)
        if isinstance(resource, Certificate):
            ports.store.memory.certificates[resource.id] = replace(resource, row_version=resource.row_version + 1)
        else:
            ports.store.memory.authorities[resource.id] = replace(resource, row_version=resource.row_version + 1)
        return
    if isinstance(resource, Certificate):
        certificate_row(Row, resource).save()
    else:
        authority_row(Row, resource).save()


def _certs(ports: Ports, **query: Any) -> list[str]:
    return [c.id for c in ports.store.search_certificates(InventoryQuery(**query), 100, None, lambda c: True).items]


def _cas(ports: Ports, **query: Any) -> list[str]:
    return [c.id for c in ports.store.search_authorities(InventoryQuery(**query), 100, None, lambda c: True).items]


def _bundles(ports: Ports, **query: Any) -> list[str]:
    return [x.id for x in ports.bundles.search_bundles(InventoryQuery(**query), 100, None, lambda c: True).items]


def test_resources_whose_index_rows_are_missing_are_found_again_after_the_pass(ports: Ports) -> None:
    _publish(ports, "c-old", n=1, name="old-cert", sans=("old.example",), tags={"team": "pay"})
    _authority(ports, "ca-old", 2)
    ports.bundles.create_bundle(bundle("bundle-old"), version(bundle_id="bundle-old"), b.audit("bundle-old"))
    _drop_index_rows(ports, "CERT#c-old", "CA#ca-old", "BUNDLE#bundle-old")
    if ports.name == "dynamodb":
        assert _certs(ports, hostname="old.example") == [] and _certs(ports, tags=(("team", "pay"),)) == []
        assert _cas(ports, name="ca ca-old") == [] and _bundles(ports, name="bundle bundle-old") == []

    report = ReindexPass(ports.reindex).run_all()

    assert report.cycle_done and report.examined == 3
    assert _certs(ports, hostname="old.example") == ["c-old"]
    assert _certs(ports, tags=(("team", "pay"),)) == ["c-old"]
    assert _certs(ports) == ["c-old"]
    assert _cas(ports, name="ca ca-old") == ["ca-old"]
    assert _bundles(ports, name="bundle bundle-old") == ["bundle-old"]
    if ports.name == "dynamodb":
        # ALL, the SAN, the tag and the issuer; the CA's ALL (self-signed); the bundle's ALL.
        assert report.written == len(_index_rows("CERT#c-old")) + len(_index_rows("CA#ca-old")) + 1
        assert {str(r.sk) for r in _index_rows("CERT#c-old")} >= {"IX#ALL", "IX#SAN#old.example", "IX#TAG#team=pay"}


def test_a_renamed_certificate_and_a_retired_authority_have_their_stale_index_rows_corrected(ports: Ports) -> None:
    cert = _publish(ports, "c-1", n=1, name="before", tags={"team": "pay"})
    ca = _authority(ports, "ca-9", 2)
    _write_row_only(ports, replace(cert, name="after", freeform_tags=(("team", "shop"),)))
    _write_row_only(ports, replace(ca, lifecycle_state=LifecycleState.DELETED))
    if ports.name == "dynamodb":
        assert _certs(ports, name="after") == [] and _certs(ports, tags=(("team", "shop"),)) == []
        assert _index_rows("CA#ca-9")

    ReindexPass(ports.reindex).run_all()

    assert _certs(ports, name="after") == ["c-1"] and _certs(ports, name="before") == []
    assert _certs(ports, tags=(("team", "shop"),)) == ["c-1"] and _certs(ports, tags=(("team", "pay"),)) == []
    assert _cas(ports) == []
    if ports.name == "dynamodb":
        assert not _index_rows("CA#ca-9")  # a DELETED resource keeps no index rows
        rows = {str(r.sk): r for r in _index_rows("CERT#c-1")}
        assert "IX#TAG#team=pay" not in rows and "IX#TAG#team=shop" in rows
        assert {str(r.ix_name) for r in rows.values()} == {"after#c-1"}


def test_a_pass_over_rows_in_line_writes_nothing(ports: Ports) -> None:
    _publish(ports, "c-1", n=1, name="one")
    _publish(ports, "c-2", n=2, name="two")
    _authority(ports, "ca-1", 3)
    _drop_index_rows(ports, "CERT#c-2")

    first = ReindexPass(ports.reindex).run_all()
    second = ReindexPass(ports.reindex).run_all()

    assert first.examined == second.examined == 3
    assert second.written == 0
    assert first.written == (0 if ports.name == "fake" else len(_index_rows("CERT#c-2")))


def test_pages_resume_from_the_stored_cursor_across_runs(ports: Ports) -> None:
    for n in range(5):
        _publish(ports, f"c-{n}", n=n, name=f"cert-{n}")
    _drop_index_rows(ports, *(f"CERT#c-{n}" for n in range(5)))
    reindex = ReindexPass(ports.reindex, batch=2)

    runs = []
    for _ in range(20):
        report = reindex.run()
        runs.append(report)
        assert report.examined <= 2
        if report.cycle_done:
            break

    assert runs[-1].cycle_done
    assert sum(r.examined for r in runs if r.kind == "CERT") == 5
    assert [r.kind for r in runs] == sorted((r.kind for r in runs), key=["CA", "CERT", "BUNDLE"].index)
    assert sorted(_certs(ports)) == [f"c-{n}" for n in range(5)]
    assert ports.reindex.get_reindex_cursor() is None  # the cycle is done: the next run starts over
    assert reindex.run().kind == "CA"


def test_a_token_of_another_kind_is_refused(ports: Ports) -> None:
    for n in range(3):
        _publish(ports, f"c-{n}", n=n, name=f"cert-{n}")
    token = ports.reindex.reindex_page("CERT", None, 1).next_token
    assert token is not None
    with pytest.raises(InvalidInputError) as caught:
        ports.reindex.reindex_page("BUNDLE", token, 1)
    assert caught.value.code == "InvalidPageToken"
