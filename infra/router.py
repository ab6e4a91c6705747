"""The local event router: delivers table stream records, bus events and schedules to the handlers the template wires.

Everything it does is read from the template (infra/template_model.py) and resolved against the embedded AWS
(infra/resources.py):

- DynamoDB stream events: the router reads the table's stream (dynamodbstreams API) and calls the function with
  batches shaped as Lambda's DynamoDB event. With ReportBatchItemFailures it honours `batchItemFailures`: the
  next batch starts at the first failed record; after MaximumRetryAttempts retries that record goes to the
  on-failure destination and the router moves past it. A raised exception fails the whole batch
  (BisectBatchOnFunctionError halves the next batch).
- EventBridgeRule events: for each one the router puts a real rule (the template's pattern) on the moto bus with
  an SQS queue as its target, then polls the queue; the moto bus does the matching. An exception is retried
  EventInvokeConfig.MaximumRetryAttempts times (default 2), then the event goes to the on-failure destination.
- Schedule events: called every `schedule_seconds` (the local override) or at the template's rate.

Handlers are loaded from `<CodeUri>/<module>.py` with a unique module name; a missing or broken one is logged
once and its events are not wired. `run_once()` does one pass; `drain(timeout)` delivers until nothing is
pending; `start()` runs passes on a background thread.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

from infra import template_model as tm
from infra.resources import ACCOUNT, REGION, Deployment

log = logging.getLogger("infra.local")

_module_numbers = count(1)
_ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class HandlerUnavailable(RuntimeError):
    """The function's code is missing or failed to import; the reason was logged once."""


# --------------------------------------------------------------------------------------- lambda context


class LocalLambdaContext:
    """The parts of Lambda's context object handlers and Powertools use."""

    def __init__(self, function_name: str, function_arn: str, memory_mb: int, timeout_s: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# ------------------------------------------------------------------------------------------- handlers


class Handlers:
    """Loads each function's handler once and calls it as Lambda would, with its own environment."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self._functions = {f.logical_id: f for f in deployment.template.functions}
        self._loaded: dict[str, Callable[[dict[str, Any], Any], Any]] = {}
        self._unavailable: dict[str, str] = {}
        self._modules: list[str] = []
        self._load_lock = threading.Lock()
        self._env_lock = threading.RLock()
        self._invocation_locks: dict[str, threading.RLock] = {}
        environments: dict[str, dict[str, str]] = {}
        for name, function in self._functions.items():
            try:
                if function.condition is None or deployment.condition(function.condition):
                    environments[name] = deployment.environment(function)
                    level = os.environ.get("CERTWRIGHT_FUNCTION_LOG_LEVEL")
                    if level:  # e.g. WARNING, so `make demo` shows the router's one line per delivery only
                        environments[name]["POWERTOOLS_LOG_LEVEL"] = level
            except tm.TemplateError as err:
                self._unavailable[name] = f"environment: {err}"
                log.warning("%-26s skipped: environment: %s", name, err)
        # One process hosts every function: variables all functions agree on go into the process environment;
        # the rest are set around each call of the function that declares them (serialised by a lock).
        shared: dict[str, str] = {}
        conflicting: set[str] = set()
        for env in environments.values():
            for key, value in env.items():
                if key in shared and shared[key] != value:
                    conflicting.add(key)
                shared.setdefault(key, value)
        self.base_environment = {k: v for k, v in shared.items() if k not in conflicting}
        self._overlays = {
            name: {k: v for k, v in env.items() if self.base_environment.get(k) != v}
            for name, env in environments.items()
        }

    def function(self, logical_id: str) -> tm.Function:
        return self._functions[logical_id]

    def available(self, function: tm.Function) -> bool:
        try:
            self._handler(function)
        except HandlerUnavailable:
            return False
        return True

    def unavailable(self) -> dict[str, str]:
        return dict(self._unavailable)

    def _handler(self, function: tm.Function) -> Callable[[dict[str, Any], Any], Any]:
        with self._load_lock:
            if function.logical_id in self._loaded:
                return self._loaded[function.logical_id]
            if function.logical_id in self._unavailable:
                raise HandlerUnavailable(self._unavailable[function.logical_id])
            try:
                if function.condition is not None and not self.deployment.condition(function.condition):
                    raise HandlerUnavailable(f"condition {function.condition} is false")
                handler = self._import(function)
            except HandlerUnavailable as err:
                self._unavailable[function.logical_id] = str(err)
                log.warning("%-26s skipped: %s", function.logical_id, err)
                raise
            self._loaded[function.logical_id] = handler
            return handler

    def _import(self, function: tm.Function) -> Callable[[dict[str, Any], Any], Any]:
        path = function.handler_file
        if not path.is_file():
            raise HandlerUnavailable(f"{_shown(path)} does not exist")
        name = f"certwright_local_{function.logical_id}_{next(_module_numbers)}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise HandlerUnavailable(f"cannot load {_shown(path)}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with self.environment_of(function):
                spec.loader.exec_module(module)
        except Exception as err:
            sys.modules.pop(name, None)
            raise HandlerUnavailable(f"importing {_shown(path)} failed: {type(err).__name__}: {err}") from err
        self._modules.append(name)
        handler = getattr(module, function.handler_attribute, None)
        if not callable(handler):
            raise HandlerUnavailable(f"{_shown(path)} has no function {function.handler_attribute}")
        return handler  # type: ignore[no-any-return]

    @contextmanager
    def environment_of(self, function: tm.Function) -> Iterator[None]:
        overlay = self._overlays.get(function.logical_id) or {}
        if not overlay:
            yield
            return
        with self._env_lock:
            previous = {k: os.environ.get(k) for k in overlay}
            os.environ.update(overlay)
            try:
                yield
            finally:
                for key, value in previous.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value

    def context(self, function: tm.Function) -> LocalLambdaContext:
        return LocalLambdaContext(
            self.deployment.function_name(function),
            self.deployment.function_arn(function),
            function.memory_size,
            function.timeout,
        )

    def invoke(self, function: tm.Function, event: dict[str, Any]) -> Any:
        """Call the handler; its exceptions propagate (the caller decides what Lambda would do with them).

        A Lambda execution environment runs one invocation at a time, and here each function has one environment
        (one imported module): calls of the same function wait for each other. Its module state is not made for
        concurrent calls (Powertools keeps the current event and route arguments on the resolver class, so two
        concurrent API requests could run one request's route with the other's path parameters); different
        functions still run side by side, as in Lambda.
        """
        handler = self._handler(function)
        with self._invocation_lock(function), self.environment_of(function):
            return handler(event, self.context(function))

    def _invocation_lock(self, function: tm.Function) -> threading.RLock:
        with self._load_lock:
            return self._invocation_locks.setdefault(function.logical_id, threading.RLock())

    def close(self) -> None:
        for name in self._modules:
            sys.modules.pop(name, None)
        self._modules.clear()


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------ deliveries


@dataclass(frozen=True)
class Delivery:
    """One call of a handler by the router, as logged."""

    at: datetime
    function: str
    kind: str  # "stream", "event" or "schedule"
    summary: str
    result: str
    ok: bool
    payload: dict[str, Any] = field(repr=False)


@dataclass(frozen=True)
class ResolvedDestination:
    type: str
    arn: str


@dataclass
class _StreamSource:
    function: tm.Function
    event: tm.StreamEvent
    stream_arn: str
    shard_id: str
    iterator: str
    on_failure: ResolvedDestination | None
    batch_limit: int
    failing_sequence: str | None = None
    failures: int = 0


@dataclass
class _RuleSource:
    function: tm.Function
    event: tm.EventBridgeRuleEvent
    rule_name: str
    bus: str
    queue_url: str
    on_failure: ResolvedDestination | None


@dataclass
class _ScheduleSource:
    function: tm.Function
    event: tm.ScheduleEvent
    expression: str
    interval: float | None  # None: never by itself (fire_schedules() still runs it)
    rule_arn: str
    next_due: float
    on_failure: ResolvedDestination | None


def _wire_value(value: Any) -> Any:
    """boto3 decodes DynamoDB binary values to bytes; Lambda's event carries them base64-encoded."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_value(v) for v in value]
    return value


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A dynamodbstreams GetRecords record (as boto3 returns it) in the shape Lambda delivers it."""
    change = dict(record.get("dynamodb") or {})
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    body: dict[str, Any] = {
        "ApproximateCreationDateTime": change.get("ApproximateCreationDateTime", float(int(time.time()))),
        "Keys": _wire_value(change.get("Keys", {})),
    }
    for image in ("NewImage", "OldImage"):
        if image in change:
            body[image] = _wire_value(change[image])
    body["SequenceNumber"] = str(change["SequenceNumber"])
    body["SizeBytes"] = int(change.get("SizeBytes", 0))
    body["StreamViewType"] = change.get("StreamViewType", "NEW_AND_OLD_IMAGES")
    return {
        "eventID": record.get("eventID") or uuid.uuid4().hex,
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion") or REGION,
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


def scheduled_event(rule_arn: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [rule_arn],
        "detail": {},
    }


def _describe_error(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _event_summary(event: dict[str, Any]) -> str:
    raw = event.get("detail")
    detail: dict[str, Any] = raw if isinstance(raw, dict) else {}
    subject = next(
        (
            str(detail[k])
            for k in ("resource_id", "resourceId", "certificate_id", "certificateId", "id")
            if detail.get(k) not in (None, "")
        ),
        "",
    )
    return f"{event.get('detail-type', 'event')} {subject}".strip()


# ---------------------------------------------------------------------------------------------- router


class Router:
    def __init__(
        self,
        deployment: Deployment,
        session: Any,
        handlers: Handlers | None = None,
        *,
        schedule_seconds: float | None = None,
        poll_interval: float = 0.25,
    ) -> None:
        """`schedule_seconds`: run every Schedule event this often (None: the template's rate; 0: never)."""
        self.deployment = deployment
        self.handlers = handlers or Handlers(deployment)
        self.schedule_seconds = schedule_seconds
        self.poll_interval = poll_interval
        self.deliveries: deque[Delivery] = deque(maxlen=2000)
        self._streams_client = session.client("dynamodbstreams", region_name=REGION)
        self._events = session.client("events", region_name=REGION)
        self._sqs = session.client("sqs", region_name=REGION)
        self._sns = session.client("sns", region_name=REGION)
        self._streams: list[_StreamSource] = []
        self._rules: list[_RuleSource] = []
        self._schedules: list[_ScheduleSource] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._wired = False

    # ------------------------------------------------------------------ wiring

    def wire(self) -> None:
        """Read the template's event sources; create the bus rules and their queues. Idempotent."""
        with self._lock:
            if self._wired:
                return
            self._wired = True
            for function in self.deployment.template.functions:
                wanted = [e for e in function.events if not isinstance(e, tm.ApiEvent)]
                if not wanted or not self.handlers.available(function):
                    continue
                for event in wanted:
                    try:
                        self._wire_event(function, event)
                    except Exception as err:  # noqa: BLE001 - one bad event source must not stop the others
                        log.warning("%-26s %s not wired: %s", function.logical_id, event.name, _describe_error(err))

    def _wire_event(self, function: tm.Function, event: tm.Event) -> None:
        if isinstance(event, tm.StreamEvent) and event.enabled:
            self._streams.append(self._wire_stream(function, event))
        elif isinstance(event, tm.EventBridgeRuleEvent) and event.enabled:
            self._rules.append(self._wire_rule(function, event))
        elif isinstance(event, tm.ScheduleEvent) and event.enabled:
            source = self._wire_schedule(function, event)
            if source is not None:
                self._schedules.append(source)

    def _destination(self, destination: tm.Destination | None) -> ResolvedDestination | None:
        if destination is None:
            return None
        return ResolvedDestination(destination.type, self.deployment.resolve_str(destination.target))

    def _wire_stream(self, function: tm.Function, event: tm.StreamEvent) -> _StreamSource:
        arn = self.deployment.resolve_str(event.stream)
        description = self._streams_client.describe_stream(StreamArn=arn)["StreamDescription"]
        shards = description.get("Shards") or []
        if not shards:
            raise RuntimeError(f"stream {arn} has no shards (is the table's stream enabled?)")
        shard_id = shards[0]["ShardId"]
        position = "LATEST" if event.starting_position == "LATEST" else "TRIM_HORIZON"
        iterator = self._streams_client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=position)[
            "ShardIterator"
        ]
        log.info("%-26s %s <- stream %s", function.logical_id, event.name, arn.split("/")[1])
        return _StreamSource(
            function=function,
            event=event,
            stream_arn=arn,
            shard_id=shard_id,
            iterator=iterator,
            on_failure=self._destination(event.on_failure),
            batch_limit=max(1, min(event.batch_size, 1000)),
        )

    def _wire_rule(self, function: tm.Function, event: tm.EventBridgeRuleEvent) -> _RuleSource:
        bus = self.deployment.resolve_str(event.event_bus) if event.event_bus is not None else "default"
        pattern = self.deployment.resolve(event.pattern)
        rule_name = f"local-{function.logical_id}-{event.name}"[:64]
        queue_name = f"certwright-local-{function.logical_id}-{event.name}"[:80]
        queue_url = self._sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self._events.put_rule(Name=rule_name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED")
        self._events.put_targets(
            Rule=rule_name, EventBusName=bus, Targets=[{"Id": "certwright-local-router", "Arn": queue_arn}]
        )
        log.info("%-26s %s <- bus %s %s", function.logical_id, event.name, bus, json.dumps(pattern))
        return _RuleSource(
            function=function,
            event=event,
            rule_name=rule_name,
            bus=bus,
            queue_url=queue_url,
            on_failure=self._destination(function.invoke_config.on_failure),
        )

    def _wire_schedule(self, function: tm.Function, event: tm.ScheduleEvent) -> _ScheduleSource | None:
        expression = self.deployment.resolve_str(event.schedule)
        interval: float | None
        if self.schedule_seconds == 0:
            interval, shown = None, "only when fired by hand (schedules are off)"
        else:
            interval = self.schedule_seconds or tm.rate_seconds(expression)
            if interval is None:
                log.warning("%-26s %s (%s): only rate() runs locally", function.logical_id, event.name, expression)
                return None
            shown = f"every {interval:g}s locally"
        rule_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/local-{function.logical_id}-{event.name}"
        log.info("%-26s %s <- schedule %s, %s", function.logical_id, event.name, expression, shown)
        return _ScheduleSource(
            function=function,
            event=event,
            expression=expression,
            interval=interval,
            rule_arn=rule_arn,
            next_due=time.monotonic() + interval if interval is not None else float("inf"),
            on_failure=self._destination(function.invoke_config.on_failure),
        )

    # ------------------------------------------------------------------ passes

    def run_once(self, schedules: bool = True) -> int:
        """One pass over every source: one stream batch each, one receive per rule queue, due schedules.

        Returns how many handler calls it made.
        """
        self.wire()
        calls = 0
        with self._lock:
            for stream in self._streams:
                calls += self._poll_stream(stream)
            for rule in self._rules:
                calls += self._poll_rule(rule)
            if schedules:
                now = time.monotonic()
                for schedule in self._schedules:
                    if schedule.interval is not None and now >= schedule.next_due:
                        schedule.next_due = max(schedule.next_due + schedule.interval, now + schedule.interval / 2)
                        calls += self._fire_schedule(schedule)
        return calls

    def pending(self) -> list[str]:
        """What is still waiting: streams with unread records, rule queues with messages."""
        waiting: list[str] = []
        with self._lock:
            for stream in self._streams:
                peek = self._streams_client.get_records(ShardIterator=stream.iterator, Limit=1)
                if peek.get("Records"):
                    waiting.append(f"{stream.function.logical_id}: stream records")
            for rule in self._rules:
                attributes = self._sqs.get_queue_attributes(
                    QueueUrl=rule.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]
                if any(int(v) for v in attributes.values()):
                    waiting.append(f"{rule.function.logical_id}: bus events")
        return waiting

    def drain(self, timeout: float = 30.0) -> int:
        """Deliver until no stream record and no bus event is left (schedules do not fire); bounded by `timeout`.

        Returns the number of handler calls; raises TimeoutError if something is still pending at the deadline.
        """
        deadline = time.monotonic() + timeout
        total = 0
        while True:
            calls = self.run_once(schedules=False)
            total += calls
            if calls == 0:
                waiting = self.pending()
                if not waiting:
                    return total
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"still pending after {timeout:g}s: {', '.join(waiting)}")
                time.sleep(0.02)
            elif time.monotonic() >= deadline:
                raise TimeoutError(f"still delivering after {timeout:g}s ({total} calls)")

    def fire_schedules(self) -> int:
        """Run every Schedule function now (as if its rate came due); returns the number of calls."""
        self.wire()
        with self._lock:
            return sum(self._fire_schedule(s) for s in self._schedules)

    # ------------------------------------------------------------------ background loop

    def start(self) -> None:
        self.wire()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="certwright-router", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                calls = self.run_once()
            except Exception as err:  # noqa: BLE001 - keep routing; the embedded AWS may be stopping
                if self._stop.is_set():
                    return
                log.warning("router pass failed: %s", _describe_error(err))
                calls = 0
            if calls == 0:
                self._stop.wait(self.poll_interval)

    # ------------------------------------------------------------------ streams

    def _poll_stream(self, source: _StreamSource) -> int:
        answer = self._streams_client.get_records(ShardIterator=source.iterator, Limit=source.batch_limit)
        records = [lambda_stream_record(r, source.stream_arn) for r in answer.get("Records", [])]
        if not records:
            source.iterator = answer.get("NextShardIterator") or source.iterator
            return 0
        event = {"Records": records}
        kinds = Counter(r["eventName"] for r in records)
        summary = f"stream {len(records)} record{'s' if len(records) != 1 else ''} (" + ", ".join(
            f"{k} {n}" for k, n in sorted(kinds.items())
        )
        summary += ")"
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        failed_from: str | None = None
        function_error = False
        try:
            result = self.handlers.invoke(source.function, event)
        except Exception as err:  # noqa: BLE001 - a failed invocation fails the whole batch, as in Lambda
            failed_from, function_error, outcome = sequences[0], True, f"error {_describe_error(err)}"
            log.debug("%s", traceback.format_exc())
        else:
            failed_from, outcome = self._partial_failure(source, result, sequences)
        if failed_from is None:
            source.iterator = answer["NextShardIterator"]
            source.failing_sequence, source.failures = None, 0
            source.batch_limit = max(1, min(source.event.batch_size, 1000))
            self._record(source.function, "stream", summary, "ok", True, event)
            return 1
        if source.failing_sequence == failed_from:
            source.failures += 1
        else:
            source.failing_sequence, source.failures = failed_from, 1
        if function_error and source.event.bisect_on_error:
            source.batch_limit = max(1, len(records) // 2)
        retries = source.event.maximum_retry_attempts
        if retries < 0 or source.failures <= retries:
            source.iterator = self._iterator(source, "AT_SEQUENCE_NUMBER", failed_from)
            shown = "unlimited" if retries < 0 else str(retries)
            self._record(
                source.function, "stream", summary, f"{outcome}; retry {source.failures}/{shown}", False, event
            )
            return 1
        record = next(r for r in records if r["dynamodb"]["SequenceNumber"] == failed_from)
        where = self._dead_letter_stream(source, record, function_error)
        source.iterator = self._iterator(source, "AFTER_SEQUENCE_NUMBER", failed_from)
        source.failing_sequence, source.failures = None, 0
        source.batch_limit = max(1, min(source.event.batch_size, 1000))
        self._record(
            source.function, "stream", summary, f"{outcome}; retries exhausted, seq {failed_from} {where}", False, event
        )
        return 1

    def _partial_failure(self, source: _StreamSource, result: Any, sequences: list[str]) -> tuple[str | None, str]:
        if not source.event.report_batch_item_failures or not isinstance(result, dict):
            return None, "ok"
        failures = result.get("batchItemFailures")
        if not failures:
            return None, "ok"
        identifiers = [f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures]
        if any(i not in sequences for i in identifiers):
            # Lambda treats a missing or unknown itemIdentifier as a failure of the whole batch.
            return sequences[0], f"{len(failures)} failed (unknown itemIdentifier: whole batch)"
        first = min(identifiers, key=lambda s: int(str(s)))
        return str(first), f"{len(failures)} of {len(sequences)} failed"

    def _iterator(self, source: _StreamSource, kind: str, sequence: str) -> str:
        answer = self._streams_client.get_shard_iterator(
            StreamArn=source.stream_arn, ShardId=source.shard_id, ShardIteratorType=kind, SequenceNumber=sequence
        )
        return str(answer["ShardIterator"])

    def _dead_letter_stream(self, source: _StreamSource, record: dict[str, Any], function_error: bool) -> str:
        arrival = datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC).isoformat()
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.deployment.function_arn(source.function),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": source.failures,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if function_error else None,
            },
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": source.shard_id,
                "startSequenceNumber": record["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": record["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival,
                "approximateArrivalOfLastRecord": arrival,
                "batchSize": 1,
                "streamArn": source.stream_arn,
            },
            # Local addition (Lambda sends only the batch coordinates): the record itself, for inspection.
            "record": record,
        }
        return self._send(source.on_failure, message)

    # ------------------------------------------------------------------ bus events and schedules

    def _poll_rule(self, source: _RuleSource) -> int:
        visibility = min(
            43200, max(30, source.function.timeout * (source.function.invoke_config.maximum_retry_attempts + 1))
        )
        answer = self._sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=visibility
        )
        calls = 0
        for message in answer.get("Messages", []):
            try:
                envelope = json.loads(message["Body"])
            except ValueError:
                log.warning("%-26s dropped a message that is not JSON", source.function.logical_id)
                self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            # moto's default target input drops `account`; Lambda always gets the full envelope.
            defaults = {"version": "0", "account": ACCOUNT, "region": REGION, "resources": [], "detail": {}}
            event = {k: envelope.get(k, defaults.get(k)) for k in _ENVELOPE_KEYS}
            payload = self._rule_input(source, event)
            calls += self._invoke_async(source.function, "event", _event_summary(event), payload, source.on_failure)
            self._sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return calls

    def _rule_input(self, source: _RuleSource, event: dict[str, Any]) -> dict[str, Any]:
        if source.event.input is not None:
            constant = self.deployment.resolve(source.event.input)
            return dict(json.loads(constant) if isinstance(constant, str) else constant)
        if source.event.input_path:
            selected: Any = event
            for part in source.event.input_path.removeprefix("$").strip(".").split("."):
                if part:
                    selected = selected.get(part) if isinstance(selected, dict) else None
            return selected if isinstance(selected, dict) else {"value": selected}
        return event

    def _fire_schedule(self, source: _ScheduleSource) -> int:
        if source.event.input is not None:
            constant = self.deployment.resolve(source.event.input)
            payload = dict(json.loads(constant) if isinstance(constant, str) else constant)
        else:
            payload = scheduled_event(source.rule_arn)
        return self._invoke_async(
            source.function, "schedule", f"schedule {source.expression}", payload, source.on_failure
        )

    def _invoke_async(
        self,
        function: tm.Function,
        kind: str,
        summary: str,
        payload: dict[str, Any],
        on_failure: ResolvedDestination | None,
    ) -> int:
        """An asynchronous invocation: retried EventInvokeConfig.MaximumRetryAttempts times, then dead-lettered."""
        retries = max(0, function.invoke_config.maximum_retry_attempts)
        for attempt in range(1, retries + 2):
            try:
                result = self.handlers.invoke(function, payload)
            except Exception as err:  # noqa: BLE001 - Lambda retries a failed asynchronous invocation
                error = err
                log.debug("%s", traceback.format_exc())
                if attempt <= retries:
                    self._record(
                        function,
                        kind,
                        summary,
                        f"error {_describe_error(err)}; retry {attempt}/{retries}",
                        False,
                        payload,
                    )
                    continue
                where = self._send(on_failure, self._async_failure(function, payload, error, attempt))
                self._record(
                    function, kind, summary, f"error {_describe_error(err)}; retries exhausted, {where}", False, payload
                )
                return attempt
            else:
                self._record(function, kind, summary, _result_text(result), True, payload)
                return attempt
        return retries + 1

    def _async_failure(
        self, function: tm.Function, payload: dict[str, Any], error: BaseException, attempts: int
    ) -> dict[str, Any]:
        return {
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{self.deployment.function_arn(function)}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": payload,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_exception(error)[-3:],
            },
        }

    # ------------------------------------------------------------------ destinations and the log

    def _send(self, destination: ResolvedDestination | None, message: dict[str, Any]) -> str:
        if destination is None:
            return "dropped (no on-failure destination)"
        body = json.dumps(message, default=str)
        name = destination.arn.rsplit(":", 1)[-1]
        kind = destination.type.upper()
        if kind == "SQS":
            url = self._sqs.get_queue_url(QueueName=name)["QueueUrl"]
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
            return f"-> queue {name}"
        if kind == "SNS":
            self._sns.publish(TopicArn=destination.arn, Message=body)
            return f"-> topic {name}"
        if kind == "EVENTBRIDGE":
            self._events.put_events(
                Entries=[
                    {
                        "EventBusName": destination.arn,
                        "Source": "lambda",
                        "DetailType": "Lambda Function Invocation Result - Failure",
                        "Detail": body,
                    }
                ]
            )
            return f"-> bus {name.rsplit('/', 1)[-1]}"
        return f"dropped ({destination.type} destinations are not emulated locally)"

    def _record(
        self, function: tm.Function, kind: str, summary: str, result: str, ok: bool, payload: dict[str, Any]
    ) -> None:
        delivery = Delivery(datetime.now(UTC), function.logical_id, kind, summary, result, ok, payload)
        self.deliveries.append(delivery)
        log.log(logging.INFO if ok else logging.WARNING, "%-26s %-48s %s", function.logical_id, summary, result)


def _result_text(result: Any) -> str:
    if isinstance(result, dict) and result:
        shown = ", ".join(f"{k}={v}" for k, v in list(result.items())[:4] if isinstance(v, int | str | bool))
        return f"ok ({shown})" if shown else "ok"
    return "ok"
