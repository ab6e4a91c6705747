"""Deployment under faults: throttled ACM, ELB not seeing a fresh import, a failing listener, crashes mid-step,
duplicate and late events, undeploying, and the outbox handler publishing to the bus (invariants I3, I6: tests/crash/invariants.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from certwright import bootstrap
from certwright.errors import TransientError
from certwright.events import (
    AssociationCreated,
    AssociationDeleted,
    CertificateVersionCreated,
    CertificateVersionStageChanged,
    DeploymentFailed,
    DeploymentSucceeded,
    DomainEvent,
)
from certwright.services.deployment import RETRY_AFTER
from certwright.x509.deployable import deployment_problems

from tests.bus_tap import bus_queue as bus_tap_fixture
from tests.bus_tap import drain
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.consenting import consent
from tests.lifecycle.conftest import LoadBalancer, make_load_balancer
from tests.lifecycle.faults import Fault, Faults, LambdaTimeout, json_answer, json_error, query_error
from tests.lifecycle.handlers import LambdaContext, eventbridge_envelope, load_function
from tests.lifecycle.table_stream import StreamRecord, TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

bus_queue = bus_tap_fixture  # the shared fixture (tests/bus_tap.py), under the name the tests ask for

HOST_ROLE = "arn:aws:iam::123456789012:role/web-host"


@cache
def handler(name: str) -> ModuleType:
    return load_function(name)


def deliver(function: str, event: DomainEvent, delivery_id: str | None = None) -> dict[str, Any]:
    context = LambdaContext(function_name=function)
    result: dict[str, Any] = handler(function).lambda_handler(
        eventbridge_envelope(event, delivery_id=delivery_id), context
    )
    return result


def associate(api: ApiClient, cert_id: str, resource: str, role: str = "DEFAULT", **extra: Any) -> str:
    body = {"certificateId": cert_id, "associatedResourceId": resource, "listenerCertificateRole": role, **extra}
    consent(None, resource, cert_id)  # the target's owner consents (services/consent.py)
    answer = api.post("/associations", body)
    assert answer.status == 201, answer.body
    return str(answer.body["id"])


def deployment(api: ApiClient, association_id: str) -> dict[str, Any]:
    return dict(api.get(f"/associations/{association_id}").body["deployment"])


def translate(records: list[StreamRecord]) -> list[DomainEvent]:
    return [event for record in records for event in record.events()]


def one(events: list[DomainEvent], kind: type[DomainEvent], **match: Any) -> DomainEvent:
    found = [e for e in events if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())]
    assert len(found) == 1, (kind.detail_type, match, events)
    return found[0]


def copies(aws: Aws, lb: LoadBalancer) -> dict[str, str]:
    """Certwright's ACM copies (ARN -> serial): everything in ACM but the listeners' placeholder."""
    acm = aws.session.client("acm")
    arns = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
    return {arn: lb.serial(arn) for arn in arns if arn != lb.placeholder_arn}


def assert_every_listener_has_a_valid_default(aws: Aws, lb: LoadBalancer, serials: set[str]) -> None:
    """I3: each listener's default certificate exists in ACM and is one of the versions it may serve."""
    in_acm = {**copies(aws, lb), lb.placeholder_arn: "placeholder"}
    for listener in lb.listeners:
        default, _ = lb.served(listener)
        assert default in in_acm, f"{listener} serves {default}, which ACM no longer has"
        assert in_acm[default] in serials | {"placeholder"}


def serial(body: dict[str, Any]) -> str:
    return str(body["serialNumber"]).lstrip("0")


def planned_retries(container: bootstrap.Container, clock: Clock) -> set[str]:
    return {a.id for a in container.store.deployments_to_retry(clock() + RETRY_AFTER + timedelta(minutes=5), 100)}


@pytest.fixture
def web(api: ApiClient, hierarchy: Hierarchy) -> dict[str, Any]:
    answer = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    assert answer.status == 201, answer.body
    return dict(answer.body)


# -- ACM and ELB answering badly ----------------------------------------------------------------------------------


def test_an_acm_import_throttled_once_is_retried_and_deployed(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
) -> None:
    association = associate(api, web["id"], load_balancer.listeners[0])
    throttle = faults.arm(Fault("ImportCertificate", json_error("ThrottlingException", "Rate exceeded"), times=1))
    faults.attempts.clear()
    container.deployment.reconcile(association)
    assert (throttle.hits, faults.attempts["ImportCertificate"]) == (1, 2), "botocore retried the import"
    assert deployment(api, association)["state"] == "DEPLOYED"
    default, _ = load_balancer.served(load_balancer.listeners[0])
    assert load_balancer.serial(default) == serial(web["currentVersion"])
    assert len(copies(aws, load_balancer)) == 1, "one copy, not two"


def test_an_acm_import_throttled_beyond_retries_fails_untouched_and_converges_later(
    api: ApiClient,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    clock: Clock,
) -> None:
    listener = load_balancer.listeners[0]
    association = associate(api, web["id"], listener)
    faults.arm(Fault("ImportCertificate", json_error("ThrottlingException")))
    faults.attempts.clear()
    with pytest.raises(TransientError):
        container.deployment.reconcile(association)
    faults.disarm()
    failed = deployment(api, association)
    assert (failed["state"], failed["deployedVersion"]) == ("FAILED", None)
    assert "ThrottlingException" in failed["lastError"]
    assert load_balancer.served(listener)[0] == load_balancer.placeholder_arn, "the listener was never touched"
    assert faults.attempts.get("ModifyListener", 0) == 0
    assert association in planned_retries(container, clock)

    clock.advance(minutes=5)
    report = container.deployment.retry_due()
    assert report["retried"] == 1
    assert deployment(api, association)["state"] == "DEPLOYED"
    assert load_balancer.serial(load_balancer.served(listener)[0]) == serial(web["currentVersion"])
    assert association not in planned_retries(container, clock)


@pytest.mark.parametrize(("role", "operation"), [("DEFAULT", "ModifyListener"), ("SNI", "AddListenerCertificates")])
def test_elb_not_seeing_a_fresh_import_yet_is_retried_inside_the_deployer(
    api: ApiClient,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    role: str,
    operation: str,
) -> None:
    listener = load_balancer.listeners[0]
    association = associate(api, web["id"], listener, role)
    not_found = faults.arm(Fault(operation, query_error("CertificateNotFound", "Certificate not found"), times=2))
    faults.attempts.clear()
    container.deployment.reconcile(association)
    assert (not_found.hits, faults.attempts[operation]) == (2, 3)
    state = deployment(api, association)
    assert (state["state"], state["deployedVersion"]) == ("DEPLOYED", 1)
    default, sni = load_balancer.served(listener)
    served = default if role == "DEFAULT" else sni[0]
    assert load_balancer.serial(served) == serial(web["currentVersion"])


def test_listener_two_of_three_failing_keeps_its_previous_certificate_and_converges_on_retry(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    clock: Clock,
    stream: TableStream,
) -> None:
    ids = [associate(api, web["id"], listener) for listener in load_balancer.listeners]
    container.deployment.reconcile_certificate(web["id"])
    first = serial(web["currentVersion"])
    v2 = api.post(f"/certificates/{web['id']}/versions", {}).body
    second = serial(v2)

    broken = load_balancer.listeners[1]
    refusal = faults.arm(
        Fault(
            "ModifyListener", query_error("UnsupportedCertificate"), when=lambda body: f"ListenerArn={broken}" in body
        )
    )
    stream.skip()
    # A refusal is no reason to redeliver the event: it is recorded, and the deployer's retry schedule takes it up again.
    results = container.deployment.reconcile_certificate(web["id"])
    assert sorted(a.deployment.state.value for a in results) == ["DEPLOYED", "DEPLOYED", "FAILED"]
    assert refusal.hits >= 1

    states = [deployment(api, i) for i in ids]
    assert [(s["state"], s["deployedVersion"]) for s in states] == [("DEPLOYED", 2), ("FAILED", 1), ("DEPLOYED", 2)]
    assert "UnsupportedCertificate" in states[1]["lastError"]
    assert load_balancer.serial(load_balancer.served(broken)[0]) == first, "listener 2 still serves the previous one"
    assert_every_listener_has_a_valid_default(aws, load_balancer, {first, second})
    assert planned_retries(container, clock) == {ids[1]}
    failed = one(translate(stream.read()), DeploymentFailed, resource_id=ids[1])
    assert isinstance(failed, DeploymentFailed)
    assert (failed.desired_version, failed.deployed_version) == (2, 1)

    faults.disarm()
    clock.advance(minutes=10)
    assert container.deployment.retry_due()["retried"] == 1
    assert [deployment(api, i)["deployedVersion"] for i in ids] == [2, 2, 2]
    defaults = {load_balancer.served(listener)[0] for listener in load_balancer.listeners}
    assert len(defaults) == 1
    assert set(copies(aws, load_balancer).values()) == {second}, "the previous copy is deleted once unused"
    assert planned_retries(container, clock) == set()


def test_an_expired_version_fails_the_precheck_without_touching_the_listener(
    api: ApiClient,
    hierarchy: Hierarchy,
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    clock: Clock,
) -> None:
    short = api.post("/certificates", leaf_body(hierarchy.issuing["id"], validityDuration="PT30M")).body
    listener = load_balancer.listeners[0]
    association = associate(api, short["id"], listener)
    clock.advance(minutes=31)
    faults.attempts.clear()
    container.deployment.reconcile(association)
    state = deployment(api, association)
    assert state["state"] == "FAILED"
    assert "not valid now" in state["lastError"]
    assert faults.attempts.get("ImportCertificate", 0) == 0
    assert faults.attempts.get("ModifyListener", 0) == 0
    assert load_balancer.served(listener)[0] == load_balancer.placeholder_arn


# -- the precheck, on a real bundle -------------------------------------------------------------------------------


def test_the_precheck_checks_every_hostname_the_key_the_chain_and_the_time(
    api: ApiClient, hierarchy: Hierarchy, container: bootstrap.Container, clock: Clock
) -> None:
    body = leaf_body(
        hierarchy.issuing["id"],
        subject={"commonName": "www.example.com"},
        subjectAlternativeNames=[
            {"type": "DNS", "value": "www.example.com"},
            {"type": "DNS", "value": "*.api.example.com"},
        ],
    )
    cert = api.post("/certificates", body).body
    other = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="other")).body
    for certificate_id in (cert["id"], other["id"]):
        associate(api, certificate_id, HOST_ROLE)
    bundle = container.bundles.get(cert["id"], stage=None, version_number=1, include_private_key=True, caller=HOST_ROLE)
    stranger = container.bundles.get(
        other["id"], stage=None, version_number=1, include_private_key=True, caller=HOST_ROLE
    )
    assert bundle.private_key_pem is not None and stranger.private_key_pem is not None
    pem, chain, key = bundle.version.certificate_pem, "".join(bundle.version.chain_pems), bundle.private_key_pem

    assert deployment_problems(pem, chain, key, clock(), ("www.example.com", "v1.api.example.com")) == []
    # Only the last name is bad: every name is checked.
    problems = deployment_problems(
        pem, chain, key, clock(), ("www.example.com", "v1.api.example.com", "mail.example.com")
    )
    assert problems == ["the certificate does not cover mail.example.com"]
    for uncovered in ("api.example.com", "a.v1.api.example.com", "example.com"):
        assert deployment_problems(pem, chain, key, clock(), (uncovered,)) == [
            f"the certificate does not cover {uncovered}"
        ]
    assert deployment_problems(pem, chain, stranger.private_key_pem, clock(), ()) == [
        "the private key does not match the certificate"
    ]
    assert "the chain does not end at a root (incomplete chain)" in deployment_problems(
        pem, bundle.version.chain_pems[0], key, clock(), ()
    )
    expired = deployment_problems(pem, chain, key, bundle.version.validity.not_after + timedelta(seconds=1), ())
    assert len(expired) == 1 and "not valid now" in expired[0]


def test_an_association_for_hostnames_the_certificate_does_not_cover_is_refused(
    api: ApiClient, web: dict[str, Any], load_balancer: LoadBalancer, aws: Aws
) -> None:
    before = aws.table_items()
    answer = api.post(
        "/associations",
        {
            "certificateId": web["id"],
            "associatedResourceId": load_balancer.listeners[0],
            "hostnames": ["www.example.com", "mail.example.com"],
        },
    )
    assert (answer.status, answer.body["code"]) == (422, "HostnameNotCovered")
    assert "mail.example.com" in answer.body["message"] and "www.example.com" not in answer.body["message"]
    assert aws.table_items() == before


# -- events through the handlers: duplicates, late arrivals, crashes ----------------------------------------------


@pytest.fixture
def deployed(
    api: ApiClient,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    stream: TableStream,
) -> dict[str, Any]:
    """v1 on three listeners, put there by the association_change handler from the stream's AssociationCreated."""
    v1_created = one(translate(stream.read()), CertificateVersionCreated, resource_id=web["id"], version_number=1)
    ids = [associate(api, web["id"], listener) for listener in load_balancer.listeners]
    created = translate(stream.read())
    assert [type(e) for e in created] == [AssociationCreated] * 3
    for event in created:
        assert deliver("association_change", event)["state"] == "DEPLOYED"
    return {"ids": ids, "v1_created": v1_created, "associations_created": created}


def test_duplicate_and_late_version_events_never_move_a_listener_back(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    stream: TableStream,
    deployed: dict[str, Any],
) -> None:
    ids = deployed["ids"]
    stream.skip()
    v2 = api.post(f"/certificates/{web['id']}/versions", {}).body
    renewal = translate(stream.read())
    created_v2 = one(renewal, CertificateVersionCreated, version_number=2)
    demoted_v1 = one(renewal, CertificateVersionStageChanged, version_number=1)

    first = deliver("lb_deployer", created_v2, delivery_id="delivery-1")
    assert set(first["associations"].values()) == {"DEPLOYED"}
    imports, modifies = aws.calls["acm.ImportCertificate"], aws.calls["elbv2.ModifyListener"]
    assert deliver("lb_deployer", created_v2, delivery_id="delivery-1") == first  # redelivered
    assert deliver("lb_deployer", created_v2, delivery_id="delivery-2") == first  # published twice
    assert (aws.calls["acm.ImportCertificate"], aws.calls["elbv2.ModifyListener"]) == (imports, modifies)

    # Late and out of order: v1's own creation, v1's demotion, and the associations' creation, all after v2.
    assert "does not change" in deliver("lb_deployer", demoted_v1)["skipped"]
    assert deliver("lb_deployer", deployed["v1_created"]) == first
    for late in deployed["associations_created"]:
        assert deliver("association_change", late)["state"] == "DEPLOYED"
    assert (aws.calls["acm.ImportCertificate"], aws.calls["elbv2.ModifyListener"]) == (imports, modifies)
    for listener in load_balancer.listeners:
        assert load_balancer.serial(load_balancer.served(listener)[0]) == serial(v2)
    assert [deployment(api, i)["deployedVersion"] for i in ids] == [2, 2, 2]


def _final_association_write(body: str) -> bool:
    return "ASSOC#" in body and "DEPLOYED" in body


# step -> (the fault, what the invocation dies of, how many associations it leaves DEPLOYING)
CRASH_POINTS: dict[str, tuple[Callable[[], Fault], type[BaseException], int]] = {
    "acm-import": (lambda: Fault("ImportCertificate", crash=True, times=1), LambdaTimeout, 1),
    "modify-listener": (lambda: Fault("ModifyListener", crash=True, times=1), LambdaTimeout, 1),
    "final-association-write": (
        lambda: Fault("PutItem", crash=True, times=1, when=_final_association_write),
        LambdaTimeout,
        1,
    ),
    # The write lands but its answer is lost; botocore's retry then finds the row moved on.
    "final-write-answer-lost": (
        lambda: Fault(
            "PutItem",
            json_error("ProvisionedThroughputExceededException"),
            times=1,
            lose_answer=True,
            when=_final_association_write,
        ),
        TransientError,
        0,
    ),
}


@pytest.mark.parametrize("step", sorted(CRASH_POINTS))
def test_a_crash_at_any_deployment_step_then_the_same_event_again_converges(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    clock: Clock,
    stream: TableStream,
    deployed: dict[str, Any],
    step: str,
) -> None:
    ids = deployed["ids"]
    first = serial(web["currentVersion"])
    stream.skip()
    v2 = api.post(f"/certificates/{web['id']}/versions", {}).body
    second = serial(v2)
    event = one(translate(stream.read()), CertificateVersionCreated, version_number=2)
    make_fault, dies_of, left_deploying = CRASH_POINTS[step]
    fault = faults.arm(make_fault())

    with pytest.raises(dies_of):
        deliver("lb_deployer", event, delivery_id="same")
    assert fault.hits == 1
    faults.disarm()

    # Right after the crash: every listener has a valid default, and nothing half-done is left unplanned.
    assert_every_listener_has_a_valid_default(aws, load_balancer, {first, second})
    states = {i: deployment(api, i) for i in ids}
    deploying = [i for i, state in states.items() if state["state"] == "DEPLOYING"]
    assert len(deploying) == left_deploying
    assert set(deploying) <= planned_retries(container, clock), f"{step}: a half-done deployment has no retry planned"
    assert all(state["state"] in ("DEPLOYED", "DEPLOYING") for state in states.values())
    assert all(state["deployedVersion"] in (1, 2) for state in states.values()), "the deployed version never went down"

    result = deliver("lb_deployer", event, delivery_id="same")
    assert set(result["associations"].values()) == {"DEPLOYED"}
    assert [deployment(api, i)["deployedVersion"] for i in ids] == [2, 2, 2]
    assert list(copies(aws, load_balancer).values()) == [second], "one copy of v2, and the v1 copy is gone"
    assert_every_listener_has_a_valid_default(aws, load_balancer, {second})
    assert planned_retries(container, clock) == set()


def test_an_sni_deployment_retried_after_a_crash_never_takes_the_only_serving_copy_off(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    clock: Clock,
) -> None:
    listener = load_balancer.listeners[0]
    association = associate(api, web["id"], listener, "SNI")
    container.deployment.reconcile(association)
    v2 = api.post(f"/certificates/{web['id']}/versions", {}).body
    # The first attempt dies after swapping v1's copy for v2's on the listener, before recording it.
    faults.arm(Fault("PutItem", crash=True, times=1, when=_final_association_write))
    with pytest.raises(LambdaTimeout):
        container.deployment.reconcile(association)
    faults.disarm()
    (new_copy,) = [arn for arn, held in copies(aws, load_balancer).items() if held == serial(v2)]
    assert load_balancer.served(listener)[1] == [new_copy]

    # The retry fails at its last check (listener read back); undoing it must not remove what the crash put there.
    faults.arm(Fault("DescribeListenerCertificates", query_error("AccessDenied"), skip=1))
    container.deployment.reconcile(association)
    faults.disarm()
    assert deployment(api, association)["state"] == "FAILED"
    assert load_balancer.served(listener)[1] == [new_copy], "the association's hostnames are still served"
    assert association in planned_retries(container, clock)

    clock.advance(minutes=5)
    assert container.deployment.retry_due()["retried"] == 1
    assert (deployment(api, association)["state"], deployment(api, association)["deployedVersion"]) == ("DEPLOYED", 2)
    assert load_balancer.served(listener)[1] == [new_copy]
    assert list(copies(aws, load_balancer)) == [new_copy], "v1's copy is deleted once converged"


def test_a_rollback_redeploys_the_previous_version_even_after_its_copy_was_deleted(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    stream: TableStream,
    deployed: dict[str, Any],
) -> None:
    api.post(f"/certificates/{web['id']}/versions", {})
    container.deployment.reconcile_certificate(web["id"])
    assert len(copies(aws, load_balancer)) == 1, "v1's copy was deleted once nothing served it"
    stream.skip()
    assert api.post(f"/certificates/{web['id']}/versions/1/actions/promote", {}).status == 200
    faults.attempts.clear()
    promoted = one(translate(stream.read()), CertificateVersionStageChanged, version_number=1)
    assert isinstance(promoted, CertificateVersionStageChanged)
    assert "CURRENT" in promoted.new_stages
    result = deliver("lb_deployer", promoted)
    assert set(result["associations"].values()) == {"DEPLOYED"}
    assert faults.attempts.get("ModifyListener", 0) == 3, "no CertificateNotFound retries on a dead copy"
    for listener in load_balancer.listeners:
        assert load_balancer.serial(load_balancer.served(listener)[0]) == serial(web["currentVersion"])
    assert [deployment(api, i)["deployedVersion"] for i in deployed["ids"]] == [1, 1, 1]


# -- undeploying --------------------------------------------------------------------------------------------------


def delete_association(api: ApiClient, stream: TableStream, association_id: str) -> dict[str, Any]:
    stream.skip()
    assert api.call("DELETE", f"/associations/{association_id}").status == 204
    deleted = one(translate(stream.read()), AssociationDeleted, resource_id=association_id)
    return deliver("association_change", deleted)


def test_deleting_an_sni_association_takes_its_certificate_off_and_deletes_the_unused_copy(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    stream: TableStream,
) -> None:
    listener = load_balancer.listeners[0]
    association = associate(api, web["id"], listener, "SNI")
    container.deployment.reconcile(association)
    (copy,) = copies(aws, load_balancer)
    assert load_balancer.served(listener) == (load_balancer.placeholder_arn, [copy])

    assert delete_association(api, stream, association) == {"undeployed": association}
    assert load_balancer.served(listener) == (load_balancer.placeholder_arn, [])
    assert copies(aws, load_balancer) == {}


def test_a_deleted_default_association_leaves_its_certificate_serving_and_never_deletes_it_later(
    api: ApiClient,
    aws: Aws,
    hierarchy: Hierarchy,
    web: dict[str, Any],
    container: bootstrap.Container,
    stream: TableStream,
) -> None:
    # Two load balancers: moto's ModifyListener replaces a listener's SNI list, so roles are not mixed on one listener.
    lb = make_load_balancer(aws, listeners=2, name="mixed")
    default_listener, sni_listener = lb.listeners
    as_default = associate(api, web["id"], default_listener, "DEFAULT")
    as_sni = associate(api, web["id"], sni_listener, "SNI")
    container.deployment.reconcile_certificate(web["id"])
    (copy,) = copies(aws, lb)

    delete_association(api, stream, as_default)
    assert lb.served(default_listener)[0] == copy, "a listener always keeps a default certificate"
    delete_association(api, stream, as_sni)
    assert lb.served(sni_listener) == (lb.placeholder_arn, [])
    assert lb.served(default_listener)[0] == copy
    assert lb.serial(copy) == serial(web["currentVersion"]), "the copy the listener serves still exists in ACM"


def test_a_copy_acm_reports_in_use_is_kept_quietly(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    faults: Faults,
    stream: TableStream,
) -> None:
    listener = load_balancer.listeners[0]
    association = associate(api, web["id"], listener, "SNI")
    container.deployment.reconcile(association)
    (copy,) = copies(aws, load_balancer)
    in_use = faults.arm(Fault("DeleteCertificate", json_error("ResourceInUseException", "in use by another LB")))
    delete_association(api, stream, association)
    assert in_use.hits == 1
    assert list(copies(aws, load_balancer)) == [copy]
    assert container.store.acm_copies(web["id"]) == set(), "no longer ours: never deleted later"


# -- the outbox handler -------------------------------------------------------------------------------------------


def test_the_stream_publisher_puts_each_records_events_on_the_bus(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    container: bootstrap.Container,
    stream: TableStream,
    bus_queue: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream.skip()
    api.post(f"/certificates/{web['id']}/versions", {})
    records = stream.read()
    expected = translate(records)
    assert sorted(e.detail_type for e in expected) == ["CertificateVersionCreated", "CertificateVersionStageChanged"]

    result = handler("stream_publisher").lambda_handler(stream.lambda_event(records), LambdaContext("stream-publisher"))
    assert result == {"batchItemFailures": []}
    published = drain(aws, bus_queue)
    assert sorted((m["detail-type"], m["detail"]["event_id"]) for m in published) == sorted(
        (e.detail_type, e.event_id) for e in expected
    )
    assert all(m["source"] == "certwright" for m in published)
    logged = [json.dumps(r.__dict__, default=str) for r in caplog.records if r.getMessage() == "published"]
    assert len(logged) == 2
    assert not [line for line in logged if "PRIVATE KEY" in line]
    assert "PRIVATE KEY" not in json.dumps(published)


def test_a_record_whose_events_the_bus_refuses_is_reported_alone_for_retry(
    api: ApiClient,
    aws: Aws,
    web: dict[str, Any],
    container: bootstrap.Container,
    stream: TableStream,
    bus_queue: str,
    faults: Faults,
) -> None:
    stream.skip()
    api.post(f"/certificates/{web['id']}/versions", {})
    records = stream.read()
    refused = [r for r in records if any(isinstance(e, CertificateVersionStageChanged) for e in translate([r]))]
    assert len(refused) == 1
    partial = {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "try again"}]}
    faults.arm(Fault("PutEvents", json_answer(partial), when=lambda body: "CertificateVersionStageChanged" in body))

    result = handler("stream_publisher").lambda_handler(stream.lambda_event(records), LambdaContext("stream-publisher"))
    sequence = refused[0].raw["dynamodb"]["SequenceNumber"]
    assert result == {"batchItemFailures": [{"itemIdentifier": sequence}]}
    assert [m["detail-type"] for m in drain(aws, bus_queue)] == ["CertificateVersionCreated"]

    faults.disarm()
    again = handler("stream_publisher").lambda_handler(stream.lambda_event(refused), LambdaContext("stream-publisher"))
    assert again == {"batchItemFailures": []}
    assert [m["detail-type"] for m in drain(aws, bus_queue)] == ["CertificateVersionStageChanged"]


def test_deployment_states_seen_by_the_outbox_are_one_success_per_association(
    api: ApiClient,
    web: dict[str, Any],
    load_balancer: LoadBalancer,
    container: bootstrap.Container,
    stream: TableStream,
    deployed: dict[str, Any],
) -> None:
    stream.skip()
    api.post(f"/certificates/{web['id']}/versions", {})
    container.deployment.reconcile_certificate(web["id"])
    container.deployment.reconcile_certificate(web["id"])  # a no-op the second time
    events = translate(stream.read())
    succeeded = sorted((e.resource_id, e.deployed_version) for e in events if isinstance(e, DeploymentSucceeded))
    assert succeeded == sorted((i, 2) for i in deployed["ids"])
    assert not [e for e in events if isinstance(e, DeploymentFailed)]
