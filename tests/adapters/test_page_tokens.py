"""Sealed page tokens on moto's KMS and DynamoDB: a token opens for its caller only, shows nothing of what it
stands for, and fails closed; the stack's key is made once (sealed by KMS at rest), shared by every container,
and a refused token makes no key."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from certwright import bootstrap
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.page_tokens import KEY_PK, KEY_SK, PREFIX, SealedPageTokens, TablePageTokenKey
from certwright.errors import InvalidInputError

from tests.conftest import ApiClient, Aws, Hierarchy, leaf_body

ALICE = "arn:aws:iam::123456789012:role/alice"
BOB = "arn:aws:iam::123456789012:role/bob"
INNER = "eyJxIjoiZmluZ2VycHJpbnQiLCJwIjpbInNlY3JldC1jZXJ0LW5hbWUjY2VydC0xIl19"  # a listing's own token


# Every test takes `container`: it binds the table model (Row) to the test's table.
def tokens(aws: Aws) -> tuple[SealedPageTokens, TablePageTokenKey]:
    key = TablePageTokenKey(Row, aws.session.client("kms"), aws.settings.key_encryption_key_id)
    return SealedPageTokens(key), key


def refused(action: Any) -> None:
    with pytest.raises(InvalidInputError) as caught:
        action()
    assert caught.value.code == "InvalidPageToken"


def test_a_token_opens_for_its_caller_only_and_shows_nothing(aws: Aws, container: bootstrap.Container) -> None:
    sealer, _ = tokens(aws)
    sealed = sealer.seal(INNER, ALICE)
    assert sealer.open(sealed, ALICE) == INNER
    assert sealed.startswith(PREFIX)
    raw = base64.urlsafe_b64decode(sealed[1:] + "=" * (-len(sealed[1:]) % 4))
    assert INNER.encode() not in raw and b"secret-cert-name" not in raw
    assert sealer.seal(INNER, ALICE) != sealed  # a fresh nonce every time
    refused(lambda: sealer.open(sealed, BOB))
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    refused(lambda: sealer.open(flipped, ALICE))
    for garbage in ("", "x", "%%%", sealed[:30], INNER, sealed[1:]):
        refused(lambda g=garbage: sealer.open(g, ALICE))


def test_no_token_starts_like_a_command_line_option(aws: Aws, container: bootstrap.Container) -> None:
    """A token is passed on command lines (`certwright cert list --page-token TOKEN`): none may start with "-",
    as one in 64 base64url texts would (tests/cli/test_paging.py failed on one)."""
    sealer, _ = tokens(aws)
    sealed = [sealer.seal(f"{INNER}{n}", ALICE) for n in range(300)]
    assert all(s.startswith(PREFIX) for s in sealed)
    assert [sealer.open(s, ALICE) for s in sealed] == [f"{INNER}{n}" for n in range(300)]


def test_the_key_is_made_once_sealed_at_rest_and_shared_by_every_container(
    aws: Aws, container: bootstrap.Container
) -> None:
    first, first_key = tokens(aws)
    sealed = first.seal(INNER, ALICE)
    row = Row.get(KEY_PK, KEY_SK)
    assert row.secret and first_key(False) not in bytes(row.secret)  # KMS ciphertext, not the key
    other, other_key = tokens(aws)  # another container: reads the stored key
    assert other.open(sealed, ALICE) == INNER
    assert other_key(False) == first_key(False)
    assert aws.calls["kms.Encrypt"] == 1


def test_two_first_uses_at_once_end_with_one_key(
    aws: Aws, container: bootstrap.Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    winner, _ = tokens(aws)
    loser, loser_key = tokens(aws)
    reads = iter([None])  # the loser read before the winner wrote
    real_read = loser_key._read
    monkeypatch.setattr(loser_key, "_read", lambda: next(reads, None) or real_read())
    sealed = winner.seal(INNER, ALICE)
    assert loser.open(loser.seal(INNER, BOB), BOB) == INNER  # its conditional write lost: it took the winner's key
    assert loser.open(sealed, ALICE) == INNER


def test_a_refused_token_makes_no_key_and_calls_no_kms(aws: Aws, container: bootstrap.Container) -> None:
    sealer, _ = tokens(aws)
    refused(lambda: sealer.open(base64.urlsafe_b64encode(b"n" * 64).decode(), ALICE))
    assert aws.calls["kms.Encrypt"] == aws.calls["kms.Decrypt"] == 0
    assert not [item for item in aws.table_items() if item["pk"]["S"] == KEY_PK]


def test_a_listing_token_is_for_its_caller_and_names_no_row(api: ApiClient, hierarchy: Hierarchy) -> None:
    for name in ("alpha-hidden-name", "beta-hidden-name"):
        assert api.post("/certificates", leaf_body(hierarchy.issuing["id"], name=name)).status == 201
    first = api.get("/certificates?sortBy=name&limit=1")
    token = first.body["nextPage"]
    body = token.removeprefix(PREFIX)
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert b"hidden-name" not in raw and b"cert-" not in raw
    assert api.get(f"/certificates?sortBy=name&limit=1&page={token}").body["items"][0]["name"] == "beta-hidden-name"
    other = api.get(f"/certificates?sortBy=name&limit=1&page={token}", caller=BOB)
    assert (other.status, other.body["code"]) == (400, "InvalidPageToken")
    elsewhere = api.get(f"/certificate-authorities?sortBy=name&limit=1&page={token}")
    assert (elsewhere.status, elsewhere.body["code"]) == (400, "InvalidPageToken")
