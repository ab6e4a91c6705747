"""The repair pass's pure decisions (certwright.domain.repair): what a half-done create or renewal becomes, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.authority import LifecycleState, Validity
from certwright.domain.certificate import Certificate, CertificateConfigType, CertificateVersion, Profile
from certwright.domain.keys import KeyAlgorithm
from certwright.domain.names import Subject
from certwright.domain.repair import REPAIR_AFTER, RepairAction, decide, resume_state
from certwright.domain.stages import Stage

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SUBJECT = Subject.from_dict({"commonName": "www.example.com"})


def certificate(state: LifecycleState) -> Certificate:
    return Certificate(
        id="cert-1",
        name="web",
        config_type=CertificateConfigType.ISSUED_BY_INTERNAL_CA,
        profile=Profile.TLS_SERVER,
        issuer_ca_id="ca-1",
        subject=SUBJECT,
        sans=(),
        key_algorithm=KeyAlgorithm.ECDSA_P256,
        validity_duration=None,
        renewal_rule=None,
        lifecycle_state=state,
        created_by="me",
        created_at=NOW,
    )


def version(stages: frozenset[Stage] = frozenset(), reserved_at: datetime = NOW) -> CertificateVersion:
    return CertificateVersion(
        certificate_id="cert-1",
        version_number=1,
        stages=stages,
        serial_number="1f",
        validity=Validity(NOW, NOW + timedelta(days=30)),
        subject=SUBJECT,
        sans=(),
        certificate_pem="",
        chain_pems=(),
        created_at=reserved_at,
        has_private_key=True,
    )


LATE = NOW + REPAIR_AFTER


@pytest.mark.parametrize(
    ("state", "stages", "at", "expected"),
    [
        (LifecycleState.CREATING, frozenset(), LATE, RepairAction.FAIL_CREATE),
        (LifecycleState.ACTIVE, frozenset(), LATE, RepairAction.FAIL_VERSION),
        (LifecycleState.CREATING, frozenset(), LATE - timedelta(seconds=1), RepairAction.WAIT),
        (LifecycleState.ACTIVE, frozenset({Stage.CURRENT, Stage.LATEST}), LATE, RepairAction.NOTHING),
        (LifecycleState.FAILED, frozenset({Stage.FAILED}), LATE, RepairAction.NOTHING),
    ],
)
def test_a_reservation_old_enough_is_failed_and_nothing_else_is_touched(
    state: LifecycleState, stages: frozenset[Stage], at: datetime, expected: RepairAction
) -> None:
    decision = decide(certificate(state), version(stages), at)
    assert decision.action is expected
    assert bool(decision.reason) == (expected in (RepairAction.FAIL_CREATE, RepairAction.FAIL_VERSION))


def test_a_vanished_row_is_only_dropped_from_the_index() -> None:
    assert decide(None, version(), LATE).action is RepairAction.NOTHING
    assert decide(certificate(LifecycleState.CREATING), None, LATE).action is RepairAction.NOTHING


def test_only_a_create_that_never_published_may_be_resumed() -> None:
    assert resume_state(certificate(LifecycleState.CREATING)) is LifecycleState.CREATING
    assert resume_state(certificate(LifecycleState.FAILED)) is LifecycleState.FAILED
    for state in (LifecycleState.ACTIVE, LifecycleState.PENDING_DELETION, LifecycleState.DELETED):
        assert resume_state(replace(certificate(state), current_version_number=1)) is None
