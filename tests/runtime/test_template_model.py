"""The template model reads the wiring from template.yaml; nothing about which function gets what is hard-coded."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from infra import template_model as tm
from infra.resources import deploy, local_name
from tests.runtime.conftest import TEST_TEMPLATE


def test_the_real_template_wires_every_function() -> None:
    model = tm.load()
    by_id = {f.logical_id: f for f in model.functions}
    assert set(by_id) >= {
        "IssuanceApiFunction",
        "StreamPublisherFunction",
        "RenewalSweepFunction",
        "AssociationChangeFunction",
        "LbDeployerFunction",
    }
    # The API takes every path but the ACME protocol's (/acme/{proxy+}); the EAB keys under /acme stay with it.
    assert [type(e) for e in by_id["IssuanceApiFunction"].events] == [tm.ApiEvent] * 3
    api, *eab = by_id["IssuanceApiFunction"].events_of(tm.ApiEvent)
    assert (api.path, api.method) == ("/{proxy+}", "ANY")
    assert [e.path for e in eab] == ["/acme/eab-keys", "/acme/eab-keys/{key_id}"]
    (acme,) = by_id["AcmeServerFunction"].events_of(tm.ApiEvent)
    assert (acme.path, acme.method) == ("/acme/{proxy+}", "ANY")

    (stream,) = by_id["StreamPublisherFunction"].events
    assert isinstance(stream, tm.StreamEvent)
    assert stream.stream == {"Fn::GetAtt": ["CertificatesTable", "StreamArn"]}
    assert stream.report_batch_item_failures
    assert stream.maximum_retry_attempts >= 0
    assert stream.on_failure is not None and tm.referenced_resource(stream.on_failure.target) in model.resources

    (sweep,) = by_id["RenewalSweepFunction"].events
    assert isinstance(sweep, tm.ScheduleEvent)

    for name in ("AssociationChangeFunction", "LbDeployerFunction"):
        (rule,) = by_id[name].events_of(tm.EventBridgeRuleEvent)
        assert isinstance(rule, tm.EventBridgeRuleEvent)
        assert rule.event_bus == {"Ref": "EventBus"}
        assert rule.pattern["source"] == ["certwright"]
        assert by_id[name].invoke_config.on_failure is not None

    assert set(by_id["LbDeployerFunction"].events[0].pattern["detail-type"]) >= {"CertificateVersionCreated"}
    # The deployer retries failed deployments on its own schedule (it holds the permissions to deploy).
    assert [type(e) for e in by_id["LbDeployerFunction"].events_of(tm.ScheduleEvent)] == [tm.ScheduleEvent]
    assert set(by_id["AssociationChangeFunction"].events[0].pattern["detail-type"]) >= {"AssociationCreated"}
    # Globals reach every function: the table and the key-encryption key, unresolved until deployed.
    for function in model.functions:
        assert function.environment["CERTWRIGHT_TABLE"] == {"Ref": "CertificatesTable"}
        assert function.environment["CERTWRIGHT_KEY_ENCRYPTION_KEY_ID"] == {"Fn::GetAtt": ["KeyEncryptionKey", "Arn"]}
        assert function.handler_file == function.code_uri / "app.py"
        assert function.code_uri.is_relative_to(tm.DEFAULT_TEMPLATE.parent / "functions")
    assert {r.type for r in model.resources.values()} >= {tm.TABLE, tm.KMS_KEY, tm.EVENT_BUS, tm.QUEUE, tm.TOPIC}


def test_the_test_template_merges_globals_and_reads_every_event_kind() -> None:
    model = tm.load(TEST_TEMPLATE)
    blue = model.function("BlueFunction")
    assert blue.timeout == 10 and blue.memory_size == 256 and blue.handler == "app.lambda_handler"
    assert blue.environment["GREETING"] == "hello from blue"  # the function's own value wins over Globals
    assert blue.environment["TABLE"] == {"Ref": "Table"}
    assert blue.invoke_config.maximum_retry_attempts == 1
    assert model.function("GreenFunction").timeout == 20
    assert model.function("GreenFunction").invoke_config == tm.InvokeConfig()  # AWS defaults: 2 retries, no DLQ
    (stream,) = model.function("StreamFunction").events
    assert isinstance(stream, tm.StreamEvent)
    assert (stream.batch_size, stream.maximum_retry_attempts, stream.bisect_on_error) == (10, 2, True)
    (tick,) = model.function("TickFunction").events
    assert isinstance(tick, tm.ScheduleEvent) and tick.schedule == {"Ref": "TickRate"}
    assert model.resources["OnlyInProd"].condition == "IsProd"


def test_short_tags_become_their_long_form() -> None:
    document = tm.load_yaml(
        "A: !Ref X\nB: !GetAtt T.StreamArn\nC: !Sub 'x-${Stage}'\nD: !Not [!Equals [!Ref P, '']]\nE: !Join [',', [a, b]]\n"
    )
    assert document == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["T", "StreamArn"]},
        "C": {"Fn::Sub": "x-${Stage}"},
        "D": {"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]},
        "E": {"Fn::Join": [",", ["a", "b"]]},
    }


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(5 minutes)", 300.0), ("rate(1 minute)", 60.0), ("rate(2 hours)", 7200.0), ("cron(0 12 * * ? *)", None)],
)
def test_rate_expressions(expression: str, seconds: float | None) -> None:
    assert tm.rate_seconds(expression) == seconds


def test_local_names_follow_the_logical_ids() -> None:
    assert local_name("CertificatesTable") == "certwright-certificates"
    assert local_name("StreamFailureQueue") == "certwright-stream-failure"


def test_an_event_without_its_required_property_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "template.yaml"
    broken.write_text(
        "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      CodeUri: f/\n"
        "      Handler: app.h\n      Events:\n        S:\n          Type: DynamoDB\n          Properties: {}\n"
    )
    with pytest.raises(tm.TemplateError, match="needs a Stream"):
        tm.load(broken)


def test_deploying_the_real_template_resolves_every_function_environment() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        deployment = deploy(session, tm.load())
        table = session.client("dynamodb").describe_table(TableName=deployment.resources["CertificatesTable"].ref)
        described = table["Table"]
        assert {i["IndexName"] for i in described["GlobalSecondaryIndexes"]} == {
            "ByKind",
            "ByParent",
            "RenewalDue",
            "ByHost",
            "BySerial",
            "ByFingerprint",
            "InventoryByName",
            "InventoryByCreated",
            "InventoryByExpiry",
        }
        assert described["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert session.client("events").describe_event_bus(Name=deployment.resources["EventBus"].ref)["Arn"]
        assert "AlertEmailSubscription" in deployment.skipped  # its condition is false with the default AlertEmail
        for function in deployment.template.functions:
            env = deployment.environment(function)
            assert env["CERTWRIGHT_TABLE"] == described["TableName"]
            assert env["CERTWRIGHT_KEY_ENCRYPTION_KEY_ID"].startswith("arn:aws:kms:us-east-1:")
            assert env["CERTWRIGHT_EVENT_BUS"] == deployment.resources["EventBus"].ref
            assert env["CERTWRIGHT_DEPLOYER_ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/")
        settings = deployment.settings()
        assert settings.table_name == described["TableName"]
        assert settings.event_bus_name == deployment.resources["EventBus"].ref


def test_conditions_and_parameters_decide_what_is_created() -> None:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        test = deploy(session, tm.load(TEST_TEMPLATE))
        assert "OnlyInProd" in test.skipped
        assert test.resources["Bus"].ref == "runtime-test"
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        prod = deploy(session, tm.load(TEST_TEMPLATE), {"Stage": "prod"})
        assert "OnlyInProd" in prod.resources
        assert prod.resources["Bus"].ref == "runtime-prod"
        assert prod.resolve({"Fn::Sub": "${Bus}/${Table.Arn}/${!Literal}"}).startswith("runtime-prod/arn:aws:dynamodb:")
        assert prod.resolve({"Fn::Sub": "${Bus}/${!Literal}"}) == "runtime-prod/${Literal}"
