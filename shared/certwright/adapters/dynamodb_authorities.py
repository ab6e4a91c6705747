"""The AuthorityStore port on DynamoDB: CA rows, CA version rows and serial claims, version-guarded."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters import dynamodb_items as items
from certwright.adapters.dynamodb_inventory import InventoryIndex, Loader
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import DELETION_PARTITION, TableAdapter, deletion_index, version_sk, versioned
from certwright.domain.audit import AuditRecord
from certwright.domain.authority import CaVersion, CertificateAuthority, LifecycleState
from certwright.domain.certificate import Certificate
from certwright.domain.inventory import InventoryQuery, authority_facets, matches_authority
from certwright.errors import DependencyError
from certwright.ports import Page, SerialClaim


def authority_row(model: type[Row], ca: CertificateAuthority) -> Row:
    """The CA row (ByKind: CA, ByParent: its issuer, DELETION when pending deletion), conditional on its version."""
    row = model(
        f"CA#{ca.id}",
        "A",
        kind="CA",
        data=codec.authority_to_data(ca),
        list_pk="CA",
        list_sk=f"{codec.iso(ca.created_at)}#{ca.id}",
        parent_pk=f"CA#{ca.issuer_id}" if ca.issuer_id else None,
    )
    return versioned(deletion_index(row, ca.lifecycle_state, ca.deletion_time), ca.row_version)


def _serial_attributes(claim: SerialClaim) -> dict[str, Any]:
    return {"kind": "SERIAL", "data": {"issuer": claim.issuer_ca_id, "serialNumber": claim.serial_number}}


def serial_row(model: type[Row], claim: SerialClaim) -> Row:
    """A serial claim: a new row, so its write is conditional on its absence (a serial is claimed once)."""
    return model(f"SERIAL#{claim.issuer_ca_id}#{claim.serial_number}", "S", **_serial_attributes(claim))


def serial_item(claim: SerialClaim) -> dict[str, Any]:
    """serial_row as a low-level item (dynamodb_items); put it as a new row."""
    return items.item(f"SERIAL#{claim.issuer_ca_id}#{claim.serial_number}", "S", **_serial_attributes(claim))


class DynamoDbAuthorities(TableAdapter):
    """Certificate authorities and their versions (CA#{id} / A and / V#{n})."""

    def begin_authority(self, ca: CertificateAuthority, claim: SerialClaim) -> CertificateAuthority:
        with self._errors("create certificate authority"), self._transaction() as tx:
            tx.save(authority_row(self._row, ca))
            tx.save(serial_row(self._row, claim))
        self._index_authority(ca)
        return replace(ca, row_version=1)

    def _index_authority(self, ca: CertificateAuthority) -> None:
        """Bring the CA's inventory index rows in line with what was just written (dynamodb_inventory)."""
        version = ca.current_version
        InventoryIndex(self._row, self._connection, "CA").sync(
            ca.id,
            authority_facets(ca),
            name=ca.name,
            created=ca.created_at,
            not_after=version.validity.not_after if version else None,
            listed=ca.lifecycle_state is not LifecycleState.DELETED,
        )

    def search_authorities(
        self, query: InventoryQuery, limit: int, token: str | None, accept: Callable[[CertificateAuthority], bool]
    ) -> Page[CertificateAuthority]:
        def decode(row: Row) -> CertificateAuthority:
            return codec.authority_from_data(row.data, row.row_version)

        items, next_token = InventoryIndex(self._row, self._connection, "CA").search(
            query,
            limit,
            token,
            Loader(self._row, "A", decode),
            lambda ca, _: matches_authority(query, ca) and accept(ca),
        )
        return Page(items, next_token)

    def complete_authority(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        version = ca.current_version
        if version is None:
            raise DependencyError("an authority is completed with its first version")
        with self._errors("activate certificate authority"), self._transaction() as tx:
            tx.save(authority_row(self._row, ca))
            tx.save(self._authority_version_row(ca.id, version))
            tx.save(self._audit_row(audit))
        self._index_authority(ca)
        return replace(ca, row_version=ca.row_version + 1)

    def _authority_version_row(self, ca_id: str, version: CaVersion) -> Row:
        due = _deletion_due(version)
        return self._row(
            f"CA#{ca_id}",
            version_sk(version.version_number),
            kind="CA_VERSION",
            data=codec.authority_version_to_data(version),
            renewal_pk=DELETION_PARTITION if due else None,
            renewal_at=due,
        )

    def claim_serial(self, claim: SerialClaim) -> None:
        """Claim a serial on its own (conditional on its absence) before the CA signs with it."""
        with self._errors("claim serial number"):
            serial_row(self._row, claim).save()

    def add_authority_version(self, ca: CertificateAuthority, audit: AuditRecord) -> CertificateAuthority:
        """`ca` with a new current version: the CA row, the new version row, older versions' stages, the audit."""
        version = ca.current_version
        if version is None:
            raise DependencyError("a new CA version is the CA's current version")
        with self._errors("list CA versions"):
            older = list(self._row.query(f"CA#{ca.id}", self._row.sk.startswith("V#"), consistent_read=True))
        with self._errors("add certificate authority version"), self._transaction() as tx:
            tx.save(authority_row(self._row, ca))
            tx.save(self._authority_version_row(ca.id, version))
            for row in older:
                number = int(row.data["versionNumber"])
                stages = ["PREVIOUS"] if number == version.version_number - 1 else ["DEPRECATED"]
                if list(row.data.get("stages", [])) != stages:
                    tx.update(row, actions=[self._row.data.set({**row.data, "stages": stages})])
            tx.save(self._audit_row(audit))
        self._index_authority(ca)
        return replace(ca, row_version=ca.row_version + 1)

    def save_authority_versions(
        self, ca: CertificateAuthority, versions: list[CaVersion], audit: AuditRecord
    ) -> CertificateAuthority:
        with self._errors("list CA versions"):
            stored = {
                int(r.data["versionNumber"]): r
                for r in self._row.query(f"CA#{ca.id}", self._row.sk.startswith("V#"), consistent_read=True)
            }
        with self._errors("save certificate authority versions"), self._transaction() as tx:
            tx.save(authority_row(self._row, ca))
            for version in versions:
                row = stored.get(version.version_number)
                if row is None:
                    tx.save(self._authority_version_row(ca.id, version))
                else:
                    due = _deletion_due(version)
                    # A version scheduled for deletion sits in the deletion queue until the sweep marks it deleted.
                    index = (
                        [self._row.renewal_pk.set(DELETION_PARTITION), self._row.renewal_at.set(due)]
                        if due
                        else [self._row.renewal_pk.remove(), self._row.renewal_at.remove()]
                    )
                    tx.update(row, actions=[self._row.data.set(codec.authority_version_to_data(version)), *index])
            tx.save(self._audit_row(audit))
        return replace(ca, row_version=ca.row_version + 1)

    def save_authority(self, ca: CertificateAuthority) -> CertificateAuthority:
        with self._errors("update certificate authority"):
            authority_row(self._row, ca).save()
        self._index_authority(ca)
        return replace(ca, row_version=ca.row_version + 1)

    def get_authority(self, ca_id: str) -> CertificateAuthority | None:
        found = self._get_data(f"CA#{ca_id}", "A")
        return None if found is None else codec.authority_from_data(*found)

    def list_authorities(self, limit: int, token: str | None) -> Page[CertificateAuthority]:
        with self._errors("list certificate authorities"):
            result = self._row.by_kind.query(
                "CA", limit=limit, last_evaluated_key=self._start_key(token, {"list_pk": "CA"}, ("list_sk",))
            )
            items = [codec.authority_from_data(r.data, r.row_version) for r in result]
            return Page(items, self._page_token(result.last_evaluated_key))

    def children_of(self, ca_id: str) -> Iterator[Certificate | CertificateAuthority]:
        """Certificates and subordinate CAs `ca_id` issued (the ByParent index), read lazily page by page."""
        with self._errors("list children of certificate authority"):
            for r in self._row.by_parent.query(f"CA#{ca_id}"):
                if r.kind == "CERT":
                    yield codec.certificate_from_data(r.data, r.row_version)
                elif r.kind == "CA":
                    yield codec.authority_from_data(r.data, r.row_version)

    def list_authority_versions(self, ca_id: str) -> list[CaVersion]:
        with self._errors("list CA versions"):
            rows = self._row.query(f"CA#{ca_id}", self._row.sk.startswith("V#"), consistent_read=True)
            return [codec.authority_version_from_data(r.data) for r in rows]


def _deletion_due(version: CaVersion) -> str | None:
    """When a CA version falls due in the deletion queue: scheduled and not yet deleted."""
    if version.deletion_time is None or version.deleted_at is not None:
        return None
    return codec.iso(version.deletion_time)
