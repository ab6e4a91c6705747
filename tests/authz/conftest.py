"""Callers and a world for the authorization tests: A owns a hierarchy, a certificate and a CA bundle; G holds
roles A granted; B is another principal of the account; X is in another account; H is the host an
association names (it confirmed the association); D is the deployer role (a listener association, consented by
the listener's owner, makes it a key reader).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from certwright.bootstrap import Container

from infra.api_events import LOCAL_ADMIN
from tests.conftest import ApiClient, Aws, leaf_body, root_ca_body, sub_ca_body
from tests.consenting import consent
from tests.lifecycle.conftest import make_load_balancer

ACCOUNT = "123456789012"
ADMIN = LOCAL_ADMIN
OWNER = f"arn:aws:sts::{ACCOUNT}:assumed-role/team-a/alice"
OWNER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/team-a"
GRANTEE = f"arn:aws:sts::{ACCOUNT}:assumed-role/team-g/gina"
GRANTEE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/team-g"
OTHER = f"arn:aws:sts::{ACCOUNT}:assumed-role/team-b/bob"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/team-b"
FOREIGN = "arn:aws:sts::999999999999:assumed-role/team-a/alice"
HOST = f"arn:aws:sts::{ACCOUNT}:assumed-role/web-host/i-0123"
HOST_ROLE = f"arn:aws:iam::{ACCOUNT}:role/web-host"

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


def deployer_session(container: Container) -> str:
    role = container.settings.deployer_role_arn
    name = role.rsplit("/", 1)[-1]
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/lb-deployer"


@dataclass
class World:
    root: str
    issuing: str
    certificate: str
    host_association: str
    listener_association: str
    bundle: str
    grants: dict[str, str]
    callers: dict[str, str]
    eab_key: str = ""  # an ACME EAB key of the owner


def created(answer: Any) -> dict[str, Any]:
    assert answer.status == 201, answer.body
    return dict(answer.body)


@pytest.fixture
def world(api: ApiClient, aws: Aws, container: Container) -> World:
    root = created(api.post("/certificate-authorities", root_ca_body(name="a-root"), caller=OWNER))["id"]
    issuing = created(api.post("/certificate-authorities", sub_ca_body(root, name="a-issuing"), caller=OWNER))["id"]
    cert = created(api.post("/certificates", leaf_body(issuing), caller=OWNER))["id"]
    host = created(api.post("/associations", {"certificateId": cert, "associatedResourceId": HOST_ROLE}, caller=OWNER))[
        "id"
    ]
    confirmed = api.post(f"/associations/{host}/actions/confirm", {}, caller=HOST)  # the host's own word
    assert (confirmed.status, confirmed.body["state"]) == (200, "ACTIVE"), confirmed.body
    listener_arn = make_load_balancer(aws, listeners=1, name="a-web").listeners[0]
    consent(aws.session, listener_arn, cert)  # the listener's owner tags it (services/consent.py)
    listener = created(
        api.post("/associations", {"certificateId": cert, "associatedResourceId": listener_arn}, caller=OWNER)
    )
    assert listener["state"] == "ACTIVE", listener
    bundle = created(api.post("/ca-bundles", {"name": "a-mtls", "certificateAuthorityIds": [issuing]}, caller=OWNER))[
        "id"
    ]
    grants = {}
    for resource, role in ((issuing, "ISSUER"), (cert, "MANAGER"), (bundle, "READER")):
        body = {"resourceId": resource, "principalArn": GRANTEE_ROLE, "role": role}
        grants[resource] = created(api.post("/grants", body, caller=OWNER))["id"]
    callers = {
        "admin": ADMIN,
        "owner": OWNER,
        "granted": GRANTEE,
        "other": OTHER,
        "foreign": FOREIGN,
        "host": HOST,
        "deployer": deployer_session(container),
    }
    eab_key = created(api.post("/acme/eab-keys", {}, caller=OWNER))["keyId"]
    return World(root, issuing, cert, host, listener["id"], bundle, grants, callers, eab_key)


@dataclass
class SideEffects:
    kms: int
    writes: int
    items: set[tuple[str, str]]


def snapshot(aws: Aws) -> SideEffects:
    calls = aws.calls.calls
    kms = sum(n for name, n in calls.items() if name.startswith("kms."))
    writes = sum(n for name, n in calls.items() if name.startswith("dynamodb.") and name.endswith(WRITES))
    return SideEffects(kms, writes, {(i["pk"]["S"], i["sk"]["S"]) for i in aws.table_items()})


def assert_only_a_denial_audit(aws: Aws, before: SideEffects, action: Callable[[], Any]) -> Any:
    """Run `action`; nothing may happen but one audit record of the denial (no KMS call, one write)."""
    answer = action()
    after = snapshot(aws)
    assert after.kms == before.kms, "a denied request made a KMS call"
    added = after.items - before.items
    assert len(added) == 1 and next(iter(added))[0].startswith("AUDIT#"), added
    assert after.writes == before.writes + 1, "a denied request wrote more than its audit record"
    return answer
