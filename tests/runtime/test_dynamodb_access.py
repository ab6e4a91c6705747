"""The local runtime decides each function's DynamoDB requests as IAM would from template.yaml's grants
(infra/dynamodb_access.py): what the ACME server may touch, what no function may, and that the check is live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from infra import dynamodb_access
from infra.dynamodb_access import Enforcer, Request, Statement, requests_of
from infra.runtime import LocalRuntime, local_runtime

TABLE = "certwright-certificates"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """Overrides tests/conftest.py's: the module's runtime set the process environment (endpoint, credentials)."""


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with local_runtime(start_router=False, sweep_seconds=0) as rt:
        yield rt


@pytest.fixture(scope="module")
def access(runtime: LocalRuntime) -> Enforcer:
    return runtime.handlers.access


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def denied(access: Enforcer, function: str, operation: str, params: dict[str, Any]) -> Request | None:
    return access.functions[function].denied(requests_of(operation, params, access.tables))


def test_every_functions_dynamodb_grants_are_read_exactly_so_every_function_is_checked(access: Enforcer) -> None:
    unchecked = {name: a.why_not for name, a in access.functions.items() if not a.checked}
    assert unchecked == {}, "a grant infra/dynamodb_access.py cannot evaluate: teach it, or the runtime stops checking"


def test_the_acme_server_reaches_acme_rows_and_the_issuance_path_and_nothing_else(access: Enforcer) -> None:
    acme = "AcmeServerFunction"
    allowed = [
        ("GetItem", {"TableName": TABLE, "Key": key("ACMEORDER#o-1")}),
        ("DeleteItem", {"TableName": TABLE, "Key": key("ACMENONCE#n")}),
        ("GetItem", {"TableName": TABLE, "Key": key("ACMEEAB#k-1")}),
        ("UpdateItem", {"TableName": TABLE, "Key": key("CA#ca-1", "ISSUED")}),
        (
            "Query",  # the account's orders list
            {
                "TableName": TABLE,
                "KeyConditionExpression": "#0 = :0",
                "ExpressionAttributeNames": {"#0": "pk"},
                "ExpressionAttributeValues": {":0": {"S": "ACMEORDERS#acct-1"}},
            },
        ),
        (
            "Query",
            {
                "TableName": TABLE,
                "IndexName": "BySerial",
                "KeyConditionExpression": "#0 = :0",
                "ExpressionAttributeNames": {"#0": "serial_key"},
                "ExpressionAttributeValues": {":0": {"S": "0a1b"}},
            },
        ),
        (
            "TransactWriteItems",
            {
                "TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": key("CERT#c-1", "C")}},
                    {"Put": {"TableName": TABLE, "Item": key("SERIAL#ca-1#0a1b")}},
                    {"ConditionCheck": {"TableName": TABLE, "Key": key("CA#ca-1")}},
                ]
            },
        ),
        (
            "TransactWriteItems",  # a keyCompromise revocation marks the key compromised in the same transaction
            {
                "TransactItems": [
                    {"Update": {"TableName": TABLE, "Key": key("CERT#c-1", "V#00000001")}},
                    {"Put": {"TableName": TABLE, "Item": key("COMPROMISED#ab12", "K")}},
                ]
            },
        ),
    ]
    for operation, params in allowed:
        assert denied(access, acme, operation, params) is None, (operation, params)
    refused = [
        ("PutItem", {"TableName": TABLE, "Item": key("ACMEEAB#k-1")}),  # EAB keys are made by the IAM API only
        ("PutItem", {"TableName": TABLE, "Item": key("CA#ca-1")}),  # a CA row: counted and checked, never written
        ("PutItem", {"TableName": TABLE, "Item": {"sk": {"S": "A"}}}),  # a key it cannot read is outside every grant
        ("Query", {"TableName": TABLE, "KeyConditionExpression": "begins_with(sk, :s)"}),
        ("GetItem", {"TableName": TABLE, "Key": key("CONFIG#PAGE_TOKEN_KEY", "K")}),
        ("PutItem", {"TableName": TABLE, "Item": key("GRANTS#arn:aws:iam::123456789012:role/x", "G")}),
        ("DeleteItem", {"TableName": TABLE, "Key": key("CERT#c-1", "C")}),
        ("Scan", {"TableName": TABLE}),  # no LeadingKeys at all: only a grant naming Scan would allow it
        ("Query", {"TableName": TABLE, "IndexName": "ByKind", "KeyConditionExpression": "list_pk = :k"}),
        ("GetItem", {"TableName": "certwright-idempotency", "Key": {"id": {"S": "x"}}}),
        (
            "TransactWriteItems",  # one item outside is enough
            {
                "TransactItems": [
                    {"Put": {"TableName": TABLE, "Item": key("CERT#c-1", "C")}},
                    {"Delete": {"TableName": TABLE, "Key": key("ASSOC#a-1")}},
                ]
            },
        ),
    ]
    for operation, params in refused:
        assert denied(access, acme, operation, params) is not None, (operation, params)


def test_the_deployer_deletes_certificate_rows_only(access: Enforcer) -> None:
    """Its import marks and ACM copy records are deleted once done (the grant was missing: every deployment through
    a real role failed at 'clear ACM import mark')."""
    for function in ("LbDeployerFunction", "AssociationChangeFunction"):
        assert denied(access, function, "DeleteItem", {"TableName": TABLE, "Key": key("CERT#c", "IMPORTING#1")}) is None
        assert denied(access, function, "DeleteItem", {"TableName": TABLE, "Key": key("CA#ca-1")}) is not None


def test_an_explicit_deny_wins_and_for_all_values_holds_over_no_key() -> None:
    allow = Statement(True, ("dynamodb:*",), (TABLE_ARN,))
    deny = Statement(False, ("dynamodb:getitem",), (TABLE_ARN,), ("SECRET#*",))
    access = dynamodb_access.FunctionAccess("F", (allow, deny), checked=True)
    assert access.denied([Request("GetItem", TABLE_ARN, frozenset({"SECRET#1"}))]) is not None
    assert access.denied([Request("GetItem", TABLE_ARN, frozenset({"OTHER#1"}))]) is None
    narrow = dynamodb_access.FunctionAccess(
        "F", (Statement(True, ("dynamodb:scan",), (TABLE_ARN,), ("MINE#*",)),), checked=True
    )
    assert narrow.denied([Request("Scan", TABLE_ARN, frozenset())]) is None  # IAM's ForAllValues over an empty set
    assert narrow.denied([Request("Scan", f"{TABLE_ARN}/index/ByKind", frozenset())]) is not None


def test_a_request_the_function_may_not_make_fails_in_the_runtime_as_in_aws(runtime: LocalRuntime) -> None:
    # A session made after the runtime installed the check, as each function's container's is.
    client = boto3.Session(region_name="us-east-1").client("dynamodb", endpoint_url=runtime.endpoint)
    item = {"TableName": TABLE, "Key": key("CONFIG#PAGE_TOKEN_KEY", "K")}
    client.get_item(**item)  # the test itself is not a function: not checked
    with runtime.handlers.access.acting_as("AcmeServerFunction"):
        with pytest.raises(ClientError) as refused:
            client.get_item(**item)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "AcmeServerFunction" in refused.value.response["Error"]["Message"]
        client.get_item(TableName=TABLE, Key=key("ACMEORDER#none"))  # inside its grants: answered
    with runtime.handlers.access.acting_as("IssuanceApiFunction"):
        client.get_item(**item)  # the API function holds the table (and seals page tokens with that row)


def test_a_real_invocation_outside_its_grants_fails_as_in_aws(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handlers' own containers are checked: the CRL publisher's scheduled run with no DynamoDB grant at all is
    refused at its first read, as it would be by IAM."""
    access = runtime.handlers.access
    bare = dynamodb_access.FunctionAccess("CrlPublisherFunction", (), checked=True)
    monkeypatch.setitem(access.functions, "CrlPublisherFunction", bare)
    function = runtime.handlers.function("CrlPublisherFunction")
    scheduled = {"version": "0", "id": "s", "detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}
    with pytest.raises(Exception) as refused:
        runtime.handlers.invoke(function, scheduled)
    assert "AccessDenied" in f"{refused.value!r} {refused.value.__cause__!r}"
    monkeypatch.undo()
    assert isinstance(runtime.handlers.invoke(function, scheduled), dict)  # its own grants: the run goes through
