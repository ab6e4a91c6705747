"""Listing EAB keys on the fakes: the caller's own, or (`?principal=`) another principal's as far as the caller
may read them (the stack's admin: all; anyone else: none, as if there were none); paged with tokens sealed for
the caller, the route and the principal; a principal that is not an IAM ARN is 400 and touches nothing."""

from __future__ import annotations

import copy
from typing import Any
from urllib.parse import quote

import pytest
from certwright import bootstrap
from certwright.authorization import visibility
from certwright.errors import InvalidInputError

from infra.api_events import LOCAL_ADMIN
from tests.acme.conftest import Acme
from tests.conftest import ApiClient, Clock
from tests.fakes import World, build_fake, fake_settings, runtime

ALICE = "arn:aws:iam::123456789012:role/alice"
ALICE_SESSION = "arn:aws:sts::123456789012:assumed-role/alice/laptop"
BOB = "arn:aws:iam::123456789012:role/bob"


def _keys_of(acme: Acme, principal: str, count: int) -> list[str]:
    return [acme.eab(principal)[0] for _ in range(count)]


def _listing(principal: str | None = None, *, limit: int | None = None, page: str | None = None) -> str:
    query = [f"principal={quote(principal, safe='')}"] if principal else []
    query += [f"limit={limit}"] if limit else []
    query += [f"page={page}"] if page else []
    return "/acme/eab-keys" + ("?" + "&".join(query) if query else "")


def _ids(answer: Any) -> list[str]:
    return [k["keyId"] for k in answer.body["items"]]


def _everything(acme: Acme) -> Any:
    return copy.deepcopy((vars(acme.world.acme), acme.world.memory.audit))


# -- the service --------------------------------------------------------------------------------------------


def test_the_service_pages_a_principals_keys_oldest_first(acme: Acme) -> None:
    keys = _keys_of(acme, ALICE, 5)
    service = acme.container.eab_keys
    seen: list[str] = []
    token = None
    for _ in range(3):
        page = service.list_page(LOCAL_ADMIN, ALICE, 2, token)
        seen += [k.key_id for k in page.items]
        token = page.next_token
    assert seen == keys and token is None
    assert [k.key_id for k in service.list_page(ALICE, None, 100, None).items] == keys
    # A session ARN names its role: the same keys.
    assert [k.key_id for k in service.list_page(LOCAL_ADMIN, ALICE_SESSION, 100, None).items] == keys
    with pytest.raises(InvalidInputError) as bad:
        service.list_page(LOCAL_ADMIN, ALICE, 2, "not a position")
    assert bad.value.code == "InvalidPageToken"


def test_another_principals_keys_are_filtered_before_paging_the_callers_own_never(acme: Acme) -> None:
    alice = _keys_of(acme, ALICE, 3)
    bob = _keys_of(acme, BOB, 1)
    service = acme.container.eab_keys
    with visibility.scope(lambda item: False):  # a caller who may read no one else's key
        hidden = service.list_page(BOB, ALICE, 1, None)
        assert (hidden.items, hidden.next_token) == ([], None)  # not even a next page tells alice has keys
        assert [k.key_id for k in service.list_page(BOB, None, 100, None).items] == bob
        assert [k.key_id for k in service.list_page(BOB, BOB, 100, None).items] == bob
    with visibility.scope(lambda item: getattr(item, "key_id", "") != alice[1]):
        assert [k.key_id for k in service.list_page(BOB, ALICE, 100, None).items] == [alice[0], alice[2]]


@pytest.mark.parametrize(
    "principal",
    ["alice", "arn:aws:s3:::bucket", "arn:aws:iam::1234:role/alice", "arn:aws:iam::123456789012:group/devs"],
)
def test_a_principal_that_is_not_an_iam_arn_is_refused_by_the_service(acme: Acme, principal: str) -> None:
    with pytest.raises(InvalidInputError) as bad:
        acme.container.eab_keys.list_page(LOCAL_ADMIN, principal, 100, None)
    assert bad.value.code == "InvalidParameter"


# -- through the API handler --------------------------------------------------------------------------------


def test_an_admin_lists_another_principals_keys_and_nobody_else_sees_them(acme: Acme) -> None:
    api = ApiClient()
    created = [api.post("/acme/eab-keys", {}, caller=ALICE).body["keyId"] for _ in range(3)]
    mine = api.post("/acme/eab-keys", {}).body["keyId"]  # the local admin's own
    listed = api.get(_listing(ALICE))
    assert listed.status == 200, listed.body
    assert _ids(listed) == created and {k["principalArn"] for k in listed.body["items"]} == {ALICE}
    assert all("hmacKey" not in k for k in listed.body["items"])
    assert _ids(api.get(_listing())) == [mine]  # without the parameter: the caller's own, as before
    # Alice herself, by her role or by a session of it; and without the parameter.
    for who in (ALICE, ALICE_SESSION):
        assert _ids(api.get(_listing(ALICE), caller=who)) == created
        assert _ids(api.get(_listing(), caller=who)) == created
    # To anyone else alice has no keys: an empty page, no next page even one key at a time, no denial recorded.
    audit = len(acme.world.memory.audit)
    stranger = api.get(_listing(ALICE, limit=1), caller=BOB)
    assert (stranger.status, stranger.body) == (200, {"items": [], "nextPage": None})
    assert len(acme.world.memory.audit) == audit
    # The admin offboards alice: revokes what the listing found.
    for key_id in created:
        assert api.call("DELETE", f"/acme/eab-keys/{key_id}").status == 200
    assert [k["revoked"] for k in api.get(_listing(ALICE)).body["items"]] == [True] * 3


@pytest.mark.parametrize(
    "principal",
    ["alice", "arn:aws:s3:::bucket", "arn:aws:iam::1234:role/alice", "arn:aws:iam::123456789012:group/x", "a" * 3000],
)
def test_a_principal_that_is_not_an_iam_arn_is_400_with_no_side_effect(acme: Acme, principal: str) -> None:
    api = ApiClient()
    api.post("/acme/eab-keys", {}, caller=ALICE)
    before = _everything(acme)
    refused = api.get(_listing(principal))
    assert (refused.status, refused.body["code"]) == (400, "InvalidParameter"), refused.body
    assert "principal" in refused.body["message"]
    assert _everything(acme) == before


def test_a_page_token_for_one_principal_does_not_open_for_another(acme: Acme) -> None:
    api = ApiClient()
    alice = [api.post("/acme/eab-keys", {}, caller=ALICE).body["keyId"] for _ in range(2)]
    bob = [api.post("/acme/eab-keys", {}, caller=BOB).body["keyId"] for _ in range(2)]
    first = api.get(_listing(ALICE, limit=1))
    assert _ids(first) == alice[:1] and first.body["nextPage"]
    token = first.body["nextPage"]
    before = _everything(acme)
    for replay in (_listing(BOB, limit=1, page=token), _listing(limit=1, page=token)):
        refused = api.get(replay)
        assert (refused.status, refused.body["code"]) == (400, "InvalidPageToken"), (replay, refused.body)
    # Nor for another caller naming the same principal (alice herself).
    assert api.get(_listing(ALICE, limit=1, page=token), caller=ALICE).body["code"] == "InvalidPageToken"
    assert _everything(acme) == before
    second = api.get(_listing(ALICE, limit=1, page=token))
    assert (_ids(second), second.body["nextPage"]) == (alice[1:], None)
    assert _ids(api.get(_listing(BOB))) == bob


def test_an_extra_policy_decides_who_else_may_list_them(clock: Clock, world: World) -> None:
    """Cedar decides, key by key: a helpdesk role an extra policy lets read EabKey entities sees them too."""
    helpdesk = "arn:aws:iam::123456789012:role/helpdesk"
    policy = (
        'permit (principal, action == Certwright::Action::"Read", resource is Certwright::EabKey)\n'
        'when { principal.name == "helpdesk" && principal.account == resource.account };'
    )
    instance, _ = build_fake(fake_settings(extra_policies=policy), runtime(clock), world)
    bootstrap.install(instance)
    try:
        api = ApiClient()
        created = api.post("/acme/eab-keys", {}, caller=ALICE).body["keyId"]
        assert _ids(api.get(_listing(ALICE), caller=helpdesk)) == [created]
        assert _ids(api.get(_listing(ALICE), caller=BOB)) == []
    finally:
        bootstrap.install(None)
