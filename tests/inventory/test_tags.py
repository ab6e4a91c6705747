"""Freeform tags on CAs, certificates and CA bundles: AWS's validation rules, create/PATCH/PUT, and Cedar policies on them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from certwright.domain.tags import parse_tag_filter, parse_tags
from certwright.errors import InvalidInputError

from tests.authz.conftest import OTHER, OWNER, created
from tests.authz.test_policies import with_policies as with_policies
from tests.conftest import ApiClient, Aws, leaf_body, root_ca_body, sub_ca_body

# -- validation ------------------------------------------------------------------------------------------------


def test_valid_tags_are_kept_sorted_and_case_sensitive() -> None:
    tags = parse_tags({"Team": "pay", "team": "web", "cost-center": "", "ünïcode é": "a+b=c.d:e/f@g-h_i"})
    assert tags == (("Team", "pay"), ("cost-center", ""), ("team", "web"), ("ünïcode é", "a+b=c.d:e/f@g-h_i"))


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        pytest.param({f"k{i}": "v" for i in range(51)}, "TooManyTags", id="51 tags"),
        pytest.param({"": "v"}, "InvalidTagKey", id="empty key"),
        pytest.param({"k" * 129: "v"}, "InvalidTagKey", id="key of 129"),
        pytest.param({"aws:owner": "v"}, "InvalidTagKey", id="aws: prefix"),
        pytest.param({"AWS:owner": "v"}, "InvalidTagKey", id="AWS: prefix, any case"),
        pytest.param({"a*b": "v"}, "InvalidTagKey", id="key with *"),
        pytest.param({"a\x00b": "v"}, "InvalidTagKey", id="key with NUL"),
        pytest.param({"k": "v" * 257}, "InvalidTagValue", id="value of 257"),
        pytest.param({"k": "a;b"}, "InvalidTagValue", id="value with ;"),
        pytest.param({"k": "a\u202eb"}, "InvalidTagValue", id="value with a bidi override"),
    ],
)
def test_bad_tags_are_refused_with_a_stable_code(tags: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_tags(tags)
    assert raised.value.code == code


def test_the_limits_themselves_are_accepted() -> None:
    assert len(parse_tags({f"k{i}": "v" * 256 for i in range(50)})) == 50
    assert parse_tags({"k" * 128: ""}) == (("k" * 128, ""),)


def test_a_tag_filter_is_key_equals_value() -> None:
    assert parse_tag_filter("team=pay") == ("team", "pay")
    assert parse_tag_filter("env=") == ("env", "")
    assert parse_tag_filter("path=a=b") == ("path", "a=b")
    for bad in ("team", "=pay", "aws:x=1"):
        with pytest.raises(InvalidInputError) as raised:
            parse_tag_filter(bad)
        assert raised.value.code == "InvalidTagFilter"


# -- through the API ---------------------------------------------------------------------------------------------


def _tags(answer: Any) -> dict[str, str]:
    assert answer.status in (200, 201), answer.body
    return dict(answer.body["freeformTags"])


def test_tags_at_create_and_replaced_by_patch_and_put(api: ApiClient) -> None:
    root = created(api.post("/certificate-authorities", root_ca_body(freeformTags={"team": "pay"})))
    assert root["freeformTags"] == {"team": "pay"}
    assert _tags(api.get(f"/certificate-authorities/{root['id']}")) == {"team": "pay"}
    assert _tags(api.call("PUT", f"/certificate-authorities/{root['id']}/tags", {"freeformTags": {"env": "prod"}})) == {
        "env": "prod"
    }
    assert _tags(api.get(f"/certificate-authorities/{root['id']}")) == {"env": "prod"}

    issuing = created(api.post("/certificate-authorities", sub_ca_body(root["id"])))["id"]
    cert = created(api.post("/certificates", leaf_body(issuing, freeformTags={"team": "pay", "Team": "Pay"})))
    assert cert["freeformTags"] == {"team": "pay", "Team": "Pay"}
    patched = api.call("PATCH", f"/certificates/{cert['id']}", {"freeformTags": {"team": "web"}})
    assert _tags(patched) == {"team": "web"}
    assert _tags(api.call("PATCH", f"/certificates/{cert['id']}", {"description": "x"})) == {"team": "web"}
    assert _tags(api.call("PATCH", f"/certificates/{cert['id']}", {"freeformTags": {}})) == {}

    bundle = created(
        api.post("/ca-bundles", {"name": "b", "certificateAuthorityIds": [issuing], "freeformTags": {"a": "1"}})
    )
    assert bundle["freeformTags"] == {"a": "1"}
    assert _tags(api.call("PUT", f"/ca-bundles/{bundle['id']}/tags", {"freeformTags": {"b": "2"}})) == {"b": "2"}
    assert _tags(api.get(f"/ca-bundles/{bundle['id']}")) == {"b": "2"}


@pytest.mark.parametrize(
    ("tags", "code"),
    [
        ({"aws:x": "1"}, "InvalidTagKey"),
        ({"k": "v" * 257}, "InvalidTagValue"),
        ({f"k{i}": "" for i in range(51)}, "TooManyTags"),
    ],
)
def test_bad_tags_are_a_400_with_nothing_written(api: ApiClient, aws: Aws, tags: dict[str, str], code: str) -> None:
    root = created(api.post("/certificate-authorities", root_ca_body()))["id"]
    issuing = created(api.post("/certificate-authorities", sub_ca_body(root)))["id"]
    cert = created(api.post("/certificates", leaf_body(issuing)))["id"]
    before = aws.table_items()
    answers = [
        api.post("/certificate-authorities", root_ca_body(freeformTags=tags)),
        api.post("/certificates", leaf_body(issuing, freeformTags=tags)),
        api.post("/ca-bundles", {"name": "b", "certificateAuthorityIds": [issuing], "freeformTags": tags}),
        api.call("PATCH", f"/certificates/{cert}", {"freeformTags": tags}),
        api.call("PUT", f"/certificate-authorities/{root}/tags", {"freeformTags": tags}),
    ]
    assert [(a.status, a.body["code"]) for a in answers] == [(400, code)] * len(answers)
    after = aws.table_items()
    assert [i for i in after if not str(i["pk"]).startswith("AUDIT#")] == [
        i for i in before if not str(i["pk"]).startswith("AUDIT#")
    ]


# -- Cedar ---------------------------------------------------------------------------------------------------------

TEAM_PAY_READS = """
permit (principal, action == Certwright::Action::"Read", resource)
when { resource.hasTag("team") && resource.getTag("team") == "pay" && principal.account == resource.account };
"""


@pytest.fixture
def team_pay(with_policies: Any) -> Iterator[None]:
    with_policies(TEAM_PAY_READS)
    yield


def test_a_tag_based_policy_permits_the_tagged_and_denies_the_untagged(api: ApiClient, team_pay: None) -> None:
    root = created(api.post("/certificate-authorities", root_ca_body(), caller=OWNER))["id"]
    issuing = created(api.post("/certificate-authorities", sub_ca_body(root), caller=OWNER))["id"]
    tagged = created(
        api.post("/certificates", leaf_body(issuing, name="pay", freeformTags={"team": "pay"}), caller=OWNER)
    )
    untagged = created(api.post("/certificates", leaf_body(issuing, name="web"), caller=OWNER))
    other_team = created(
        api.post("/certificates", leaf_body(issuing, name="shop", freeformTags={"team": "shop"}), caller=OWNER)
    )
    assert api.get(f"/certificates/{tagged['id']}", caller=OTHER).status == 200
    assert api.get(f"/certificates/{untagged['id']}", caller=OTHER).status == 404
    assert api.get(f"/certificates/{other_team['id']}", caller=OTHER).status == 404
    listed = [c["id"] for c in api.get("/certificates?limit=100", caller=OTHER).body["items"]]
    assert listed == [tagged["id"]]
    # The permit reads tags, nothing else: retagging the certificate takes its visibility away.
    api.call("PATCH", f"/certificates/{tagged['id']}", {"freeformTags": {"team": "web"}}, caller=OWNER)
    assert api.get(f"/certificates/{tagged['id']}", caller=OTHER).status == 404
