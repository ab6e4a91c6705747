"""template.yaml is the one source of truth: the embedded AWS builds the same table, and policies stay narrow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from certwright.adapters.dynamodb_models import table_definition

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _any_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return {suffix: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {suffix: loader.construct_sequence(node)}
    return {suffix: loader.construct_mapping(node)}  # type: ignore[arg-type]


_CfnLoader.add_multi_constructor("!", _any_tag)


def _template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def test_the_local_table_matches_the_template() -> None:
    declared = _template()["Resources"]["CertificatesTable"]["Properties"]
    local = table_definition("any")
    assert sorted(declared["AttributeDefinitions"], key=str) == sorted(local["AttributeDefinitions"], key=str)
    assert declared["KeySchema"] == local["KeySchema"]
    assert {i["IndexName"]: i["KeySchema"] for i in declared["GlobalSecondaryIndexes"]} == {
        i["IndexName"]: i["KeySchema"] for i in local["GlobalSecondaryIndexes"]
    }
    assert declared["StreamSpecification"]["StreamViewType"] == local["StreamSpecification"]["StreamViewType"]


def _statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in _template()["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in resource["Properties"].get("Policies", []):
                found += [(name, st) for st in (policy.get("Statement", []) if isinstance(policy, dict) else [])]
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                found += [(name, st) for st in policy["PolicyDocument"]["Statement"]]
    return found


def test_policies_grant_no_wildcard_actions_and_no_unconditioned_wildcard_resources() -> None:
    statements = _statements()
    assert len(statements) > 10
    for name, statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert not any(a.endswith(":*") or a == "*" for a in actions), (name, statement)
        if statement.get("Resource") == "*":
            assert statement.get("Condition"), f"{name}: Resource '*' without a condition"


def test_only_the_deployer_role_may_decrypt_leaf_keys_besides_the_api() -> None:
    decrypters = {name for name, st in _statements() if "kms:Decrypt" in st["Action"]}
    assert decrypters == {"IssuanceApiFunction", "DeployerRole"}
