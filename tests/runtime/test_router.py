"""The router delivers what the test template wires, in Lambda's shapes, with Lambda's retry rules."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import pytest

from infra.runtime import LocalRuntime
from tests.runtime import recorder

STANDARD_ENVELOPE = {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}


def put(rt: LocalRuntime, pk: str, **attributes: Any) -> None:
    item = {"pk": {"S": pk}, "sk": {"S": "A"}, **attributes}
    rt.session.client("dynamodb").put_item(TableName=rt.deployment.resources["Table"].ref, Item=item)


def keys(call: recorder.Call) -> list[str]:
    return [r["dynamodb"]["Keys"]["pk"]["S"] for r in call.event["Records"]]


def queue_messages(rt: LocalRuntime, logical_id: str) -> list[dict[str, Any]]:
    sqs = rt.session.client("sqs")
    url = rt.deployment.resources[logical_id].attributes["QueueUrl"]
    found: list[dict[str, Any]] = []
    for _ in range(10):  # bounded: the queues here hold a handful of messages
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        if not answer.get("Messages"):
            break
        for message in answer["Messages"]:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def put_event(rt: LocalRuntime, detail_type: str, detail: dict[str, Any], source: str = "test") -> None:
    answer = rt.session.client("events").put_events(
        Entries=[
            {
                "EventBusName": rt.deployment.resources["Bus"].ref,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0


def test_stream_records_arrive_in_lambdas_dynamodb_event_shape(runtime: LocalRuntime) -> None:
    put(runtime, "cert-1", blob={"B": b"\x00\x01secret"}, n={"N": "7"})
    put(runtime, "cert-1", blob={"B": b"\x02"}, n={"N": "8"})
    runtime.session.client("dynamodb").delete_item(
        TableName=runtime.deployment.resources["Table"].ref, Key={"pk": {"S": "cert-1"}, "sk": {"S": "A"}}
    )
    assert runtime.router.drain(timeout=30) >= 1

    records = [r for call in recorder.of("StreamFunction") for r in call.event["Records"]]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    stream_arn = runtime.deployment.resources["Table"].attributes["StreamArn"]
    for record in records:
        assert set(record) == {
            "eventID",
            "eventName",
            "eventVersion",
            "eventSource",
            "awsRegion",
            "dynamodb",
            "eventSourceARN",
        }
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn
        assert record["awsRegion"] == "us-east-1"
        assert record["dynamodb"]["Keys"] == {"pk": {"S": "cert-1"}, "sk": {"S": "A"}}
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
        int(record["dynamodb"]["SequenceNumber"])
    insert, modify, remove = records
    # Binary attributes travel base64-encoded, as in the JSON Lambda receives.
    assert insert["dynamodb"]["NewImage"]["blob"] == {"B": base64.b64encode(b"\x00\x01secret").decode()}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["n"] == {"N": "7"} and modify["dynamodb"]["NewImage"]["n"] == {"N": "8"}
    assert "NewImage" not in remove["dynamodb"] and remove["dynamodb"]["OldImage"]["n"] == {"N": "8"}
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequences == sorted(sequences)
    assert runtime.router.pending() == []


def test_partial_batch_failure_retries_from_the_first_failed_record_then_dead_letters_it(
    runtime: LocalRuntime,
) -> None:
    recorder.failures["bad-2"] = -1  # never succeeds
    for pk in ("ok-1", "bad-2", "ok-3"):
        put(runtime, pk)
    runtime.router.drain(timeout=30)

    deliveries = [keys(c) for c in recorder.of("StreamFunction")]
    # MaximumRetryAttempts 2 in the test template: one delivery and two retries from bad-2, then move past it.
    assert deliveries == [["ok-1", "bad-2", "ok-3"], ["bad-2", "ok-3"], ["bad-2", "ok-3"], ["ok-3"]]
    (dead,) = queue_messages(runtime, "StreamFailures")
    bad_sequence = recorder.of("StreamFunction")[0].event["Records"][1]["dynamodb"]["SequenceNumber"]
    assert dead["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert dead["requestContext"]["functionArn"].endswith(":function:certwright-local-StreamFunction")
    assert dead["DDBStreamBatchInfo"]["startSequenceNumber"] == bad_sequence
    assert dead["DDBStreamBatchInfo"]["streamArn"] == runtime.deployment.resources["Table"].attributes["StreamArn"]
    assert dead["record"]["dynamodb"]["Keys"]["pk"] == {"S": "bad-2"}

    # A record that fails once is delivered again and then succeeds: nothing more is dead-lettered.
    recorder.calls.clear()
    recorder.failures["flaky-4"] = 1
    put(runtime, "flaky-4")
    runtime.router.drain(timeout=30)
    assert [keys(c) for c in recorder.of("StreamFunction")] == [["flaky-4"], ["flaky-4"]]
    assert queue_messages(runtime, "StreamFailures") == []
    results = [d.result for d in runtime.router.deliveries if d.function == "StreamFunction"]
    assert results[-2].startswith("1 of 1 failed") and results[-1] == "ok"


def test_a_raising_handler_fails_the_batch_which_is_bisected_then_dead_lettered(runtime: LocalRuntime) -> None:
    recorder.failures["boom-1"] = -1
    put(runtime, "boom-1")
    put(runtime, "ok-2")
    runtime.router.drain(timeout=30)

    deliveries = [keys(c) for c in recorder.of("StreamFunction")]
    assert deliveries[0] == ["boom-1", "ok-2"]
    assert deliveries[1:3] == [["boom-1"], ["boom-1"]]  # BisectBatchOnFunctionError halves the retried batch
    assert deliveries[-1] == ["ok-2"]
    (dead,) = queue_messages(runtime, "StreamFailures")
    assert dead["responseContext"]["functionError"] == "Unhandled"
    assert dead["record"]["dynamodb"]["Keys"]["pk"] == {"S": "boom-1"}


def test_bus_events_reach_only_the_rules_whose_pattern_matches(runtime: LocalRuntime) -> None:
    put_event(runtime, "Blue", {"id": "b-1"})
    put_event(runtime, "Red", {"id": "r-1"})
    put_event(runtime, "Blue", {"id": "o-1"}, source="other")
    put_event(runtime, "Red", {"id": "g-1", "color": "green"})
    runtime.router.drain(timeout=30)

    blue = recorder.of("BlueFunction")
    green = recorder.of("GreenFunction")
    assert [c.event["detail"]["id"] for c in blue] == ["b-1"]
    assert [c.event["detail"]["id"] for c in green] == ["g-1"]
    event = blue[0].event
    assert set(event) == STANDARD_ENVELOPE
    assert (event["source"], event["detail-type"], event["account"], event["region"]) == (
        "test",
        "Blue",
        "123456789012",
        "us-east-1",
    )
    assert event["time"].endswith("Z")
    # The function not written yet is skipped: no rule, and nothing waits for it.
    assert "NotWrittenYetFunction" in runtime.handlers.unavailable()
    assert not any(c.function.endswith("NotWrittenYetFunction") for c in recorder.calls)
    assert runtime.router.pending() == []


def test_each_function_sees_its_own_resolved_environment_and_a_lambda_context(runtime: LocalRuntime) -> None:
    put_event(runtime, "Blue", {"id": "b-1", "color": "green"})  # matches both rules
    runtime.router.drain(timeout=30)
    (blue,) = recorder.of("BlueFunction")
    (green,) = recorder.of("GreenFunction")
    resources = runtime.deployment.resources
    for call in (blue, green):
        assert call.environment["TABLE"] == resources["Table"].ref
        assert call.environment["KEY_ARN"] == resources["Key"].attributes["Arn"]
        assert call.environment["BUS"] == "runtime-test"
        assert call.environment["ALERTS"] == resources["Topic"].attributes["TopicArn"]
        assert call.environment["AWS_ENDPOINT_URL"] == runtime.endpoint
        assert call.context["memory_limit_in_mb"] == 256
        assert 0 < call.context["remaining_ms"] <= 20_000
    assert (blue.environment["COLOR"], green.environment["COLOR"]) == ("blue", "green")
    assert (blue.environment["GREETING"], green.environment["GREETING"]) == ("hello from blue", "hello")
    assert blue.context["function_name"] == "certwright-local-BlueFunction"
    assert blue.context["invoked_function_arn"].endswith(":function:certwright-local-BlueFunction")
    assert blue.context["aws_request_id"] != green.context["aws_request_id"]


def test_a_failing_bus_event_is_retried_then_sent_to_the_on_failure_queue(runtime: LocalRuntime) -> None:
    recorder.failures["b-bad"] = -1
    put_event(runtime, "Blue", {"id": "b-bad"})
    put_event(runtime, "Blue", {"id": "b-good"})
    runtime.router.drain(timeout=30)

    handled = [c.event["detail"]["id"] for c in recorder.of("BlueFunction")]
    assert handled.count("b-bad") == 2  # EventInvokeConfig.MaximumRetryAttempts 1: the call and one retry
    assert handled.count("b-good") == 1
    (dead,) = queue_messages(runtime, "EventFailures")
    assert dead["requestContext"]["condition"] == "RetriesExhausted"
    assert dead["requestContext"]["approximateInvokeCount"] == 2
    assert dead["requestPayload"]["detail"] == {"id": "b-bad"}
    assert dead["responsePayload"]["errorType"] == "ValueError"


def test_schedules_deliver_a_scheduled_event(runtime: LocalRuntime) -> None:
    assert runtime.router.fire_schedules() == 1
    (tick,) = recorder.of("TickFunction")
    assert tick.event["source"] == "aws.events"
    assert tick.event["detail-type"] == "Scheduled Event"
    assert tick.event["detail"] == {}
    assert tick.event["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")


def test_the_background_router_runs_schedules_at_the_local_interval(caplog: pytest.LogCaptureFixture) -> None:
    from infra.runtime import local_runtime
    from tests.runtime.conftest import TEST_TEMPLATE

    recorder.reset()
    caplog.set_level(logging.INFO, logger="infra.local")
    with local_runtime(template=TEST_TEMPLATE, sweep_seconds=0.05) as rt:
        deadline = time.monotonic() + 20
        while not recorder.of("TickFunction") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert recorder.of("TickFunction"), "the schedule never fired"
        assert any(d.kind == "schedule" and d.ok for d in rt.router.deliveries)
    skipped = [r.getMessage() for r in caplog.records if "NotWrittenYetFunction" in r.getMessage()]
    assert len(skipped) == 1 and "does not exist" in skipped[0]
    recorder.reset()


def test_an_idle_background_router_waits_for_a_write_and_delivers_it_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Idle, the router does not poll every source each pass (that cost 14% of a core): it polls again when the
    embedded AWS has answered a write, or every quiet_poll_seconds; the write's stream record still arrives."""
    from infra.runtime import local_runtime
    from tests.runtime.conftest import TEST_TEMPLATE

    recorder.reset()
    with local_runtime(template=TEST_TEMPLATE, sweep_seconds=0) as rt:
        rt.router.drain()
        polls: list[float] = []
        full_pass = rt.router.run_once

        def counted(schedules: bool = True) -> int:
            polls.append(time.monotonic())
            return full_pass(schedules)

        monkeypatch.setattr(rt.router, "run_once", counted)
        time.sleep(1.5)  # idle: at most the one pass that finds nothing (the 0.25 s loop polled six times)
        assert len(polls) <= 1, polls
        written = time.monotonic()
        put(rt, "cert-idle")
        deadline = written + 10
        while not recorder.of("StreamFunction") and time.monotonic() < deadline:
            time.sleep(0.02)
        (call,) = recorder.of("StreamFunction")
        assert keys(call) == ["cert-idle"]
        assert any(written <= at for at in polls), "the write woke the router"
    recorder.reset()
