"""Policies load once and are validated at container start; the README's example policies, each with a test."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from certwright import bootstrap
from certwright.authorization.decision import PolicyDecisionPoint, PolicyError, extra_policy_text
from certwright.bootstrap import Container
from certwright.services.context import Runtime

from tests.authz.conftest import ACCOUNT, OWNER, World, created
from tests.conftest import ApiClient, Aws, Clock, leaf_body, root_ca_body, sub_ca_body

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_policy(title: str) -> str:
    """The ```cedar block under the README line that names `title` (so the README text is what is tested)."""
    text = README.read_text(encoding="utf-8")
    start = text.lower().index(title.lower())
    block = text.index("```cedar", start) + len("```cedar")
    return text[block : text.index("```", block)]


@pytest.fixture
def with_policies(aws: Aws, clock: Clock) -> Iterator[object]:
    def install(extra: str, **settings: object) -> Container:
        chosen = dataclasses.replace(aws.settings, extra_policies=extra, **settings)  # type: ignore[arg-type]
        instance = bootstrap.build(chosen, session=aws.session, runtime=Runtime(clock=clock))
        bootstrap.install(instance)
        return instance

    yield install
    bootstrap.install(None)


# -- validation at load -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        pytest.param("permit(principal, action, resource) when { resource.color == 1 };", id="unknown attribute"),
        pytest.param('permit(principal, action == Certwright::Action::"Fly", resource);', id="unknown action"),
        pytest.param("permit(principal, action, resource) when {", id="syntax error"),
        pytest.param('forbid(principal, action, resource) when { principal.admin == "yes" };', id="type error"),
    ],
)
def test_a_broken_policy_fails_the_container_start(aws: Aws, policy: str) -> None:
    with pytest.raises(PolicyError) as raised:
        bootstrap.build(dataclasses.replace(aws.settings, extra_policies=policy), session=aws.session)
    assert raised.value.code == "InvalidPolicy"


def test_the_shipped_default_policy_validates() -> None:
    assert "keys-only-for-key-readers" in PolicyDecisionPoint.load().text


def test_extra_policies_come_from_a_file_or_inline(tmp_path: Path) -> None:
    policy = 'forbid(principal, action == Certwright::Action::"Revoke", resource);'
    path = tmp_path / "extra.cedar"
    path.write_text(policy)
    assert extra_policy_text(str(path)) == policy
    assert extra_policy_text(policy) == policy
    assert extra_policy_text("  ") == ""
    with pytest.raises(PolicyError):
        extra_policy_text(str(tmp_path / "missing.cedar"))


# -- the README examples ----------------------------------------------------------------------------------------

PAYMENTS = f"arn:aws:sts::{ACCOUNT}:assumed-role/payments-web/deploy"
PAYMENTS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/payments-web"


def test_readme_team_payments_issues_only_from_payments_issuing_and_only_under_pay_example(
    api: ApiClient, with_policies: object
) -> None:
    install = with_policies
    install(readme_policy("team payments may issue only from"))  # type: ignore[operator]
    root = created(api.post("/certificate-authorities", root_ca_body(name="root")))["id"]
    payments = created(api.post("/certificate-authorities", sub_ca_body(root, name="payments-issuing")))["id"]
    other = created(api.post("/certificate-authorities", sub_ca_body(root, name="web-issuing")))["id"]
    for ca in (payments, other):  # the team is an issuer of both; the policy still confines it
        assert api.post("/grants", {"resourceId": ca, "principalArn": PAYMENTS_ROLE, "role": "ISSUER"}).status == 201

    def issue(ca: str, *names: str) -> int:
        body = leaf_body(
            ca,
            subject={"commonName": names[0]},
            subjectAlternativeNames=[{"type": "DNS", "value": n} for n in names],
        )
        return api.post("/certificates", body, caller=PAYMENTS).status

    assert issue(payments, "api.pay.example", "www.pay.example") == 201
    assert issue(payments, "pay.example") == 201
    assert issue(payments, "api.pay.example", "www.shop.example") == 403
    assert issue(payments, "evilpay.example") == 403
    assert issue(other, "api.pay.example") == 403


def test_readme_hosts_read_only_the_keys_of_their_own_associations(
    api: ApiClient, with_policies: object, world: World
) -> None:
    with_policies(readme_policy("hosts may read only the keys of their own associations"))  # type: ignore[operator]
    host = world.callers["host"]
    assert api.get(f"/certificates/{world.certificate}/bundle?includePrivateKey=true", caller=host).status == 200
    second = created(api.post("/certificates", leaf_body(world.issuing, name="db"), caller=OWNER))["id"]
    assert api.get(f"/certificates/{second}/bundle?includePrivateKey=true", caller=host).status == 404
    # Not even the owner or an admin reads the key.
    assert api.get(f"/certificates/{second}/bundle?includePrivateKey=true", caller=OWNER).status == 403
    assert api.get(f"/certificates/{second}/bundle?includePrivateKey=true").status == 403


def test_readme_nobody_outside_the_account_does_anything(api: ApiClient, with_policies: object) -> None:
    foreign_admin = "arn:aws:iam::999999999999:role/platform-admin"
    install = with_policies
    admins = (api.caller, foreign_admin)
    install("", admin_principal_arns=admins)  # type: ignore[operator]
    assert api.post("/certificate-authorities", root_ca_body(name="r1"), caller=foreign_admin).status == 201
    install(readme_policy("nobody outside the account does anything"), admin_principal_arns=admins)  # type: ignore[operator]
    assert api.post("/certificate-authorities", root_ca_body(name="r2"), caller=foreign_admin).status == 403
    assert api.get("/certificate-authorities", caller=foreign_admin).body["items"] == []
    assert api.post("/certificate-authorities", root_ca_body(name="r3")).status == 201
