"""Associations on behalf of the target's owner: the consent tag (or a host's confirmation), checked at creation,
before every deployment and every key read; withdrawn consent suspends; key reads are audited either way."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from certwright import bootstrap
from certwright.adapters.target_tags import AwsTargetTags, StaticTargetTags
from certwright.bootstrap import Container
from certwright.domain.association import AssociationType
from certwright.events import AssociationResumed, AssociationSuspended
from certwright.services.commands import CreateAssociation
from certwright.services.consent import CONSENT_TAG, ConsentRequiredError, consented_certificates, how_to_consent
from certwright.services.context import Runtime

from infra.api_events import LOCAL_ADMIN
from tests.conftest import ApiClient, Aws, Clock, Hierarchy, leaf_body
from tests.consenting import consent, withdraw
from tests.functions.test_bad_input import assert_rejected
from tests.lifecycle.conftest import LoadBalancer, make_load_balancer, placeholder_certificate
from tests.lifecycle.table_stream import TableStream

# One embedded AWS and container for the module, rewound before each test (tests/staging.py).
pytestmark = pytest.mark.staged

ACCOUNT = "123456789012"
HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-host"
HOST_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/web-host/i-1"
CREATOR = f"arn:aws:iam::{ACCOUNT}:user/platform-operator"
MALLORY = f"arn:aws:sts::{ACCOUNT}:assumed-role/mallory/laptop"


def key_path(cert_id: str) -> str:
    return f"/certificates/{cert_id}/bundle?includePrivateKey=true"


def records(aws: Aws, cert_id: str) -> list[dict[str, Any]]:
    items = aws.session.client("dynamodb").query(
        TableName=aws.settings.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"AUDIT#{cert_id}"}},
        ConsistentRead=True,
    )["Items"]
    return [json.loads(item["data"]["S"]) for item in items]


def key_reads(aws: Aws, cert_id: str) -> list[dict[str, Any]]:
    return [r for r in records(aws, cert_id) if r["action"] == "ReadPrivateKey"]


POLICY = "POLICY"  # the reason column of a denial by the authorization policy (before the key service runs)


def audited(aws: Aws, cert_id: str) -> list[tuple[str, str, str]]:
    """(actor, result, reason) of every key-read decision, sorted (the test clock gives them one timestamp).

    The key service audits each decision it makes with its reason; a read the Cedar policy refuses first is
    audited by the decision point (api/permissions.py) with the policy action instead, shown here as POLICY."""
    decisions = []
    for r in key_reads(aws, cert_id):
        reason = r["details"].get("reason")
        if reason is None:
            assert r["details"]["policyAction"] in ("Read", "ReadPrivateKey"), r
            reason = POLICY
        decisions.append((r["actor"], r["result"], reason))
    return sorted(decisions)


@pytest.fixture
def cert(api: ApiClient, hierarchy: Hierarchy) -> str:
    """A certificate CREATOR issued (an admin granted it ISSUER on the issuing CA), so CREATOR owns it."""
    grant = {"resourceId": hierarchy.issuing["id"], "principalArn": CREATOR, "role": "ISSUER"}
    assert api.post("/grants", grant).status == 201
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"]), caller=CREATOR)
    assert created.status == 201, created.body
    return str(created.body["id"])


@pytest.fixture
def stream(aws: Aws) -> TableStream:
    return TableStream(aws)


@pytest.fixture
def lb(aws: Aws) -> LoadBalancer:
    return make_load_balancer(aws, listeners=1)


def associate(api: ApiClient, cert_id: str, target: str, caller: str | None = None) -> Any:
    return api.post("/associations", {"certificateId": cert_id, "associatedResourceId": target}, caller=caller)


# -- the tag format ---------------------------------------------------------------------------------------------


def test_the_consent_tag_lists_certificate_ids_and_needs_its_base_key() -> None:
    assert consented_certificates({CONSENT_TAG: "cert-a  cert-b"}) == {"cert-a", "cert-b"}
    assert consented_certificates({CONSENT_TAG: "cert-a", f"{CONSENT_TAG}:2": "cert-c"}) == {"cert-a", "cert-c"}
    assert consented_certificates({f"{CONSENT_TAG}:2": "cert-c"}) == set(), "continuations need the base tag"
    assert consented_certificates({"certwright:consentx": "cert-a", "Name": "cert-a"}) == set()
    # Nine 25-character ids fit one tag value (256 characters in ELBv2, ACM and IAM).
    assert len(" ".join(f"cert-{i:020x}" for i in range(9))) <= 256


def test_the_refusal_says_which_tag_to_set_on_which_resource_with_which_call() -> None:
    listener = "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/a/b/c"
    text = how_to_consent(AssociationType.LOAD_BALANCER_LISTENER, listener, "cert-x")
    assert f"{CONSENT_TAG} = cert-x" in text and listener in text and "elasticloadbalancing:AddTags" in text
    assert "acm:AddTagsToCertificate" in how_to_consent(AssociationType.ACM_CERTIFICATE, "arn:acm", "cert-x")
    host = how_to_consent(AssociationType.HOST_PRINCIPAL, HOST_ROLE, "cert-x")
    assert "iam:TagRole" in host and "/actions/confirm" in host


def test_the_tag_reader_reads_listeners_acm_certificates_roles_and_users(aws: Aws, lb: LoadBalancer) -> None:
    session = aws.session
    reader = AwsTargetTags(session.client("elbv2"), session.client("acm"), session.client("iam"))
    consent(session, lb.listeners[0], "cert-l")
    consent(session, lb.placeholder_arn, "cert-a")
    consent(session, HOST_ROLE, "cert-r")
    user = f"arn:aws:iam::{ACCOUNT}:user/agents/edge-agent"
    consent(session, user, "cert-u")
    assert reader.tags_of(lb.listeners[0]) == {CONSENT_TAG: "cert-l"}
    assert reader.tags_of(lb.placeholder_arn) == {CONSENT_TAG: "cert-a"}
    assert reader.tags_of(HOST_ROLE) == {CONSENT_TAG: "cert-r"}
    assert reader.tags_of(user) == {CONSENT_TAG: "cert-u"}
    assert reader.tags_of(f"arn:aws:iam::{ACCOUNT}:role/never-created") is None
    assert reader.tags_of(f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000") is None
    fake = StaticTargetTags({HOST_ROLE: {CONSENT_TAG: "cert-r"}})
    assert (fake.tags_of(HOST_ROLE), fake.tags_of("arn:other"), fake.reads) == ({CONSENT_TAG: "cert-r"}, None, 2)


# -- creation ---------------------------------------------------------------------------------------------------


def test_a_listener_without_consent_is_refused_with_the_tag_to_set_and_nothing_written(
    api: ApiClient, aws: Aws, cert: str, lb: LoadBalancer
) -> None:
    listener = lb.listeners[0]
    answer = assert_rejected(aws, lambda: associate(api, cert, listener), 403, "ConsentRequired")
    assert f"{CONSENT_TAG} = {cert}" in answer.body["message"] and listener in answer.body["message"]
    consent(aws.session, listener, cert)
    created = associate(api, cert, listener)
    assert created.status == 201, created.body
    assert created.body["state"] == "ACTIVE"


def test_an_acm_certificate_without_consent_is_refused(api: ApiClient, aws: Aws, cert: str) -> None:
    pem, key = placeholder_certificate("target.example")
    target = aws.session.client("acm").import_certificate(Certificate=pem.encode(), PrivateKey=key.encode())
    arn = target["CertificateArn"]
    answer = assert_rejected(aws, lambda: associate(api, cert, arn), 403, "ConsentRequired")
    assert "acm:AddTagsToCertificate" in answer.body["message"]
    consent(aws.session, arn, cert)
    assert associate(api, cert, arn).body["state"] == "ACTIVE"


def test_attack_your_certificate_on_someone_elses_listener_is_refused(
    api: ApiClient, aws: Aws, hierarchy: Hierarchy, cert: str, lb: LoadBalancer
) -> None:
    listener = lb.listeners[0]
    consent(aws.session, listener, cert)  # the listener's owner consents to *their* certificate only
    assert associate(api, cert, listener).status == 201
    # Mallory may issue from the CA (an admin granted her ISSUER), so the certificate is hers to associate.
    grant = {"resourceId": hierarchy.issuing["id"], "principalArn": MALLORY, "role": "ISSUER"}
    assert api.post("/grants", grant).status == 201
    mine = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="mallory"), caller=MALLORY).body["id"]
    assert_rejected(aws, lambda: associate(api, mine, listener, caller=MALLORY), 403, "ConsentRequired")
    missing = listener[:-4] + "dead"  # a listener that does not exist answers the same
    assert_rejected(aws, lambda: associate(api, mine, missing, caller=MALLORY), 403, "ConsentRequired")


def test_a_target_in_another_account_is_refused(api: ApiClient, aws: Aws, cert: str) -> None:
    foreign = "arn:aws:iam::999999999999:role/web-host"
    answer = assert_rejected(aws, lambda: associate(api, cert, foreign), 403, "ConsentRequired")
    assert "999999999999" in answer.body["message"]


def test_the_stack_account_is_the_same_for_consent_key_reads_and_authorization(
    aws: Aws, clock: Clock, cert: str
) -> None:
    """A stack without a deployer role still knows its account (settings.account, as authorization does): a
    target or a key reader in another account is refused as cross-account, not looked up."""
    settings = replace(aws.settings, deployer_role_arn="")
    assert settings.account == ACCOUNT
    built = bootstrap.build(settings, session=aws.session, runtime=Runtime(clock=clock))
    foreign_target = "arn:aws:iam::999999999999:role/web-host"
    with pytest.raises(ConsentRequiredError, match="cross-account associations are not allowed"):
        built.associations.create(
            CreateAssociation(certificate_id=cert, associated_resource_id=foreign_target), CREATOR
        )
    decision = built.bundles.key_read_decision(cert, "arn:aws:sts::999999999999:assumed-role/web-host/i-1")
    assert (decision.granted, decision.reason) == (False, "CROSS_ACCOUNT")


# -- hosts: tag or confirmation ---------------------------------------------------------------------------------


def test_a_host_association_waits_for_the_host_and_only_the_host_confirms_it(
    api: ApiClient, aws: Aws, cert: str
) -> None:
    created = associate(api, cert, HOST_ROLE, caller=CREATOR)
    assert (created.status, created.body["state"]) == (201, "PENDING_CONFIRMATION")
    assert "/actions/confirm" in created.body["stateReason"]
    decrypts = aws.calls["kms.Decrypt"]
    assert api.get(key_path(cert), caller=HOST_SESSION).status == 403
    confirm = f"/associations/{created.body['id']}/actions/confirm"
    # Readers of the association (the admin, its certificate's owner) pass the policy and the association
    # service refuses them; Mallory cannot even read it, so the policy answers 404 (api/permissions.py).
    for somebody_else, status, code in ((LOCAL_ADMIN, 403, "NotAuthorized"), (CREATOR, 403, "NotAuthorized")):
        refused = api.post(confirm, caller=somebody_else)
        assert (refused.status, refused.body["code"]) == (status, code)
    hidden = api.post(confirm, caller=MALLORY)
    assert (hidden.status, hidden.body["code"]) == (404, "NotFound")
    assert api.get(f"/associations/{created.body['id']}").body["state"] == "PENDING_CONFIRMATION"
    assert aws.calls["kms.Decrypt"] == decrypts
    confirmed = api.post(confirm, caller=HOST_SESSION)
    assert (confirmed.status, confirmed.body["state"], confirmed.body["confirmedBy"]) == (200, "ACTIVE", HOST_SESSION)
    assert api.get(key_path(cert), caller=HOST_SESSION).status == 200
    assert aws.calls["kms.Decrypt"] == decrypts + 1
    assert audited(aws, cert) == sorted(
        [(HOST_SESSION, "DENIED", "PENDING_CONFIRMATION"), (HOST_SESSION, "SUCCEEDED", "ASSOCIATED_PRINCIPAL")]
    )
    trail = records(aws, cert) + records(aws, created.body["id"])  # the policy audits under the association
    confirmations = [r for r in trail if r["action"] == "ConfirmAssociation"]
    assert sorted((r["actor"], r["result"]) for r in confirmations) == sorted(
        [(LOCAL_ADMIN, "DENIED"), (CREATOR, "DENIED"), (MALLORY, "DENIED"), (HOST_SESSION, "SUCCEEDED")]
    )


def test_a_listener_association_is_not_confirmed_by_a_caller(
    api: ApiClient, aws: Aws, cert: str, lb: LoadBalancer
) -> None:
    consent(aws.session, lb.listeners[0], cert)
    association = associate(api, cert, lb.listeners[0]).body
    answer = assert_rejected(
        aws, lambda: api.post(f"/associations/{association['id']}/actions/confirm"), 400, "NotConfirmable"
    )
    assert "tag" in answer.body["message"]


def test_a_tagged_role_is_active_at_once_and_withdrawing_the_tag_suspends_key_reads(
    api: ApiClient, aws: Aws, cert: str, stream: TableStream
) -> None:
    consent(aws.session, HOST_ROLE, cert)
    association = associate(api, cert, HOST_ROLE, caller=CREATOR).body
    assert association["state"] == "ACTIVE"
    assert api.get(key_path(cert), caller=HOST_SESSION).status == 200
    stream.read()

    withdraw(aws.session, HOST_ROLE, cert)
    decrypts = aws.calls["kms.Decrypt"]
    refused = api.get(key_path(cert), caller=HOST_SESSION)
    assert (refused.status, refused.body["code"]) == (403, "NotAuthorized")
    assert "SUSPENDED" in refused.body["message"] and CONSENT_TAG in refused.body["message"]
    assert aws.calls["kms.Decrypt"] == decrypts, "no Decrypt on a refused read"
    now = api.get(f"/associations/{association['id']}").body
    assert now["state"] == "SUSPENDED" and "does not consent" in now["stateReason"]
    events = [e for r in stream.read() for e in r.events()]
    (suspended,) = [e for e in events if isinstance(e, AssociationSuspended)]
    assert (suspended.resource_id, suspended.certificate_id) == (association["id"], cert)

    consent(aws.session, HOST_ROLE, cert)
    assert api.get(key_path(cert), caller=HOST_SESSION).status == 200, "restored consent resumes at the next read"
    assert api.get(f"/associations/{association['id']}").body["state"] == "ACTIVE"
    events = [e for r in stream.read() for e in r.events()]
    assert [type(e) for e in events if isinstance(e, AssociationResumed | AssociationSuspended)] == [AssociationResumed]
    assert audited(aws, cert) == sorted(
        [
            (HOST_SESSION, "SUCCEEDED", "ASSOCIATED_PRINCIPAL"),
            (HOST_SESSION, "DENIED", "SUSPENDED"),
            (HOST_SESSION, "SUCCEEDED", "ASSOCIATED_PRINCIPAL"),
        ]
    )


def test_the_admin_and_the_creator_never_read_the_key_and_each_refusal_is_audited(
    api: ApiClient, aws: Aws, container: Container, cert: str
) -> None:
    consent(aws.session, HOST_ROLE, cert)
    assert associate(api, cert, HOST_ROLE, caller=CREATOR).body["state"] == "ACTIVE"
    decrypts = aws.calls["kms.Decrypt"]
    foreign = "arn:aws:sts::999999999999:assumed-role/web-host/i-1"
    # The Cedar policy refuses first: the admin and the owner may read the certificate but not its key (403);
    # the same role name in another account may not even read it (404). The key service never runs.
    for caller, status, code in (
        (LOCAL_ADMIN, 403, "NotAuthorized"),
        (CREATOR, 403, "NotAuthorized"),
        (foreign, 404, "NotFound"),
    ):
        denied = api.get(key_path(cert), caller=caller)
        assert (denied.status, denied.body["code"]) == (status, code)
    assert aws.calls["kms.Decrypt"] == decrypts
    assert audited(aws, cert) == sorted(
        [(LOCAL_ADMIN, "DENIED", POLICY), (CREATOR, "DENIED", POLICY), (foreign, "DENIED", POLICY)]
    )
    # Behind the policy, the key service still refuses them with its own reasons (no Decrypt either).
    decisions = [container.bundles.key_read_decision(cert, caller) for caller in (LOCAL_ADMIN, CREATOR, foreign)]
    assert [(d.granted, d.reason) for d in decisions] == [
        (False, "NOT_ASSOCIATED"),
        (False, "NOT_ASSOCIATED"),
        (False, "CROSS_ACCOUNT"),
    ]
    assert aws.calls["kms.Decrypt"] == decrypts
    assert not any("PRIVATE KEY" in json.dumps(r) for r in key_reads(aws, cert))


# -- deployment -------------------------------------------------------------------------------------------------


def test_withdrawn_consent_stops_the_deployer_and_restored_consent_resumes_it(
    api: ApiClient, aws: Aws, container: Container, clock: Clock, cert: str, lb: LoadBalancer
) -> None:
    listener = lb.listeners[0]
    consent(aws.session, listener, cert)
    association = associate(api, cert, listener).body
    assert container.deployment.reconcile(association["id"]).deployment.deployed_version == 1
    served_v1 = lb.served(listener)[0]

    withdraw(aws.session, listener, cert)
    assert api.post(f"/certificates/{cert}/versions").status == 201
    decrypts, changes = aws.calls["kms.Decrypt"], aws.calls["elbv2.ModifyListener"]
    imports = aws.calls["acm.ImportCertificate"]
    assert changes > 0 and imports > 0 and decrypts > 0, "the counters count what the first deployment did"
    container.deployment.reconcile_certificate(cert)
    assert (aws.calls["kms.Decrypt"], aws.calls["acm.ImportCertificate"]) == (decrypts, imports)
    assert aws.calls["elbv2.ModifyListener"] == changes
    assert lb.served(listener)[0] == served_v1, "the listener keeps what it serves"
    body = api.get(f"/associations/{association['id']}").body
    assert body["state"] == "SUSPENDED" and body["deployment"]["deployedVersion"] == 1
    refused = container.bundles.key_read_decision(cert, container.settings.deployer_role_arn)
    assert (refused.granted, refused.reason) == (False, "SUSPENDED"), "no key read for the deployer either"
    clock.advance(minutes=6)
    retry = container.store.deployments_to_retry(clock.now, 10)
    assert association["id"] in [a.id for a in retry], "a suspended association is looked at again"

    consent(aws.session, listener, cert)
    assert container.deployment.retry_due()["retried"] == 1
    body = api.get(f"/associations/{association['id']}").body
    assert (body["state"], body["deployment"]["state"], body["deployment"]["deployedVersion"]) == (
        "ACTIVE",
        "DEPLOYED",
        2,
    )
    assert lb.serial(lb.served(listener)[0]) == api.get(f"/certificates/{cert}").body["currentVersion"][
        "serialNumber"
    ].lstrip("0")


def test_a_host_role_with_a_path_confirms_and_reads_its_key_as_its_session(api: ApiClient, aws: Aws, cert: str) -> None:
    """An assumed-role session ARN carries no IAM path: `role/team/web-host` is matched as `role/web-host` by the
    policy, the confirmation, the consent check and the key service alike."""
    with_path = f"arn:aws:iam::{ACCOUNT}:role/team/web-host"
    created = associate(api, cert, with_path, caller=CREATOR)
    assert (created.status, created.body["state"]) == (201, "PENDING_CONFIRMATION"), created.body
    confirmed = api.post(f"/associations/{created.body['id']}/actions/confirm", caller=HOST_SESSION)
    assert (confirmed.status, confirmed.body["state"]) == (200, "ACTIVE"), confirmed.body
    assert api.get(key_path(cert), caller=HOST_SESSION).status == 200
