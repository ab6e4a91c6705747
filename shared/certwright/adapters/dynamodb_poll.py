"""A host's associations on DynamoDB: the sparse ByHost index (host_pk = HOST#{principal}) and their CURRENT versions.

Only host (IAM role or user) certificate associations carry host_pk (written with the association row,
adapters/dynamodb_store.py), so a poll queries the caller's own partition of the index and reads nothing
else: its associations, then their certificates and CURRENT versions by batched key reads. A version row is
read without its `secret` attribute: a poll never touches key material, sealed or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pynamodb.exceptions import PynamoDBException

from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.aws_errors import translate
from certwright.adapters.dynamodb_models import Row
from certwright.domain.association import Association, AssociationType
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.errors import CertwrightError, DependencyError
from certwright.ports import HostBinding

HOST_PARTITION = "HOST#"
# Everything a poll needs of a row, and not its sealed private key (`secret`).
_READ = ["pk", "sk", "kind", "data", "row_version"]


def host_key(association: Association) -> str | None:
    """The ByHost partition of an association row: a host's certificate association only (CA-bundle ones are
    records with nothing to install), under the principal as callers are normalized (see authorization.identity)."""
    if association.association_type is not AssociationType.HOST_PRINCIPAL or association.ca_bundle_id:
        return None
    return HOST_PARTITION + association.host_principal


class DynamoDbHostIndex:
    def __init__(self, model: type[Row]) -> None:
        self._row = model

    def bindings_of(self, principal_arn: str, certificate_ids: frozenset[str] | None = None) -> list[HostBinding]:
        try:
            associations = [
                a
                for a in self._associations(principal_arn)
                if certificate_ids is None or a.certificate_id in certificate_ids
            ]
            certificates = {
                c.id: c
                for c in self._certificates({a.certificate_id for a in associations})
                if c.current_version_number and c.lifecycle_state is not LifecycleState.DELETED
            }
            versions = {
                v.certificate_id: v
                for v in self._versions((c.id, c.current_version_number) for c in certificates.values())
                if not v.deleted_at
            }
        except PynamoDBException as err:
            raise _translated(err) from err
        return [
            HostBinding(a, certificates[a.certificate_id], versions[a.certificate_id])
            for a in associations
            if a.certificate_id in certificates and a.certificate_id in versions
        ]

    def _associations(self, principal_arn: str) -> Iterator[Association]:
        # Lazily, page by page (the index is projected ALL: one query answers the associations themselves).
        for row in self._row.by_host.query(HOST_PARTITION + principal_arn):
            if row.kind == "ASSOC":
                yield codec.association_from_data(row.data, row.row_version)

    def _certificates(self, ids: Iterable[str]) -> Iterator[Certificate]:
        keys = [(f"CERT#{certificate_id}", "C") for certificate_id in sorted(ids)]
        for row in self._row.batch_get(keys, consistent_read=True, attributes_to_get=_READ):
            yield codec.certificate_from_data(row.data, row.row_version)

    def _versions(self, wanted: Iterable[tuple[str, int]]) -> Iterator[CertificateVersion]:
        keys = [(f"CERT#{certificate_id}", f"V#{number:08d}") for certificate_id, number in sorted(wanted)]
        for row in self._row.batch_get(keys, consistent_read=True, attributes_to_get=_READ):
            yield codec.version_from_data(row.data)


def _translated(err: PynamoDBException) -> CertwrightError:
    action = "read the caller's associations"
    return translate(err.cause, action) if isinstance(err.cause, Exception) else DependencyError(f"{action} failed")
