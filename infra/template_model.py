"""template.yaml as a small typed model: the functions, what triggers them, and the resources they use.

The template is the one source of truth for the local runtime: which function gets which event is read from
here, never written down a second time. Values are kept as CloudFormation wrote them: intrinsic functions
(`!Ref`, `!GetAtt`, `!Sub`, ...) stay unresolved in their long form (`{"Ref": "X"}`,
`{"Fn::GetAtt": ["X", "Arn"]}`); infra/resources.py resolves them against what it created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"

# The resource types the local runtime creates in the embedded AWS.
TABLE = "AWS::DynamoDB::Table"
KMS_KEY = "AWS::KMS::Key"
EVENT_BUS = "AWS::Events::EventBus"
QUEUE = "AWS::SQS::Queue"
TOPIC = "AWS::SNS::Topic"
IAM_ROLE = "AWS::IAM::Role"
FUNCTION = "AWS::Serverless::Function"
CREATED_TYPES = frozenset({TABLE, KMS_KEY, EVENT_BUS, QUEUE, TOPIC, IAM_ROLE})

# AWS default for async invocations (EventBridge, schedules) without an EventInvokeConfig.
DEFAULT_ASYNC_RETRIES = 2


class TemplateError(ValueError):
    """The template says something the local runtime cannot read."""


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A SafeLoader that reads CloudFormation short-form tags into their long form."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        return {"Fn::GetAtt": [logical_id, attribute]}
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_tag)


def load_yaml(text: str) -> dict[str, Any]:
    document = yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(document, dict):
        raise TemplateError("a template is a mapping")
    return document


# ---------------------------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Destination:
    """An on-failure (or on-success) destination: Type is SQS, SNS, EventBridge or Lambda; Destination a raw ARN."""

    type: str
    target: Any


@dataclass(frozen=True)
class ApiEvent:
    name: str
    path: str
    method: str
    rest_api: Any = None


@dataclass(frozen=True)
class StreamEvent:
    name: str
    stream: Any
    starting_position: str = "TRIM_HORIZON"
    batch_size: int = 100
    maximum_batching_window_seconds: int = 0
    # AWS: -1 (the default) retries until the record expires from the stream.
    maximum_retry_attempts: int = -1
    bisect_on_error: bool = False
    report_batch_item_failures: bool = False
    on_failure: Destination | None = None
    enabled: bool = True


@dataclass(frozen=True)
class EventBridgeRuleEvent:
    name: str
    pattern: dict[str, Any]
    event_bus: Any = None  # None: the account's default bus
    input: Any = None
    input_path: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class ScheduleEvent:
    name: str
    schedule: Any  # "rate(5 minutes)", "cron(...)" or an intrinsic that resolves to one
    input: Any = None
    enabled: bool = True


Event = ApiEvent | StreamEvent | EventBridgeRuleEvent | ScheduleEvent


@dataclass(frozen=True)
class InvokeConfig:
    """EventInvokeConfig: how asynchronous invocations (bus events, schedules) are retried and dead-lettered."""

    maximum_retry_attempts: int = DEFAULT_ASYNC_RETRIES
    on_failure: Destination | None = None
    on_success: Destination | None = None


# ------------------------------------------------------------------------------------------- functions


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path  # absolute, resolved against the template's folder
    handler: str
    timeout: int = 3
    memory_size: int = 128
    runtime: str = ""
    function_name: Any = None
    environment: dict[str, Any] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    invoke_config: InvokeConfig = InvokeConfig()
    condition: str | None = None

    @property
    def handler_file(self) -> Path:
        """`app.lambda_handler` -> <CodeUri>/app.py; `pkg.mod.fn` -> <CodeUri>/pkg/mod.py."""
        module, _, _ = self.handler.rpartition(".")
        return self.code_uri.joinpath(*module.split(".")).with_suffix(".py")

    @property
    def handler_attribute(self) -> str:
        return self.handler.rpartition(".")[2]

    def events_of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str = "String"
    default: Any = None


@dataclass(frozen=True)
class Resource:
    logical_id: str
    type: str
    properties: dict[str, Any]
    condition: str | None = None


@dataclass(frozen=True)
class Template:
    path: Path
    parameters: dict[str, Parameter]
    conditions: dict[str, Any]
    mappings: dict[str, Any]
    resources: dict[str, Resource]
    functions: tuple[Function, ...]

    def function(self, logical_id: str) -> Function:
        for function in self.functions:
            if function.logical_id == logical_id:
                return function
        raise KeyError(logical_id)

    def resources_of(self, resource_type: str) -> list[Resource]:
        return [r for r in self.resources.values() if r.type == resource_type]


# --------------------------------------------------------------------------------------------- reading


def referenced_resource(value: Any) -> str | None:
    """The logical id a `Ref`/`GetAtt` points at, else None."""
    if isinstance(value, dict) and len(value) == 1:
        if "Ref" in value and isinstance(value["Ref"], str):
            return value["Ref"]
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, list) and target:
                return str(target[0])
            if isinstance(target, str):
                return target.partition(".")[0]
    return None


_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> float | None:
    """Seconds between runs of a `rate(...)` expression; None for `cron(...)` or anything else."""
    match = _RATE.match(expression.strip())
    if match is None:
        return None
    return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])


def _int(value: Any, default: int, where: str) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TemplateError(f"{where}: expected a number, got {value!r}")
    try:
        return int(value)
    except ValueError:
        raise TemplateError(f"{where}: expected a number, got {value!r}") from None


def _bool(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _destination(config: Any) -> tuple[Destination | None, Destination | None]:
    if not isinstance(config, dict):
        return None, None
    found: list[Destination | None] = []
    for key in ("OnFailure", "OnSuccess"):
        spec = config.get(key)
        if isinstance(spec, dict) and spec.get("Destination") is not None:
            found.append(Destination(str(spec.get("Type", "SQS")), spec["Destination"]))
        else:
            found.append(None)
    return found[0], found[1]


def _event(function_id: str, name: str, spec: Any) -> Event | None:
    if not isinstance(spec, dict) or "Type" not in spec:
        raise TemplateError(f"{function_id}.Events.{name}: an event needs a Type")
    kind = spec["Type"]
    props: dict[str, Any] = spec.get("Properties") or {}
    where = f"{function_id}.Events.{name}"
    if kind in ("Api", "HttpApi"):
        return ApiEvent(
            name=name,
            path=str(props.get("Path", "/{proxy+}")),
            method=str(props.get("Method", "ANY")).upper(),
            rest_api=props.get("RestApiId", props.get("ApiId")),
        )
    if kind == "DynamoDB":
        if "Stream" not in props:
            raise TemplateError(f"{where}: a DynamoDB event needs a Stream")
        on_failure, _ = _destination(props.get("DestinationConfig"))
        return StreamEvent(
            name=name,
            stream=props["Stream"],
            starting_position=str(props.get("StartingPosition", "TRIM_HORIZON")),
            batch_size=_int(props.get("BatchSize"), 100, f"{where}.BatchSize"),
            maximum_batching_window_seconds=_int(
                props.get("MaximumBatchingWindowInSeconds"), 0, f"{where}.MaximumBatchingWindowInSeconds"
            ),
            maximum_retry_attempts=_int(props.get("MaximumRetryAttempts"), -1, f"{where}.MaximumRetryAttempts"),
            bisect_on_error=_bool(props.get("BisectBatchOnFunctionError"), False),
            report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
            on_failure=on_failure,
            enabled=_bool(props.get("Enabled"), True),
        )
    if kind in ("EventBridgeRule", "CloudWatchEvent"):
        pattern = props.get("Pattern")
        if not isinstance(pattern, dict):
            raise TemplateError(f"{where}: an EventBridgeRule needs a Pattern")
        state = str(props.get("State", "ENABLED")).upper()
        return EventBridgeRuleEvent(
            name=name,
            pattern=pattern,
            event_bus=props.get("EventBusName"),
            input=props.get("Input"),
            input_path=props.get("InputPath"),
            enabled=state == "ENABLED" and _bool(props.get("Enabled"), True),
        )
    if kind in ("Schedule", "ScheduleV2"):
        expression = props.get("Schedule", props.get("ScheduleExpression"))
        if expression is None:
            raise TemplateError(f"{where}: a Schedule needs a Schedule expression")
        state = str(props.get("State", "ENABLED")).upper()
        return ScheduleEvent(
            name=name,
            schedule=expression,
            input=props.get("Input"),
            enabled=state == "ENABLED" and _bool(props.get("Enabled"), True),
        )
    return None  # event kinds the local runtime does not deliver (S3, SQS, ...)


def _merged(globals_: dict[str, Any], own: dict[str, Any], key: str) -> Any:
    if key not in own:
        return globals_.get(key)
    if isinstance(own[key], dict) and isinstance(globals_.get(key), dict):
        return {**globals_[key], **own[key]}
    return own[key]


def _function(logical_id: str, resource: dict[str, Any], globals_: dict[str, Any], root: Path) -> Function:
    props: dict[str, Any] = resource.get("Properties") or {}
    code_uri = _merged(globals_, props, "CodeUri")
    handler = _merged(globals_, props, "Handler")
    if not isinstance(code_uri, str) or not isinstance(handler, str) or "." not in handler:
        raise TemplateError(f"{logical_id}: the local runtime needs a CodeUri folder and a Handler module.function")
    global_env = ((globals_.get("Environment") or {}).get("Variables")) or {}
    own_env = ((props.get("Environment") or {}).get("Variables")) or {}
    events: list[Event] = []
    for name, spec in (props.get("Events") or {}).items():
        event = _event(logical_id, str(name), spec)
        if event is not None:
            events.append(event)
    invoke = _merged(globals_, props, "EventInvokeConfig") or {}
    on_failure, on_success = _destination(invoke.get("DestinationConfig"))
    return Function(
        logical_id=logical_id,
        code_uri=(root / code_uri).resolve(),
        handler=handler,
        timeout=_int(_merged(globals_, props, "Timeout"), 3, f"{logical_id}.Timeout"),
        memory_size=_int(_merged(globals_, props, "MemorySize"), 128, f"{logical_id}.MemorySize"),
        runtime=str(_merged(globals_, props, "Runtime") or ""),
        function_name=props.get("FunctionName"),
        environment={**global_env, **own_env},
        events=tuple(events),
        invoke_config=InvokeConfig(
            maximum_retry_attempts=_int(
                invoke.get("MaximumRetryAttempts"), DEFAULT_ASYNC_RETRIES, f"{logical_id}.MaximumRetryAttempts"
            ),
            on_failure=on_failure,
            on_success=on_success,
        ),
        condition=resource.get("Condition"),
    )


def parse(document: dict[str, Any], path: Path) -> Template:
    """Build the model from an already loaded template document; `path` anchors relative CodeUris."""
    root = path.resolve().parent
    globals_: dict[str, Any] = (document.get("Globals") or {}).get("Function") or {}
    parameters = {
        name: Parameter(name=name, type=str(spec.get("Type", "String")), default=spec.get("Default"))
        for name, spec in (document.get("Parameters") or {}).items()
    }
    resources: dict[str, Resource] = {}
    functions: list[Function] = []
    for logical_id, spec in (document.get("Resources") or {}).items():
        if not isinstance(spec, dict) or "Type" not in spec:
            raise TemplateError(f"resource {logical_id} has no Type")
        resources[logical_id] = Resource(
            logical_id=logical_id,
            type=str(spec["Type"]),
            properties=dict(spec.get("Properties") or {}),
            condition=spec.get("Condition"),
        )
        if spec["Type"] == FUNCTION:
            functions.append(_function(logical_id, spec, globals_, root))
    return Template(
        path=path.resolve(),
        parameters=parameters,
        conditions=dict(document.get("Conditions") or {}),
        mappings=dict(document.get("Mappings") or {}),
        resources=resources,
        functions=tuple(functions),
    )


def load(path: Path | str = DEFAULT_TEMPLATE) -> Template:
    """Read a SAM/CloudFormation template file into the model (cached while the file is unchanged)."""
    resolved = Path(path).resolve()
    return _load_cached(resolved, resolved.stat().st_mtime_ns)


@lru_cache(maxsize=8)
def _load_cached(path: Path, _mtime: int) -> Template:
    return parse(load_yaml(path.read_text(encoding="utf-8")), path)
