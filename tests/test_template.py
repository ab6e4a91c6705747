"""template.yaml is the one source of truth: the embedded AWS builds the same table, and policies stay narrow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from certwright.adapters.dynamodb_models import Row, table_definition

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


def test_the_table_ttl_is_the_rows_own_ttl_attribute_not_expires_at() -> None:
    declared = _template()["Resources"]["CertificatesTable"]["Properties"]["TimeToLiveSpecification"]
    # expires_at means other things on other rows (a nonce's validity, which its check reads): never the TTL.
    assert declared == {"AttributeName": Row.ttl.attr_name, "Enabled": True}
    assert Row.ttl.attr_name != Row.expires_at.attr_name


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


def _key_policy() -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = _template()["Resources"]["KeyEncryptionKey"]["Properties"]["KeyPolicy"][
        "Statement"
    ]
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _eab_statement(statement: dict[str, Any]) -> bool:
    keys = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("kms:EncryptionContextKeys")
    return bool(keys == ["certwright:eabKeyId"])


def _page_token_statement(statement: dict[str, Any]) -> bool:
    keys = statement.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("kms:EncryptionContextKeys")
    return bool(keys == ["certwright:purpose"])


def test_only_the_api_and_the_deployer_may_decrypt_leaf_keys_and_only_with_certwrights_context() -> None:
    leaf = [st for st in _key_policy() if not _eab_statement(st) and not _page_token_statement(st)]
    decrypters = {st["Principal"]["AWS"]["GetAtt"] for st in leaf if "kms:Decrypt" in _actions(st)}
    assert decrypters == {"IssuanceApiFunctionRole.Arn", "DeployerRole.Arn"}
    sealers = {st["Principal"]["AWS"]["GetAtt"] for st in leaf if "kms:Encrypt" in _actions(st)}
    assert sealers == {"IssuanceApiFunctionRole.Arn", "RenewalSweepFunctionRole.Arn"}
    # EAB HMAC keys: sealed by the API, opened by the ACME server, only with their own context (adapters/kms_eab.py).
    eab = [st for st in _key_policy() if _eab_statement(st)]
    assert {(st["Principal"]["AWS"]["GetAtt"], *_actions(st)) for st in eab} == {
        ("IssuanceApiFunctionRole.Arn", "kms:Encrypt"),
        ("AcmeServerFunctionRole.Arn", "kms:Decrypt"),
    }
    assert all(st["Condition"]["StringLike"]["kms:EncryptionContext:certwright:eabKeyId"] == "eab-*" for st in eab)
    # The page-token key (adapters/page_tokens.py): the API alone seals and opens it, only with its purpose.
    (tokens,) = [st for st in _key_policy() if _page_token_statement(st)]
    assert tokens["Principal"]["AWS"]["GetAtt"] == "IssuanceApiFunctionRole.Arn"
    assert set(_actions(tokens)) == {"kms:Encrypt", "kms:Decrypt"}
    assert tokens["Condition"]["StringEquals"] == {"kms:EncryptionContext:certwright:purpose": "page-tokens"}
    for statement in leaf:
        if {"kms:Decrypt", "kms:Encrypt"} & set(_actions(statement)):
            keys = statement["Condition"]["ForAllValues:StringEquals"]["kms:EncryptionContextKeys"]
            assert keys == ["certwright:certificateId", "certwright:versionNumber"]  # what adapters/kms.py sends
            assert statement["Condition"]["StringLike"]["kms:EncryptionContext:certwright:certificateId"] == "cert-*"
    # No IAM policy can add a decrypter: the account root administers the key but may not use or grant it.
    (admin,) = [st for st in _key_policy() if "root" in str(st["Principal"])]
    assert not any(a.endswith("*") for a in _actions(admin))
    assert not {"kms:Decrypt", "kms:Encrypt", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:GenerateDataKey"} & set(
        _actions(admin)
    )
    assert not [name for name, st in _statements() if {"kms:Decrypt", "kms:Encrypt"} & set(_actions(st))]


def test_ca_keys_are_tagged_only_when_created_never_adopted() -> None:
    api = [st for name, st in _statements() if name == "IssuanceApiFunction"]
    (create,) = [st for st in api if "kms:CreateKey" in _actions(st)]
    assert create["Condition"]["StringEquals"]["aws:RequestTag/certwright:purpose"] == "ca-signing"
    (deny,) = [st for st in api if st["Effect"] == "Deny"]
    assert set(_actions(deny)) == {"kms:TagResource", "kms:UntagResource"}
    assert deny["Resource"]["Sub"].endswith(":key/*-*")


def test_the_deployer_touches_only_consented_listeners_and_acm_targets_and_its_own_copies() -> None:
    deployer = {st["Sid"]: st for name, st in _statements() if name == "DeployerRole"}
    consented = {"Null": {"aws:ResourceTag/certwright:consent": "false"}}
    assert deployer["RotateCertificatesOnlyOfConsentedListeners"]["Condition"] == consented
    assert deployer["ReimportOnlyIntoConsentedAcmTargets"]["Condition"] == consented
    assert deployer["DeleteOnlyCertwrightCopies"]["Condition"] == {
        "Null": {"aws:ResourceTag/certwright:certificateId": "false"}
    }
    for sid in ("TagOnlyWithCertwrightCopyTags", "ImportNewCertificatesTaggedByCertwright"):
        tags = deployer[sid]["Condition"]["ForAllValues:StringEquals"]["aws:TagKeys"]
        assert "certwright:consent" not in tags, "the deployer can never consent on a target's behalf"
    for name, statement in _statements():
        actions = set(_actions(statement))
        if {"elasticloadbalancing:ModifyListener", "acm:DeleteCertificate", "acm:ImportCertificate"} & actions:
            assert statement.get("Condition"), (name, statement["Sid"])


def test_the_internet_facing_acme_server_holds_no_whole_table_grant() -> None:
    """Its DynamoDB statements name partitions (LeadingKeys) or one index; tests/runtime/test_dynamodb_access.py
    checks what they allow, and the local runtime enforces them on every ACME test."""
    policies = _template()["Resources"]["AcmeServerFunction"]["Properties"]["Policies"]
    assert all(set(p) == {"Statement"} for p in policies), "no SAM policy template (they grant whole tables)"
    for p in policies:
        for statement in p["Statement"]:
            if any(a.startswith("dynamodb:") for a in _actions(statement)):
                assert "dynamodb:Scan" not in _actions(statement)
                leading = statement.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                index_only = statement["Resource"] == {"Sub": "${CertificatesTable.Arn}/index/BySerial"}
                assert leading or index_only, statement["Sid"]
                assert not leading or "*" not in leading, statement["Sid"]


def test_the_endpoint_prober_reads_and_records_probes_and_nothing_else() -> None:
    """Its own role: GetItem/Query on the rows a probe reads, UpdateItem on associations; no KMS, ACM, SNS, S3."""
    function = _template()["Resources"]["EndpointProberFunction"]["Properties"]
    policies = function["Policies"]
    assert all(set(p) == {"Statement"} for p in policies), "no SAM policy template (they grant whole tables)"
    granted = {
        action: statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        for p in policies
        for statement in p["Statement"]
        for action in _actions(statement)
    }
    assert granted == {
        "dynamodb:GetItem": ["PROBED", "ASSOC#*", "CERT#*"],
        "dynamodb:Query": ["PROBED", "ASSOC#*", "CERT#*"],
        "dynamodb:UpdateItem": ["ASSOC#*"],
    }
    assert function["Events"]["Probe"]["Type"] == "Schedule"
    assert "HasProbeVpc" in function["VpcConfig"]["If"]
    requirements = (TEMPLATE.parent / "functions" / "endpoint_prober" / "requirements.txt").read_text()
    assert "pyopenssl==" in requirements.lower()
