"""The DynamoDB store on moto, driven through the services: version guards, serial claims, dense versions, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.retries import standard
from certwright import bootstrap
from certwright.api.requests import CreateRootAuthority, IssueCertificateRequest
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate, CertificateVersion
from certwright.domain.stages import Stage
from certwright.errors import ConflictError, TransientError
from certwright.ports import SerialClaim
from certwright.services.commands import CreateAssociation, ScheduleDeletion, StageName
from certwright.services.context import Runtime
from cryptography import x509

from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body, root_ca_body

CALLER = "arn:aws:iam::123456789012:user/store-tests"
HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"
FIXED_SERIAL = 0x3039_0000_0000_0000_0001


def issue(container: bootstrap.Container, issuer_id: str, **overrides: Any) -> tuple[Certificate, CertificateVersion]:
    command = IssueCertificateRequest.model_validate(leaf_body(issuer_id, **overrides)).command()
    return container.issuance.create(command, CALLER)


def renew(
    container: bootstrap.Container, certificate_id: str, stage: StageName = "CURRENT"
) -> tuple[Certificate, CertificateVersion]:
    return container.issuance.renew(certificate_id, CALLER, stage=stage)


def state_items(aws: Aws) -> list[dict[str, Any]]:
    """The table without the CAs' issuance counters: a counted attempt that fails later leaves a harmless gap
    (the counter only spreads certificates over CRL partitions), and counting happens after every check."""
    return [item for item in aws.table_items() if item["sk"]["S"] != "ISSUED"]


def rows(aws: Aws, prefix: str) -> list[dict[str, Any]]:
    return [item for item in aws.table_items() if item["pk"]["S"].startswith(prefix)]


def version_rows(aws: Aws, certificate_id: str) -> list[str]:
    return sorted(item["sk"]["S"] for item in rows(aws, f"CERT#{certificate_id}") if item["sk"]["S"].startswith("V#"))


def serial_of(version: CertificateVersion) -> int:
    return x509.load_pem_x509_certificate(version.certificate_pem.encode()).serial_number


def audit(certificate_id: str, clock: Clock) -> Any:
    return Runtime(clock=clock).audit(certificate_id, "Test", CALLER)


def assert_stage_invariants(versions: list[CertificateVersion]) -> None:
    numbers = sorted(v.version_number for v in versions)
    assert numbers == list(range(1, len(versions) + 1)), "version numbers are dense"
    assert sum(Stage.CURRENT in v.stages for v in versions) == 1, "exactly one CURRENT"
    assert sum(Stage.LATEST in v.stages for v in versions) == 1
    serials = [v.serial_number for v in versions]
    assert len(set(serials)) == len(serials), "serials are unique"


# -- version guards ----------------------------------------------------------------------------------------


def test_a_stale_certificate_write_is_refused_and_leaves_the_row_unchanged(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate, _ = issue(container, hierarchy.issuing["id"])
    stale = container.store.get_certificate(certificate.id)
    assert stale is not None
    saved = container.store.save_certificate(replace(stale, name="first writer"), audit(stale.id, clock))
    assert saved.row_version == stale.row_version + 1

    with pytest.raises(ConflictError) as caught:
        container.store.save_certificate(replace(stale, name="second writer"), audit(stale.id, clock))
    assert caught.value.code == "ConcurrentModification"

    stored = container.store.get_certificate(certificate.id)
    assert stored is not None
    assert stored.name == "first writer"
    assert stored.row_version == saved.row_version


def test_a_stale_authority_write_is_refused_and_leaves_the_row_unchanged(
    container: bootstrap.Container, hierarchy: Hierarchy
) -> None:
    stale = container.store.get_authority(hierarchy.issuing["id"])
    assert stale is not None
    container.store.save_authority(replace(stale, name="renamed"))
    with pytest.raises(ConflictError) as caught:
        container.store.save_authority(replace(stale, lifecycle_state=LifecycleState.PENDING_DELETION))
    assert caught.value.code == "ConcurrentModification"
    stored = container.store.get_authority(stale.id)
    assert stored is not None
    assert (stored.name, stored.lifecycle_state) == ("renamed", LifecycleState.ACTIVE)


def test_a_stale_version_reservation_writes_nothing(
    container: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    certificate, version = issue(container, hierarchy.issuing["id"])
    renew(container, certificate.id)
    # `certificate` is now two writes behind: reserving version 3 from it must fail as a whole.
    reserved = replace(certificate, latest_version_number=3)
    third = replace(version, version_number=3, stages=frozenset(), serial_number="abc123")
    before = aws.table_items()
    with pytest.raises(ConflictError) as caught:
        container.store.begin_version(
            reserved, third, SerialClaim(hierarchy.issuing["id"], "abc123"), is_new_certificate=False
        )
    assert caught.value.code == "ConcurrentModification"
    assert aws.table_items() == before
    assert container.store.get_version(certificate.id, 3) is None


# -- serial claims -----------------------------------------------------------------------------------------


def test_a_serial_already_claimed_for_the_ca_cannot_be_claimed_again(
    container: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    certificate, version = issue(container, hierarchy.issuing["id"])
    newcomer = replace(certificate, id="cert-newcomer", row_version=0)
    claim = SerialClaim(hierarchy.issuing["id"], version.serial_number)
    before = aws.table_items()
    with pytest.raises(ConflictError) as caught:
        container.store.begin_version(
            newcomer, replace(version, certificate_id=newcomer.id), claim, is_new_certificate=True
        )
    assert caught.value.code == "ConcurrentModification"
    assert aws.table_items() == before
    assert container.store.get_certificate(newcomer.id) is None
    # Another CA may use the same serial number: claims are per issuer.
    other_ca = SerialClaim(hierarchy.root["id"], version.serial_number)
    container.store.begin_version(
        newcomer, replace(version, certificate_id=newcomer.id), other_ca, is_new_certificate=True
    )
    assert container.store.get_certificate(newcomer.id) is not None


@pytest.fixture
def fixed_serials(aws: Aws, clock: Clock, hierarchy: Hierarchy) -> Iterator[bootstrap.Container]:
    """A container whose serial source always answers the same number (the hierarchy exists already)."""
    runtime = Runtime(clock=clock, serials=lambda: FIXED_SERIAL)
    instance = bootstrap.build(aws.settings, session=aws.session, runtime=runtime)
    bootstrap.install(instance)
    yield instance
    bootstrap.install(None)


def test_two_new_certificates_with_the_same_serial_second_is_refused_with_409(
    fixed_serials: bootstrap.Container, hierarchy: Hierarchy, api: ApiClient, aws: Aws
) -> None:
    first = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="first"))
    assert first.status == 201, first.body
    assert first.body["currentVersion"]["serialNumber"] == f"{FIXED_SERIAL:x}"
    signs = aws.calls["kms.Sign"]
    items = state_items(aws)

    second = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="second"))
    assert second.status == 409, second.body
    assert second.body["code"] == "ConcurrentModification"
    assert aws.calls["kms.Sign"] == signs, "the claim is written before KMS signs"
    assert state_items(aws) == items
    assert [json.loads(row["data"]["S"])["name"] for row in rows(aws, "CERT#") if row["sk"]["S"] == "C"] == ["first"]

    intact = fixed_serials.certificates.versions(first.body["id"])
    assert [(v.version_number, v.stages) for v in intact] == [(1, frozenset({Stage.CURRENT, Stage.LATEST}))]
    assert serial_of(intact[0]) == FIXED_SERIAL


def test_a_renewal_that_reuses_a_serial_is_refused_and_leaves_no_version_row(
    fixed_serials: bootstrap.Container, hierarchy: Hierarchy, aws: Aws
) -> None:
    certificate, version = issue(fixed_serials, hierarchy.issuing["id"])
    with pytest.raises(ConflictError) as caught:
        renew(fixed_serials, certificate.id)
    assert caught.value.code == "ConcurrentModification"
    assert version_rows(aws, certificate.id) == ["V#00000001"]
    stored = fixed_serials.certificates.get(certificate.id)
    assert (stored.latest_version_number, stored.current_version_number) == (1, 1)
    assert stored.lifecycle_state is LifecycleState.ACTIVE
    assert fixed_serials.certificates.version(certificate.id, 1) == version


# -- associations ------------------------------------------------------------------------------------------


def test_an_association_bumps_the_count_and_defeats_a_stale_deletion(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate, _ = issue(container, hierarchy.issuing["id"])
    before = container.certificates.get(certificate.id)
    association = container.associations.create(
        CreateAssociation(certificate_id=certificate.id, associated_resource_id=HOST_ROLE), CALLER
    )
    counted = container.certificates.get(certificate.id)
    assert counted.association_count == 1
    assert counted.row_version == before.row_version + 1
    assert [a.id for a in container.store.associations_of(certificate.id)] == [association.id]

    # A deletion decided on the pre-association read (count 0) loses to the association's write.
    stale = replace(before, lifecycle_state=LifecycleState.PENDING_DELETION, deletion_time=clock())
    with pytest.raises(ConflictError) as caught:
        container.store.save_certificate(stale, audit(certificate.id, clock), require_no_associations=True)
    assert caught.value.code == "ConcurrentModification"
    assert container.certificates.get(certificate.id).lifecycle_state is LifecycleState.ACTIVE

    with pytest.raises(ConflictError) as in_use:
        container.certificates.schedule_deletion(certificate.id, ScheduleDeletion(), CALLER)
    assert in_use.value.code == "CertificateInUse"

    container.associations.delete(association.id, CALLER)
    assert container.certificates.get(certificate.id).association_count == 0
    scheduled = container.certificates.schedule_deletion(certificate.id, ScheduleDeletion(), CALLER)
    assert scheduled.lifecycle_state is LifecycleState.PENDING_DELETION


# -- dense versions ----------------------------------------------------------------------------------------


def test_versions_are_dense_with_unique_serials_after_many_renewals(
    container: bootstrap.Container, hierarchy: Hierarchy, clock: Clock
) -> None:
    certificate, _ = issue(container, hierarchy.issuing["id"])
    for stage in ("CURRENT", "PENDING", "CURRENT", "PENDING", "PENDING", "CURRENT"):
        clock.advance(minutes=5)
        renew(container, certificate.id, stage)
    versions = container.certificates.versions(certificate.id)
    assert [v.version_number for v in versions] == [1, 2, 3, 4, 5, 6, 7]
    assert_stage_invariants(versions)
    assert all(f"{serial_of(v):x}" == v.serial_number for v in versions)
    stored = container.certificates.get(certificate.id)
    assert (stored.current_version_number, stored.latest_version_number) == (7, 7)
    by_number = {v.version_number: v.stages for v in versions}
    assert by_number[7] == {Stage.CURRENT, Stage.LATEST}
    assert by_number[6] == {Stage.DEPRECATED}
    assert by_number[4] == {Stage.PREVIOUS}


# -- faults at the HTTP layer of botocore ------------------------------------------------------------------


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


THROTTLING = {"__type": "ThrottlingException", "message": "slow down"}
FAULTABLE = ("kms.Sign", "dynamodb.TransactWriteItems")


class HttpFault:
    """A before-send hook: while armed for an operation, it answers with an error (botocore's retries still run)."""

    def __init__(self, *, lose_answer: bool = False) -> None:
        self.operation: str | None = None
        self.error: dict[str, str] = THROTTLING
        self.attempts = 0
        # True: the request still reaches (moto's) AWS and only the answer is replaced, as when a reply is lost.
        self.lose_answer = lose_answer

    def arm(self, operation: str, error: dict[str, str] = THROTTLING) -> None:
        self.operation, self.error, self.attempts = operation, error, 0

    def disarm(self) -> None:
        self.operation = None

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse | None:
        if self.operation is None or not event_name.endswith(self.operation):
            return None
        self.attempts += 1
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "injected-fault"}
        response = AWSResponse(request.url, 400, headers, _Body(json.dumps(self.error).encode()))
        # Every before-send hook runs, moto's too; aim this attempt where moto serves nothing, so the
        # failed request has no effect, as with a real throttled or rejected call. Our answer comes first.
        if not self.lose_answer:
            request.url = "https://fault-injected.invalid/"
        return response


@pytest.fixture
def fault(aws: Aws, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[HttpFault, bootstrap.Container]]:
    """A container whose KMS and DynamoDB clients carry the fault hook; retries run without sleeping."""
    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    hook = HttpFault()
    # Registered before the clients exist: botocore clients copy the session's hooks when they are created.
    for operation in FAULTABLE:
        aws.session.events.register(f"before-send.{operation}", hook)
    instance = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
    yield hook, instance
    for operation in FAULTABLE:
        aws.session.events.unregister(f"before-send.{operation}", hook)


def test_kms_throttling_mid_renewal_fails_that_version_and_the_next_renewal_takes_the_next_number(
    fault: tuple[HttpFault, bootstrap.Container], aws: Aws
) -> None:
    hook, container = fault
    root = container.authorities.create(CreateRootAuthority.model_validate(root_ca_body()).command(), CALLER)
    certificate, first = issue(container, root.id)

    hook.arm("kms.Sign")
    with pytest.raises(TransientError):
        renew(container, certificate.id)
    # Config(retries={"max_attempts": 5}) counts retries, not attempts: one try and five retries.
    assert hook.attempts == 6, "botocore retried the throttled Sign before giving up"
    hook.disarm()

    versions = container.certificates.versions(certificate.id)
    assert [(v.version_number, v.stages) for v in versions] == [
        (1, frozenset({Stage.CURRENT, Stage.LATEST})),
        (2, frozenset({Stage.FAILED})),
    ]
    assert versions[1].certificate_pem == ""
    assert container.store.get_sealed_key(certificate.id, 2) is None, "nothing is sealed for a version never signed"
    stored = container.certificates.get(certificate.id)
    assert stored.lifecycle_state is LifecycleState.ACTIVE
    assert (stored.current_version_number, stored.latest_version_number) == (1, 2)
    assert container.certificates.version(certificate.id, 1) == first

    _, third = renew(container, certificate.id)
    assert third.version_number == 3
    versions = container.certificates.versions(certificate.id)
    assert [(v.version_number, v.stages) for v in versions] == [
        (1, frozenset({Stage.PREVIOUS})),
        (2, frozenset({Stage.FAILED})),
        (3, frozenset({Stage.CURRENT, Stage.LATEST})),
    ]
    assert sum(Stage.CURRENT in v.stages for v in versions) == 1
    assert len({v.serial_number for v in versions}) == 3
    assert serial_of(third) == int(third.serial_number, 16)
    failed_claim = f"SERIAL#{root.id}#{versions[1].serial_number}"
    assert rows(aws, failed_claim), "the failed version's serial stays claimed, so it is never reused"


def test_a_throttled_reservation_signs_nothing_and_writes_nothing(
    fault: tuple[HttpFault, bootstrap.Container], aws: Aws
) -> None:
    hook, container = fault
    root = container.authorities.create(CreateRootAuthority.model_validate(root_ca_body()).command(), CALLER)
    before, signs = state_items(aws), aws.calls["kms.Sign"]

    hook.arm("dynamodb.TransactWriteItems")
    with pytest.raises(TransientError):
        issue(container, root.id)
    assert hook.attempts > 1, "the throttled transaction was retried"
    hook.disarm()
    assert aws.calls["kms.Sign"] == signs, "nothing is signed before its serial is claimed"
    assert state_items(aws) == before

    certificate, version = issue(container, root.id)
    assert [v.version_number for v in container.certificates.versions(certificate.id)] == [1]
    assert serial_of(version) == int(version.serial_number, 16)


def test_a_cancelled_transaction_for_a_failed_condition_is_a_conflict(
    fault: tuple[HttpFault, bootstrap.Container], aws: Aws
) -> None:
    hook, container = fault
    root = container.authorities.create(CreateRootAuthority.model_validate(root_ca_body()).command(), CALLER)
    certificate, _ = issue(container, root.id)
    hook.arm(
        "dynamodb.TransactWriteItems",
        {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific reasons",
            "CancellationReasons": [{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],  # type: ignore[dict-item]
        },
    )
    with pytest.raises(ConflictError) as caught:
        renew(container, certificate.id)
    assert caught.value.code == "ConcurrentModification"
    assert hook.attempts == 1, "a failed condition is not retried"
    hook.disarm()
    assert version_rows(aws, certificate.id) == ["V#00000001"]


class CompletionFault(HttpFault):
    """Lets the reservation through and throttles the transaction after it (the one that publishes the version)."""

    def __init__(self, *, lose_answer: bool = False) -> None:
        super().__init__(lose_answer=lose_answer)
        self.passed = 0

    def __call__(self, request: Any, event_name: str, **kw: Any) -> AWSResponse | None:
        if self.operation is not None and event_name.endswith(self.operation) and self.passed == 0:
            self.passed += 1
            return None
        return super().__call__(request, event_name, **kw)


def renew_with_completion_fault(aws: Aws, clock: Clock, certificate_id: str, completion: CompletionFault) -> None:
    for operation in FAULTABLE:
        aws.session.events.register(f"before-send.{operation}", completion)
    try:
        faulty = bootstrap.build(aws.settings, session=aws.session, runtime=Runtime(clock=clock))
        completion.arm("dynamodb.TransactWriteItems")
        with pytest.raises(TransientError):
            renew(faulty, certificate_id)
    finally:
        completion.disarm()
        for operation in FAULTABLE:
            aws.session.events.unregister(f"before-send.{operation}", completion)


def test_a_throttled_completion_leaves_the_version_failed_not_half_made(
    fault: tuple[HttpFault, bootstrap.Container], aws: Aws, clock: Clock
) -> None:
    _, container = fault
    root = container.authorities.create(CreateRootAuthority.model_validate(root_ca_body()).command(), CALLER)
    certificate, _ = issue(container, root.id)
    renew_with_completion_fault(aws, clock, certificate.id, CompletionFault())

    versions = container.certificates.versions(certificate.id)
    assert [(v.version_number, v.stages) for v in versions] == [
        (1, frozenset({Stage.CURRENT, Stage.LATEST})),
        (2, frozenset({Stage.FAILED})),
    ]
    _, third = renew(container, certificate.id)
    assert third.version_number == 3
    assert_stage_invariants(container.certificates.versions(certificate.id))


def test_a_completion_whose_answer_is_lost_stays_published(
    fault: tuple[HttpFault, bootstrap.Container], aws: Aws, clock: Clock
) -> None:
    _, container = fault
    root = container.authorities.create(CreateRootAuthority.model_validate(root_ca_body()).command(), CALLER)
    certificate, _ = issue(container, root.id)
    renew_with_completion_fault(aws, clock, certificate.id, CompletionFault(lose_answer=True))

    # The write landed although the caller saw an error: the version must not be marked FAILED afterwards.
    versions = container.certificates.versions(certificate.id)
    assert [(v.version_number, v.stages) for v in versions] == [
        (1, frozenset({Stage.PREVIOUS})),
        (2, frozenset({Stage.CURRENT, Stage.LATEST})),
    ]
    assert container.certificates.get(certificate.id).current_version_number == 2
    assert_stage_invariants(versions)
