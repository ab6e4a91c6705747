"""Each function's DynamoDB permissions as template.yaml grants them, enforced on its requests in the local runtime.

In AWS, IAM decides every DynamoDB request a function makes against its role's policies; moto decides nothing. So
that a grant too narrow for what a handler does fails here as it would in AWS (and a narrow grant can be trusted),
the local runtime checks each DynamoDB request a handler makes against the statements of that function's role:
its actions, its table and index resources and the `dynamodb:LeadingKeys` condition, the way IAM evaluates them
(an explicit Deny wins, else an Allow is needed; a transaction needs the action of each of its items, a Query on an
index the index's resource, whose leading key is the index's partition-key value; `ForAllValues` over no key at
all, a Scan's, holds). A request outside fails with the AccessDeniedException AWS would answer; a key this module
cannot read counts as outside every LeadingKeys grant (a parse gap denies, never allows). Each invocation is
checked by its own runtime's grants (several runtimes may share a process).

A function whose grants this module cannot read exactly (a policy template or managed policy it does not know, a
condition other than LeadingKeys, NotAction/NotResource) is not checked: `FunctionAccess.checked` says which are.
Only DynamoDB is checked; the template's other grants are pinned by tests/test_template.py.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import botocore.handlers
from botocore.exceptions import ClientError

from infra import template_model as tm
from infra.resources import ACCOUNT, PARTITION, REGION, Deployment

# The runtime and function whose handler runs in this context (set by infra.routing.handlers around each call).
_CURRENT: ContextVar[tuple[Enforcer, FunctionAccess] | None] = ContextVar("certwright_function_access", default=None)
# The partition-key value of a request whose key this module could not read: no LeadingKeys value matches it, so
# a parse gap is a denial (as a real leading key outside the grant would be), never a silent allow.
UNREAD_KEY = "<unread partition key>"

# SAM's policy templates that grant DynamoDB, as SAM expands them (table and its indexes).
_SAM_TEMPLATES = {
    "DynamoDBCrudPolicy": (
        "GetItem",
        "DeleteItem",
        "PutItem",
        "Scan",
        "Query",
        "UpdateItem",
        "BatchWriteItem",
        "BatchGetItem",
        "DescribeTable",
        "ConditionCheckItem",
    ),
    "DynamoDBReadPolicy": ("GetItem", "Scan", "Query", "BatchGetItem", "DescribeTable"),
    "DynamoDBWritePolicy": ("PutItem", "UpdateItem", "BatchWriteItem"),
}
# Policy templates and managed policies that grant no DynamoDB table access (checked functions may have them).
_NO_TABLE_TEMPLATES = {
    "SQSSendMessagePolicy",
    "SQSPollerPolicy",
    "SNSPublishMessagePolicy",
    "EventBridgePutEventsPolicy",
    "KMSDecryptPolicy",
    "S3ReadPolicy",
    "S3WritePolicy",
    "S3CrudPolicy",
    "DynamoDBStreamReadPolicy",
    "LambdaInvokePolicy",
    "CloudWatchPutMetricPolicy",
}
_NO_TABLE_MANAGED = ("service-role/AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess")
_LEADING_KEYS = "dynamodb:LeadingKeys"
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


class NotModelled(Exception):
    """A grant this module cannot evaluate exactly: the function is not checked."""


@dataclass(frozen=True)
class Statement:
    allow: bool
    actions: tuple[str, ...]  # IAM action patterns, lower-cased ("dynamodb:getitem", "dynamodb:*", "*")
    resources: tuple[str, ...]  # ARN patterns
    leading_keys: tuple[str, ...] | None = None  # the LeadingKeys values, None: no condition
    like: bool = True  # StringLike (wildcards) or StringEquals

    def matches(self, request: Request) -> bool:
        action = f"dynamodb:{request.action}".lower()
        if not any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions):
            return False
        if not any(fnmatch.fnmatchcase(request.resource, pattern) for pattern in self.resources):
            return False
        if self.leading_keys is None:
            return True
        # ForAllValues: every leading key of the request matches one value (true for a request with none).
        if self.like:
            return all(any(fnmatch.fnmatchcase(k, v) for v in self.leading_keys) for k in request.leading_keys)
        return all(k in self.leading_keys for k in request.leading_keys)


@dataclass(frozen=True)
class Request:
    """What IAM authorizes for one DynamoDB call, or one item of a transaction."""

    action: str  # "GetItem", "Query", ...
    resource: str  # the table's or the index's ARN
    leading_keys: frozenset[str]


@dataclass(frozen=True)
class FunctionAccess:
    function: str
    statements: tuple[Statement, ...]
    checked: bool
    why_not: str = ""

    def denied(self, requests: list[Request]) -> Request | None:
        """The first request the statements do not allow (an explicit Deny, or no Allow), else None."""
        for request in requests:
            matching = [s for s in self.statements if s.matches(request)]
            if any(not s.allow for s in matching) or not any(s.allow for s in matching):
                return request
        return None


@dataclass(frozen=True)
class TableKeys:
    """A table's partition-key attribute and each index's, by physical table name."""

    table: str
    partition: str
    index_partitions: dict[str, str]


class Enforcer:
    """The local runtime's check: the access of each function of a deployment, and the botocore hook."""

    def __init__(self, deployment: Deployment) -> None:
        self.functions = {f.logical_id: access_of(deployment, f) for f in deployment.template.functions}
        self.tables = {keys.table: keys for keys in table_keys(deployment)}

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        """Requests made inside are checked against `function`'s grants (if it has checked ones)."""
        access = self.functions.get(function)
        token = _CURRENT.set((self, access) if access is not None and access.checked else None)
        try:
            yield
        finally:
            _CURRENT.reset(token)

    def check(self, access: FunctionAccess, operation: str, params: dict[str, Any]) -> None:
        denied = access.denied(requests_of(operation, params, self.tables))
        if denied is not None:
            keys = ", ".join(sorted(denied.leading_keys)) or "no leading key"
            message = (
                f"User: arn:{PARTITION}:sts::{ACCOUNT}:assumed-role/{access.function}Role/{access.function} is not "
                f"authorized to perform: dynamodb:{denied.action} on resource: {denied.resource} ({keys}) because "
                "no identity-based policy allows the dynamodb action"
            )
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": message}}, operation)


_INSTALLED: list[bool] = []


def install() -> None:
    """Check the DynamoDB requests of every botocore session made from now on in this process (botocore copies its
    built-in handlers into a session when the session is made); one hook, installed once. Only requests made inside
    `Enforcer.acting_as` (a handler's invocation, in its thread) are checked, by that invocation's runtime."""
    if not _INSTALLED:
        botocore.handlers.BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", _hook))
        _INSTALLED.append(True)


def _hook(model: Any, params: dict[str, Any], **_: Any) -> None:
    acting = _CURRENT.get()
    if acting is not None:
        enforcer, access = acting
        enforcer.check(access, model.name, params)


# -- reading the template ----------------------------------------------------------------------------------


def access_of(deployment: Deployment, function: tm.Function) -> FunctionAccess:
    properties = deployment.template.resources[function.logical_id].properties
    try:
        statements = tuple(_statements(deployment, properties))
    except NotModelled as err:
        return FunctionAccess(function.logical_id, (), checked=False, why_not=str(err))
    return FunctionAccess(function.logical_id, statements, checked=True)


def _statements(deployment: Deployment, properties: dict[str, Any]) -> Iterator[Statement]:
    if "Role" in properties:
        role = properties["Role"]
        logical = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
        if not isinstance(logical, str) or logical not in deployment.template.resources:
            raise NotModelled(f"role {role!r} is not a role of the template")
        role_properties = deployment.template.resources[logical].properties
        for arn in deployment.resolve(role_properties.get("ManagedPolicyArns", [])):
            if not str(arn).endswith(_NO_TABLE_MANAGED):
                raise NotModelled(f"managed policy {arn}")
        for policy in role_properties.get("Policies", []):
            yield from _document(deployment, policy["PolicyDocument"].get("Statement", []))
        return
    for policy in properties.get("Policies", []):
        if isinstance(policy, str):
            if not policy.endswith(_NO_TABLE_MANAGED):
                raise NotModelled(f"managed policy {policy}")
            continue
        if "Statement" in policy:
            yield from _document(deployment, policy["Statement"])
            continue
        ((name, argument),) = policy.items()
        if name in _SAM_TEMPLATES:
            table = deployment.resolve_str(argument["TableName"])
            arn = _table_arn(table)
            actions = tuple(f"dynamodb:{a}".lower() for a in _SAM_TEMPLATES[name])
            yield Statement(True, actions, (arn, f"{arn}/index/*"))
        elif name not in _NO_TABLE_TEMPLATES:
            raise NotModelled(f"policy template {name}")


def _document(deployment: Deployment, statements: Any) -> Iterator[Statement]:
    for raw in statements if isinstance(statements, list) else [statements]:
        if "NotAction" in raw or "NotResource" in raw:
            raise NotModelled(f"statement {raw.get('Sid', '?')} uses NotAction/NotResource")
        actions = tuple(a.lower() for a in _listed(raw.get("Action")))
        if not any(a == "*" or a.startswith("dynamodb:") for a in actions):
            continue  # another service's grant
        resources = tuple(str(r) for r in _listed(deployment.resolve(raw.get("Resource"))))
        leading, like = _leading_keys(raw.get("Condition"), raw.get("Sid", "?"))
        yield Statement(raw.get("Effect") == "Allow", actions, resources, leading, like)


def _leading_keys(condition: Any, sid: str) -> tuple[tuple[str, ...] | None, bool]:
    if not condition:
        return None, True
    if len(condition) != 1:
        raise NotModelled(f"statement {sid}: more than one condition operator")
    ((operator, keys),) = condition.items()
    if operator not in ("ForAllValues:StringLike", "ForAllValues:StringEquals") or set(keys) != {_LEADING_KEYS}:
        raise NotModelled(f"statement {sid}: condition {operator} {sorted(keys)}")
    return tuple(_listed(keys[_LEADING_KEYS])), operator.endswith("StringLike")


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _table_arn(name: str) -> str:
    return f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def table_keys(deployment: Deployment) -> list[TableKeys]:
    found = []
    for resource in deployment.template.resources_of("AWS::DynamoDB::Table"):
        if resource.logical_id not in deployment.resources:
            continue
        name = deployment.resources[resource.logical_id].ref
        props = resource.properties
        indexes = {
            index["IndexName"]: _partition(index["KeySchema"])
            for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes")
            for index in props.get(key, [])
        }
        found.append(TableKeys(name, _partition(props["KeySchema"]), indexes))
    return found


def _partition(schema: list[dict[str, str]]) -> str:
    return next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")


# -- what a request asks for -------------------------------------------------------------------------------


def requests_of(operation: str, params: dict[str, Any], tables: dict[str, TableKeys]) -> list[Request]:
    """The (action, resource, leading keys) IAM authorizes for one DynamoDB API call (boto3's low-level params)."""

    def item(action: str, table: str, key: dict[str, Any] | None) -> Request:
        keys = tables.get(table)
        value = _string(key.get(keys.partition)) if key and keys else None
        return Request(action, _table_arn(table), frozenset({UNREAD_KEY if value is None else value}))

    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [item(operation, params["TableName"], params.get("Key"))]
    if operation == "PutItem":
        return [item(operation, params["TableName"], params.get("Item"))]
    if operation == "TransactWriteItems":
        found = []
        for entry in params.get("TransactItems", []):
            ((kind, body),) = entry.items()
            found.append(item(_TRANSACT_WRITE_ACTIONS[kind], body["TableName"], body.get("Key") or body.get("Item")))
        return found
    if operation == "TransactGetItems":
        return [item("GetItem", e["Get"]["TableName"], e["Get"]["Key"]) for e in params.get("TransactItems", [])]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        found = []
        for table, entries in params.get("RequestItems", {}).items():
            keys: set[str] = set()
            for entry in entries["Keys"] if operation == "BatchGetItem" else entries:
                if operation == "BatchWriteItem":
                    ((_, body),) = entry.items()
                    entry = body.get("Key") or body.get("Item")
                request = item(operation, table, entry)
                keys |= request.leading_keys
            found.append(Request(operation, _table_arn(table), frozenset(keys)))
        return found
    table = params.get("TableName", "")
    index = params.get("IndexName")
    resource = f"{_table_arn(table)}/index/{index}" if index else _table_arn(table)
    if operation == "Query":
        keys_of = tables.get(table)
        partition = None
        if keys_of is not None:
            partition = keys_of.index_partitions.get(index, "") if index else keys_of.partition
        value = _query_partition(params, partition) if partition else None
        return [Request("Query", resource, frozenset({UNREAD_KEY if value is None else value}))]
    return [Request(operation, resource, frozenset())]


def _query_partition(params: dict[str, Any], attribute: str) -> str | None:
    """The partition-key value a Query's KeyConditionExpression (or legacy KeyConditions) names."""
    names = params.get("ExpressionAttributeNames", {})
    values = params.get("ExpressionAttributeValues", {})
    for name, placeholder in re.findall(r"(#?[\w.]+)\s*=\s*(:[\w-]+)", params.get("KeyConditionExpression", "")):
        if names.get(name, name) == attribute and placeholder in values:
            return _string(values[placeholder])
    legacy = params.get("KeyConditions", {}).get(attribute)
    if legacy:
        return _string(legacy["AttributeValueList"][0])
    return None


def _string(value: Any) -> str | None:
    """An attribute value's text as IAM compares it (S or N)."""
    if isinstance(value, dict):
        for kind in ("S", "N"):
            if kind in value:
                return str(value[kind])
        return None
    return None if value is None else str(value)
