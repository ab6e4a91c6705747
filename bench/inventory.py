"""Inventory search cost: items read for one filtered page of GET /certificates (limit 50) among N certificates
stored, beside N, for filters that drive an index (SAN, wildcard host, tag, expiry, name prefix) and one that
cannot (a name prefix sorted by creation time: the read stops at the per-page budget, the page may be short).

Certificates are written directly (rows and their inventory index rows, no signing) to reach N quickly; N is
CERTWRIGHT_BENCH_INVENTORY_SIZES, a comma-separated list (default 10000; `CERTWRIGHT_BENCH_INVENTORY_SIZES=10000,100000
make bench` for the issue's 100k, which takes several minutes on the embedded AWS).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from certwright import bootstrap
from certwright.adapters import dynamodb_codec as codec
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_inventory import index_rows
from certwright.adapters.dynamodb_models import Row
from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.inventory import InventoryQuery, SortBy, certificate_facets
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import SanType, Subject, SubjectAlternativeName
from certwright.domain.stages import Stage
from moto import mock_aws

from infra.resources import create_resources

SIZES = tuple(int(n) for n in os.environ.get("CERTWRIGHT_BENCH_INVENTORY_SIZES", "10000").split(",") if n.strip())
LIMIT = 50
TEAMS = 10


def _certificate(i: int, now: datetime) -> tuple[Certificate, CertificateVersion]:
    host = f"h{i}.svc{i % 100}.bench.example"
    sans = (SubjectAlternativeName(SanType.DNS, host),)
    if i % 100 == 0:
        sans += (SubjectAlternativeName(SanType.DNS, f"*.svc{i % 1000}.bench.example"),)
    certificate = Certificate(
        id=f"cert-inv-{i:06d}",
        name=f"svc-{i:06d}",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id=f"ca-bench-{i % 3}",
        subject=Subject(common_name=host),
        sans=sans,
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=None,
        renewal_rule=None,
        lifecycle_state=LifecycleState.ACTIVE,
        created_by="bench",
        created_at=now + timedelta(seconds=i),
        current_version_number=1,
        latest_version_number=1,
        freeform_tags=(("team", f"t{i % TEAMS}"),),
    )
    version = CertificateVersion(
        certificate_id=certificate.id,
        version_number=1,
        stages=frozenset({Stage.CURRENT}),
        serial_number=f"{i:032x}",
        validity=Validity(now, now + timedelta(days=1 + (i * 7919) % 365)),
        subject=certificate.subject,
        sans=sans,
        certificate_pem="-----BEGIN CERTIFICATE-----\n(bench)\n-----END CERTIFICATE-----\n",
        chain_pems=(),
        created_at=now,
        has_private_key=True,
    )
    return certificate, version


def _fill(stored: int, now: datetime) -> int:
    """`stored` certificates with a version and their index rows; returns the table's item count."""
    items = 0
    with Row.batch_write() as batch:
        for i in range(stored):
            certificate, version = _certificate(i, now)
            rows = [
                certificate_row(Row, replace(certificate, row_version=0)),
                Row(f"CERT#{certificate.id}", "V#00000001", kind="CERT_VERSION", data=codec.version_to_data(version)),
                *index_rows(
                    Row,
                    "CERT",
                    certificate.id,
                    certificate_facets(certificate),
                    certificate.name,
                    certificate.created_at,
                    version.validity.not_after,
                ),
            ]
            for row in rows:
                batch.save(row)
            items += len(rows)
    return items


class _Reads:
    """Items DynamoDB returned to Query and BatchGetItem, as the client saw them."""

    def __init__(self, session: boto3.Session) -> None:
        self.items = 0
        self.calls: Counter[str] = Counter()
        session.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "Query":
            self.items += int(parsed.get("Count", 0))
        elif model.name == "BatchGetItem":
            self.items += sum(len(rows) for rows in parsed.get("Responses", {}).values())

    def reset(self) -> None:
        self.items = 0
        self.calls.clear()


def _queries(now: datetime, stored: int) -> list[tuple[str, InventoryQuery]]:
    one = stored - 7
    host = f"h{one}.svc{one % 100}.bench.example"
    return [
        (f"san={host}", InventoryQuery(san=host)),
        ("hostname=x.svc300.bench.example (wildcard)", InventoryQuery(hostname="x.svc300.bench.example")),
        ("tag=team=t3", InventoryQuery(tags=(("team", "t3"),))),
        (
            "tag=team=t3&sortBy=notAfter&sortOrder=DESC",
            InventoryQuery(tags=(("team", "t3"),), sort_by=SortBy.NOT_AFTER),
        ),
        ("notAfterBefore=+30d&sortBy=notAfter", InventoryQuery(not_after_before=now + timedelta(days=30))),
        ("namePrefix=svc-0012", InventoryQuery(name_prefix="svc-0012")),
        ("issuerCertificateAuthorityId=ca-bench-1", InventoryQuery(issuer_id="ca-bench-1")),
        ("namePrefix=svc-0012&sortBy=timeCreated", InventoryQuery(name_prefix="svc-0012", sort_by=SortBy.TIME_CREATED)),
    ]


def measure(stored: int) -> tuple[int, list[dict[str, Any]]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        reads = _Reads(session)  # before any client exists: clients copy the session's handlers when created
        container = bootstrap.build(create_resources(session), session=session)
        now = datetime.now(UTC).replace(microsecond=0)
        items = _fill(stored, now)
        rows = []
        for label, query in _queries(now, stored):
            reads.reset()
            start = time.perf_counter()
            page = container.certificates.search(query, LIMIT, None)
            seconds = time.perf_counter() - start
            rows.append(
                {
                    "query": label,
                    "returned": len(page.items),
                    "more": page.next_token is not None,
                    "read": reads.items,
                    "calls": sum(reads.calls.values()),
                    "seconds": seconds,
                }
            )
        return items, rows


def main() -> None:
    for stored in SIZES:
        items, rows = measure(stored)
        print(f"\nInventory search: one page (limit {LIMIT}) among N = {stored} certificates ({items} table items)")
        header = f"{'query':<48} {'items':>6} {'more':>5} {'read':>6} {'calls':>6} {'read/N':>9} {'ms':>8}"
        print(header)
        print("-" * len(header))
        for row in rows:
            print(
                f"{row['query']:<48} {row['returned']:>6} {'yes' if row['more'] else 'no':>5} {row['read']:>6} "
                f"{row['calls']:>6} {row['read'] / stored:>9.5f} {row['seconds'] * 1000:>8.1f}"
            )
        print(
            "read = index entries from the InventoryBy* queries + certificate rows from batched gets; a scan would "
            "read every item. The last row has no index for its filter in that order: it reads up to the page's "
            "budget (5 x limit) and returns what it found with a token. Compare ratios, not ms (embedded AWS)."
        )


if __name__ == "__main__":
    main()
