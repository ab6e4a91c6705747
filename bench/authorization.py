"""One authorization decision: the compiled Cedar policy set (default policy) deciding one request, beside a
trivial baseline measured in the same run (a Python set lookup standing for "is the caller the owner?").

Entities are built as the API builds them (certwright.authorization.entities) with grants and associations
from memory, so the row is the decision point's own cost, not DynamoDB's.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

from certwright.authorization.decision import PolicyDecisionPoint
from certwright.authorization.entities import EntityBuilder
from certwright.authorization.grants import Grant, ResourceKind, Role
from certwright.authorization.identity import principal_from_arn
from certwright.domain.association import Association
from certwright.domain.authority import CaConfigType, CaRules, CertificateAuthority, LifecycleState
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject

ROUNDS = int(os.environ.get("CERTWRIGHT_BENCH_DECISIONS", "2000"))
ACCOUNT = "123456789012"
OWNER = f"arn:aws:iam::{ACCOUNT}:role/team-a"


class _Memory:
    def __init__(self, grants: list[Grant]) -> None:
        self._grants = grants

    def grants_of(self, resource_id: str) -> list[Grant]:
        return [g for g in self._grants if g.resource_id == resource_id]

    def associations_of(self, certificate_id: str) -> list[Association]:
        return []


def _per_call(fn: object, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / rounds


def main() -> None:
    now = datetime.now(UTC)
    pdp = PolicyDecisionPoint.load()
    grants = [
        Grant(
            f"grant-{i}",
            "ca-bench",
            ResourceKind.AUTHORITY,
            f"arn:aws:iam::{ACCOUNT}:role/t{i}",
            Role.ISSUER,
            OWNER,
            now,
        )
        for i in range(20)
    ]
    builder = EntityBuilder(_Memory(grants), account=ACCOUNT, admins=[], deployer_role_arn="")
    ca = CertificateAuthority(
        "ca-bench",
        "bench",
        CaConfigType.ROOT_CA_GENERATED_INTERNALLY,
        Subject("Bench"),
        KeyAlgorithm.ECDSA_P256,
        "key",
        CaRules.from_dict(None),
        LifecycleState.ACTIVE,
        OWNER,
        now,
        owner=OWNER,
    )
    caller = principal_from_arn(f"arn:aws:sts::{ACCOUNT}:assumed-role/t7/session")
    principal, resource = builder.principal(caller), builder.authority(ca)
    context = {"issuing": "CERTIFICATE", "names": ["a.pay.example"], "namesSuffix": "a.pay.example"}
    assert pdp.authorize(principal, "Issue", resource, context).allowed
    owners = {OWNER}

    def baseline() -> bool:
        return caller.arn in owners

    decision = _per_call(lambda: pdp.authorize(principal, "Issue", resource, context), ROUNDS)
    with_entities = _per_call(
        lambda: pdp.authorize(builder.principal(caller), "Issue", builder.authority(ca), context), ROUNDS
    )
    trivial = _per_call(baseline, ROUNDS * 50)
    print("\nAuthorization: one Cedar decision (default policy, 20 grants on the CA) against a set lookup")
    header = f"{'what':<44}{'µs/decision':>14}{'ratio':>12}"
    print(header)
    print("-" * len(header))
    for label, seconds in (
        ("baseline: caller in owner set", trivial),
        ("decision (entities built once)", decision),
        ("decision + building its entities", with_entities),
    ):
        print(f"{label:<44}{seconds * 1e6:>14.1f}{seconds / trivial:>12.0f}")
    print("budget: well under 1 ms per decision; ratio = row / baseline in this run.")


if __name__ == "__main__":
    main()
