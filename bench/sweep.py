"""Sweep read cost: items the renewal sweep reads against certificates due, at growing numbers stored.

The sweep queries the sparse RenewalDue index for `renewal_at <= now`, so what it reads should follow the
number due, not the number stored. Rows are written directly (no signing) to reach 10k quickly; the
baseline is a full scan of the table, which is what a sweep without the index would read.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from certwright import bootstrap
from certwright.adapters.dynamodb_certificates import certificate_row
from certwright.adapters.dynamodb_models import Row
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateConfigType, Profile
from certwright.domain.durations import Duration
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject
from certwright.domain.renewal import RenewalRule
from moto import mock_aws

from infra.resources import create_resources

SIZES = [int(n) for n in os.environ.get("CERTWRIGHT_BENCH_SWEEP_SIZES", "1000,10000,100000").split(",")]
DUE = 50


def _certificate(i: int, check_at: datetime) -> Certificate:
    validity = Duration.parse("P90D")
    return Certificate(
        id=f"cert-bench-{i:06d}",
        name=f"b{i}",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id="ca-bench",
        subject=Subject(common_name=f"h{i}.bench.example"),
        sans=(),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=validity,
        renewal_rule=RenewalRule(Duration.parse("P60D"), Duration.parse("P30D")),
        lifecycle_state=LifecycleState.ACTIVE,
        created_by="bench",
        created_at=check_at,
        current_version_number=1,
        latest_version_number=1,
        next_renewal_at=check_at,
        next_check_at=check_at,
    )


def measure(stored: int) -> dict[str, Any]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        calls: Counter[str] = Counter()
        session.events.register("before-call.dynamodb", lambda model, **_: calls.update([model.name]))
        container = bootstrap.build(create_resources(session), session=session)
        now = datetime.now(UTC).replace(microsecond=0)
        with Row.batch_write() as batch:
            for i in range(stored):
                due = i < DUE
                certificate = _certificate(i, now - timedelta(minutes=1) if due else now + timedelta(days=30 + i % 30))
                batch.save(certificate_row(Row, certificate))
        calls.clear()
        start = time.perf_counter()
        due_rows = container.store.due_for_sweep(now, limit=1000)
        elapsed = time.perf_counter() - start
        dynamodb = session.client("dynamodb")
        scanned, key = 0, None
        while True:
            page = dynamodb.scan(
                TableName=container.settings.table_name, Select="COUNT", **({"ExclusiveStartKey": key} if key else {})
            )
            scanned += page["ScannedCount"]
            key = page.get("LastEvaluatedKey")
            if not key:
                break
        return {
            "stored": stored,
            "due": len(due_rows),
            "read": len(due_rows),
            "queries": calls["Query"],
            "scan": scanned,
            "seconds": elapsed,
        }


def main() -> None:
    print("\nRenewal sweep: items read per run against certificates due")
    header = f"{'stored':>8} {'due':>5} {'items read':>11} {'queries':>8} {'full scan':>10} {'read/stored':>12}"
    print(header)
    print("-" * len(header))
    for size in SIZES:
        row = measure(size)
        print(
            f"{row['stored']:>8} {row['due']:>5} {row['read']:>11} {row['queries']:>8} {row['scan']:>10} "
            f"{row['read'] / row['stored']:>12.4f}"
        )
    print("items read = rows the sweep's index query returned; full scan = what reading without the index costs.")
