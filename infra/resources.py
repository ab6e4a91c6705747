"""Create the resources of template.yaml in an (embedded) AWS account and resolve what the functions see.

`deploy(session)` reads the template, creates every DynamoDB table (attributes, keys, GSIs, stream, TTL),
KMS key, EventBridge bus, SQS queue, SNS topic and IAM role it declares (honouring resource Conditions), and returns a
`Deployment` that resolves `!Ref`/`!GetAtt`/`!Sub`/... against them: a function's environment, an event's
stream ARN, a destination's queue. `create_resources(session)` keeps the old contract: the same, returning
the Settings of the API function (its CERTWRIGHT_* variables). `deploy(..., adopt=...)` takes resources a restored
account already holds instead of creating them again (infra/persistence.py).

Local names: a resource's own name property when the template gives one (resolved, e.g. `certwright-prod`),
else `certwright-<logical id in kebab case without its type suffix>`: CertificatesTable -> certwright-certificates.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from certwright.config import Settings

from infra import template_model as tm
from infra.api_events import LOCAL_ADMIN

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"

_NO_VALUE = object()
_TYPE_SUFFIXES = ("Table", "Queue", "Topic", "Bus", "Key", "Role", "Function")
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()


def local_name(logical_id: str) -> str:
    base = logical_id
    for suffix in _TYPE_SUFFIXES:
        if base.endswith(suffix) and base != suffix:
            base = base[: -len(suffix)]
            break
    return f"certwright-{_kebab(base)}"


@dataclass
class Physical:
    """What CloudFormation would report for a created resource: its Ref value and its GetAtt attributes."""

    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Deployment:
    template: tm.Template
    parameters: dict[str, str]
    resources: dict[str, Physical] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # logical id -> why it was not created
    adopted: list[str] = field(default_factory=list)  # logical ids found in a restored account, not created

    # ------------------------------------------------------------------ resolving intrinsic functions

    def resolve(self, value: Any) -> Any:
        """Resolve intrinsic functions in `value` (recursively) against the parameters and created resources."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def resolve_str(self, value: Any) -> str:
        result = self.resolve(value)
        if isinstance(result, bool):
            return "true" if result else "false"
        if isinstance(result, int | float | str):
            return str(result)
        raise tm.TemplateError(f"expected a string, got {result!r} from {value!r}")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), *_ = value.items()
            if key == "Ref":
                return self._ref(str(argument))
            if key == "Condition":
                return self.condition(str(argument))
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {k: self._resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "certwright-local",
            "AWS::StackId": f"arn:{PARTITION}:cloudformation:{REGION}:{ACCOUNT}:stack/certwright-local/local",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name].ref
        if name in self.skipped:
            raise tm.TemplateError(f"Ref {name}: {self.skipped[name]}")
        raise tm.TemplateError(f"Ref {name}: no such parameter or resource")

    def _get_att(self, logical_id: str, attribute: str) -> str:
        physical = self.resources.get(logical_id)
        if physical is None:
            why = self.skipped.get(logical_id, "no such resource")
            raise tm.TemplateError(f"GetAtt {logical_id}.{attribute}: {why}")
        if attribute not in physical.attributes:
            raise tm.TemplateError(f"GetAtt {logical_id}.{attribute}: the local runtime does not know this attribute")
        return physical.attributes[attribute]

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.resolve(v) for k, v in (argument[1] or {}).items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return self._get_att(logical_id, attribute)
            return str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, str(text))

    def _function(self, key: str, argument: Any) -> Any:
        if key == "Fn::GetAtt":
            if isinstance(argument, str):
                logical_id, _, attribute = argument.partition(".")
            else:
                logical_id, attribute = str(argument[0]), str(self.resolve(argument[1]))
            return self._get_att(logical_id, attribute)
        if key == "Fn::Sub":
            return self._sub(argument)
        if key == "Fn::Join":
            separator, items = argument
            return str(separator).join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(str(separator))
        if key == "Fn::If":
            name, when_true, when_false = argument
            return self._resolve(when_true if self.condition(str(name)) else when_false)
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in argument)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not bool(self.resolve(argument[0]))
        if key == "Fn::And":
            return all(bool(self.resolve(a)) for a in argument)
        if key == "Fn::Or":
            return any(bool(self.resolve(a)) for a in argument)
        if key == "Fn::FindInMap":
            mapping, top, second = (self.resolve_str(a) for a in argument[:3])
            return self.template.mappings[mapping][top][second]
        if key == "Fn::Base64":
            import base64

            return base64.b64encode(self.resolve_str(argument).encode()).decode()
        raise tm.TemplateError(f"{key}: not supported by the local runtime")

    def condition(self, name: str) -> bool:
        if name not in self.template.conditions:
            raise tm.TemplateError(f"Condition {name}: not declared")
        return bool(self.resolve(self.template.conditions[name]))

    # ------------------------------------------------------------------ what functions see

    def environment(self, function: tm.Function) -> dict[str, str]:
        """The function's environment variables (Globals + its own), resolved to local names and ARNs."""
        env: dict[str, str] = {}
        for name, value in function.environment.items():
            resolved = self.resolve(value)
            if resolved is None:
                continue
            env[name] = self.resolve_str(resolved)
        env.setdefault("AWS_REGION", REGION)
        env.setdefault("AWS_DEFAULT_REGION", REGION)
        return env

    def function_name(self, function: tm.Function) -> str:
        if function.function_name is not None:
            return self.resolve_str(function.function_name)
        return f"certwright-local-{function.logical_id}"

    def function_arn(self, function: tm.Function) -> str:
        return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{self.function_name(function)}"

    def api_function(self) -> tm.Function | None:
        for function in self.template.functions:
            if function.events_of(tm.ApiEvent):
                return function
        return None

    def settings(self) -> Settings:
        """The certwright Settings of the API function (else the global environment): its CERTWRIGHT_* variables."""
        api = self.api_function()
        if api is not None:
            env = self.environment(api)
        elif self.template.functions:
            env = self.environment(self.template.functions[0])
        else:
            env = {"AWS_REGION": REGION}
        return Settings.from_env(env)


# ---------------------------------------------------------------------------------------- creating


def _table(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    props = deployment.resolve(resource.properties)
    dynamodb = session.client("dynamodb", region_name=REGION)
    name = props.get("TableName") or local_name(resource.logical_id)
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            request[key] = props[key]
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = props.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {"Enabled": bool(sse.get("SSEEnabled", False))}
    if props.get("Tags"):
        request["Tags"] = props["Tags"]
    described = dynamodb.create_table(**request)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    attributes = {"Arn": described["TableArn"]}
    if described.get("LatestStreamArn"):
        attributes["StreamArn"] = described["LatestStreamArn"]
    return Physical(ref=name, attributes=attributes)


def _kms_key(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    props = deployment.resolve(resource.properties)
    kms = session.client("kms", region_name=REGION)
    request: dict[str, Any] = {
        "Description": props.get("Description", resource.logical_id),
        "KeyUsage": props.get("KeyUsage", "ENCRYPT_DECRYPT"),
        "KeySpec": props.get("KeySpec", "SYMMETRIC_DEFAULT"),
    }
    if props.get("KeyPolicy"):
        policy = props["KeyPolicy"]
        request["Policy"] = policy if isinstance(policy, str) else json.dumps(policy)
    if props.get("Tags"):
        request["Tags"] = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in props["Tags"]]
    metadata = kms.create_key(**request)["KeyMetadata"]
    if props.get("EnableKeyRotation") in (True, "true"):
        kms.enable_key_rotation(KeyId=metadata["KeyId"])
    return Physical(ref=metadata["KeyId"], attributes={"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def _event_bus(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    props = deployment.resolve(resource.properties)
    events = session.client("events", region_name=REGION)
    name = props.get("Name") or local_name(resource.logical_id)
    arn = events.create_event_bus(Name=name)["EventBusArn"]
    return Physical(ref=name, attributes={"Arn": arn, "Name": name})


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _queue(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    props = deployment.resolve(resource.properties)
    sqs = session.client("sqs", region_name=REGION)
    name = props.get("QueueName") or local_name(resource.logical_id)
    attributes = {
        key: ("true" if value is True else "false" if value is False else str(value))
        for key, value in props.items()
        if key in _QUEUE_ATTRIBUTES
    }
    if props.get("RedrivePolicy"):
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Physical(ref=url, attributes={"Arn": arn, "QueueName": name, "QueueUrl": url})


def _topic(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    props = deployment.resolve(resource.properties)
    sns = session.client("sns", region_name=REGION)
    name = props.get("TopicName") or local_name(resource.logical_id)
    attributes = {k: str(props[k]) for k in ("KmsMasterKeyId", "DisplayName") if props.get(k)}
    arn = sns.create_topic(Name=name, Attributes=attributes)["TopicArn"]
    return Physical(ref=arn, attributes={"TopicArn": arn, "TopicName": name})


def _role(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    """An IAM role with its trust policy and inline policies (moto does not enforce them; they are recorded)."""
    props = deployment.resolve(resource.properties)
    iam = session.client("iam", region_name=REGION)
    name = props.get("RoleName") or local_name(resource.logical_id)
    trust = props.get("AssumeRolePolicyDocument") or {}
    request: dict[str, Any] = {
        "RoleName": name,
        "AssumeRolePolicyDocument": trust if isinstance(trust, str) else json.dumps(trust),
        "Path": props.get("Path", "/"),
    }
    if props.get("Description"):
        request["Description"] = str(props["Description"])[:1000]
    role = iam.create_role(**request)["Role"]
    for policy in props.get("Policies") or []:
        document = policy["PolicyDocument"]
        iam.put_role_policy(
            RoleName=name,
            PolicyName=policy["PolicyName"],
            PolicyDocument=document if isinstance(document, str) else json.dumps(document),
        )
    for arn in props.get("ManagedPolicyArns") or []:
        # AWS-managed policies moto does not know are left out; nothing local depends on them.
        with contextlib.suppress(ClientError):
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
    return Physical(ref=name, attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]})


def _bucket(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    """An S3 bucket with its versioning and default encryption (policies and public-access blocks are not emulated)."""
    props = deployment.resolve(resource.properties)
    s3 = session.client("s3", region_name=REGION)
    name = props.get("BucketName") or local_name(resource.logical_id)
    s3.create_bucket(Bucket=name)
    if (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled":
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    rules = (props.get("BucketEncryption") or {}).get("ServerSideEncryptionConfiguration") or []
    if rules:
        # CloudFormation says ServerSideEncryptionByDefault where the S3 API says ApplyServerSideEncryptionByDefault.
        api_rules = [{"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]} for r in rules]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": api_rules})
    return _bucket_physical(s3, name)


def _bucket_physical(s3: Any, name: str) -> Physical:
    arn = f"arn:{PARTITION}:s3:::{name}"
    domain, regional = f"{name}.s3.amazonaws.com", f"{name}.s3.{REGION}.amazonaws.com"
    endpoint = urlsplit(str(s3.meta.endpoint_url))
    if not endpoint.netloc.endswith("amazonaws.com"):
        # The embedded AWS serves buckets path-style: host:port/bucket is where relying parties fetch objects.
        domain = regional = f"{endpoint.netloc}/{name}"
    return Physical(ref=name, attributes={"Arn": arn, "DomainName": domain, "RegionalDomainName": regional})


def _bucket_policy(deployment: Deployment, session: Any, resource: tm.Resource) -> Physical:
    """A bucket policy's Allow statements (so anonymous relying parties can GET what the template makes public).

    Deny statements are left out: the embedded AWS speaks plain HTTP, so a TLS-only condition would refuse
    every local write, and moto does not evaluate policy conditions anyway.
    """
    props = deployment.resolve(resource.properties)
    document = props["PolicyDocument"]
    allowed = [s for s in document.get("Statement", []) if s.get("Effect") == "Allow"]
    session.client("s3", region_name=REGION).put_bucket_policy(
        Bucket=props["Bucket"], Policy=json.dumps({**document, "Statement": allowed})
    )
    return Physical(ref=props["Bucket"], attributes={})


_CREATORS = {
    "AWS::S3::Bucket": _bucket,
    "AWS::S3::BucketPolicy": _bucket_policy,
    tm.IAM_ROLE: _role,
    tm.TABLE: _table,
    tm.KMS_KEY: _kms_key,
    tm.EVENT_BUS: _event_bus,
    tm.QUEUE: _queue,
    tm.TOPIC: _topic,
}


# ---------------------------------------------------------------------------------------- adopting


def _missing(err: ClientError) -> bool:
    code = str(err.response.get("Error", {}).get("Code", ""))
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or "NotFound" in code or code in ("NoSuchEntity", "NoSuchBucket", "404")


def _find_table(deployment: Deployment, session: Any, resource: tm.Resource, _: Physical | None) -> Physical | None:
    name = deployment.resolve(resource.properties).get("TableName") or local_name(resource.logical_id)
    try:
        described = session.client("dynamodb", region_name=REGION).describe_table(TableName=name)["Table"]
    except ClientError as err:
        if _missing(err):
            return None
        raise
    attributes = {"Arn": described["TableArn"]}
    if described.get("LatestStreamArn"):
        attributes["StreamArn"] = described["LatestStreamArn"]
    return Physical(ref=name, attributes=attributes)


def _find_kms_key(_: Deployment, session: Any, resource: tm.Resource, previous: Physical | None) -> Physical | None:
    """A key has no name: the one recorded for this logical id, if it still exists and is not being deleted."""
    if previous is None:
        return None
    try:
        metadata = session.client("kms", region_name=REGION).describe_key(KeyId=previous.ref)["KeyMetadata"]
    except ClientError as err:
        if _missing(err):
            return None
        raise
    if metadata.get("KeyState") in ("PendingDeletion", "PendingReplicaDeletion"):
        return None
    return Physical(ref=metadata["KeyId"], attributes={"Arn": metadata["Arn"], "KeyId": metadata["KeyId"]})


def _find_event_bus(deployment: Deployment, session: Any, resource: tm.Resource, _: Physical | None) -> Physical | None:
    name = deployment.resolve(resource.properties).get("Name") or local_name(resource.logical_id)
    try:
        arn = session.client("events", region_name=REGION).describe_event_bus(Name=name)["Arn"]
    except ClientError as err:
        if _missing(err):
            return None
        raise
    return Physical(ref=name, attributes={"Arn": arn, "Name": name})


def _find_role(deployment: Deployment, session: Any, resource: tm.Resource, _: Physical | None) -> Physical | None:
    name = deployment.resolve(resource.properties).get("RoleName") or local_name(resource.logical_id)
    try:
        role = session.client("iam", region_name=REGION).get_role(RoleName=name)["Role"]
    except ClientError as err:
        if _missing(err):
            return None
        raise
    return Physical(ref=name, attributes={"Arn": role["Arn"], "RoleId": role["RoleId"]})


def _find_bucket(deployment: Deployment, session: Any, resource: tm.Resource, _: Physical | None) -> Physical | None:
    name = deployment.resolve(resource.properties).get("BucketName") or local_name(resource.logical_id)
    s3 = session.client("s3", region_name=REGION)
    try:
        s3.head_bucket(Bucket=name)
    except ClientError as err:
        if _missing(err):
            return None
        raise
    return _bucket_physical(s3, name)


# Queues and topics are not here: creating one that exists with the same attributes returns it (as in AWS), and a
# bucket policy is simply put again.
_FINDERS = {
    "AWS::S3::Bucket": _find_bucket,
    tm.IAM_ROLE: _find_role,
    tm.TABLE: _find_table,
    tm.KMS_KEY: _find_kms_key,
    tm.EVENT_BUS: _find_event_bus,
}


def _placeholder(deployment: Deployment, resource: tm.Resource) -> Physical | None:
    """Resources the runtime stands in for itself (functions, the API) still answer Ref/GetAtt."""
    if resource.type == tm.FUNCTION:
        function = deployment.template.function(resource.logical_id)
        name = deployment.function_name(function)
        return Physical(ref=name, attributes={"Arn": deployment.function_arn(function)})
    if resource.type == "AWS::Serverless::Api":
        return Physical(ref="local", attributes={"RootResourceId": "local"})
    return None


def _generated_roles(deployment: Deployment) -> dict[str, Physical]:
    """SAM creates `<Function>Role` for a function without `Role`; policies (e.g. a key policy) may name it."""
    roles = {}
    for resource in deployment.template.resources.values():
        if resource.type == tm.FUNCTION and not resource.properties.get("Role"):
            name = f"{local_name(resource.logical_id)}-role"
            arn = f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"
            roles[f"{resource.logical_id}Role"] = Physical(ref=name, attributes={"Arn": arn})
    return roles


class _OneClientPerService:
    """The session as the creators see it: one client per service for the whole deployment (each costs ~10 ms)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._clients: dict[tuple[str, str], Any] = {}

    def client(self, service: str, region_name: str = REGION) -> Any:
        key = (service, region_name)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region_name)
        return self._clients[key]


def deploy(
    session: Any,
    template: tm.Template | None = None,
    parameters: Mapping[str, str] | None = None,
    *,
    adopt: Mapping[str, Physical] | None = None,
) -> Deployment:
    """Create the template's tables, keys, buses, queues and topics with `session`; return the resolver.

    `adopt` (a restored account): resources that already exist are taken as they are instead of created again —
    found by name, a KMS key by the physical id recorded for its logical id in `adopt`. Their properties are not
    updated to a changed template; resources the template added since are created.
    """
    session = _OneClientPerService(session)
    model = template or tm.load()
    chosen = dict(parameters or {})
    if "AdminPrincipalArns" in model.parameters:
        # Locally the stand-in caller (no X-Certwright-Caller header) is the stack's admin.
        chosen.setdefault("AdminPrincipalArns", LOCAL_ADMIN)
    values: dict[str, str] = {}
    for name, parameter in model.parameters.items():
        value = chosen.get(name, parameter.default)
        if value is None:
            raise tm.TemplateError(f"parameter {name} has no default; pass it in `parameters`")
        values[name] = str(value)
    deployment = Deployment(template=model, parameters=values)
    # Functions and APIs first: environments may name them, and they never depend on created resources.
    for resource in model.resources.values():
        physical = _placeholder(deployment, resource)
        if physical is not None:
            deployment.resources[resource.logical_id] = physical
    for logical_id, physical in _generated_roles(deployment).items():
        deployment.resources.setdefault(logical_id, physical)
    pending = [r for r in model.resources.values() if r.logical_id not in deployment.resources]
    # Create in dependency order: retry a resource whose properties name one not created yet.
    while pending:
        progressed = False
        for resource in list(pending):
            if resource.condition is not None and not deployment.condition(resource.condition):
                deployment.skipped[resource.logical_id] = f"condition {resource.condition} is false"
                pending.remove(resource)
                progressed = True
                continue
            creator = _CREATORS.get(resource.type)
            if creator is None:
                deployment.skipped[resource.logical_id] = f"{resource.type} is not emulated locally"
                pending.remove(resource)
                progressed = True
                continue
            if any(dep in {p.logical_id for p in pending} for dep in _dependencies(resource.properties)):
                continue
            found = None
            finder = _FINDERS.get(resource.type)
            if adopt is not None and finder is not None:
                found = finder(deployment, session, resource, adopt.get(resource.logical_id))
            if found is not None:
                deployment.adopted.append(resource.logical_id)
            deployment.resources[resource.logical_id] = found or creator(deployment, session, resource)
            pending.remove(resource)
            progressed = True
        if not progressed:
            names = ", ".join(r.logical_id for r in pending)
            raise tm.TemplateError(f"circular references between {names}")
    return deployment


def _dependencies(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        target = tm.referenced_resource(value)
        if target is not None:
            found.add(target)
        if "Fn::Sub" in value and len(value) == 1:
            argument = value["Fn::Sub"]
            text = argument[0] if isinstance(argument, list) else argument
            found.update(m.split(".")[0] for m in _SUB_VARIABLE.findall(str(text)) if not m.startswith("AWS::"))
        for item in value.values():
            found |= _dependencies(item)
    elif isinstance(value, list):
        for item in value:
            found |= _dependencies(item)
    return found


def create_resources(
    session: Any,
    parameters: Mapping[str, str] | None = None,
    template: tm.Template | Path | None = None,
) -> Settings:
    """Create the template's resources; return the Settings that point the API at them."""
    model = template if isinstance(template, tm.Template) else tm.load(template or tm.DEFAULT_TEMPLATE)
    return deploy(session, model, parameters).settings()
