"""This process's requests to the embedded AWS skip the socket (infra/embedded_aws.py InProcessTransport), and get
the answers the HTTP server gives: the same app, backends and gate, asked by two transports side by side."""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from moto.core.botocore_stubber import MockRawResponse

from infra import embedded_aws
from infra.embedded_aws import MotoServer, embedded_moto


@pytest.fixture(autouse=True)
def _aws_environment() -> None:
    """The server sets the environment its clients need (the suite's per-test one would point elsewhere)."""


@pytest.fixture(scope="module")
def server() -> Iterator[MotoServer]:
    with embedded_moto(0) as running:
        yield running


class Answers:
    """Counts the requests the in-process transport answers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        answer = embedded_aws._answer

        def counted(app: Any, request: Any) -> Any:
            self.count += 1
            return answer(app, request)

        monkeypatch.setattr(embedded_aws, "_answer", counted)


def _session() -> boto3.Session:
    return boto3.Session(region_name="us-east-1")


def _over_http(server: MotoServer, service: str) -> Any:
    """A client for the same server by another name (localhost): the transport does not know it, so HTTP."""
    endpoint = server.endpoint.replace("127.0.0.1", "localhost")
    return _session().client(service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))


def _in_process(service: str) -> Any:
    return _session().client(service, config=Config(retries={"max_attempts": 1}))


def _both(server: MotoServer, service: str) -> tuple[Any, Any]:
    return _in_process(service), _over_http(server, service)


def test_requests_from_this_process_are_answered_without_the_socket(
    server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(monkeypatch)
    client = _in_process("dynamodb")
    client.list_tables()
    assert answers.count == 1
    _over_http(server, "dynamodb").list_tables()
    assert answers.count == 1, "a request for another endpoint went through the in-process transport"


def test_s3_objects_round_trip_alike(server: MotoServer) -> None:
    inside, outside = _both(server, "s3")
    inside.create_bucket(Bucket="transport")
    key = "crl/a b+c%2Fd_e.crl"  # a space, a plus, an encoded slash: keys that a path decoding would change
    for client, body in ((inside, b"from inside"), (outside, b"from outside")):
        client.put_object(Bucket="transport", Key=f"{key}-{body[5:]!r}", Body=body, Metadata={"my_key": "v-1"})
    for client in (inside, outside):
        listed = client.list_objects_v2(Bucket="transport")["Contents"]
        assert sorted(o["Key"] for o in listed) == [f"{key}-b'inside'", f"{key}-b'outside'"]
        for suffix, body in (("b'inside'", b"from inside"), ("b'outside'", b"from outside")):
            got = client.get_object(Bucket="transport", Key=f"{key}-{suffix}")
            assert got["Body"].read() == body
            assert got["Metadata"] == {"my_key": "v-1"}  # the underscore kept, as the HTTP server keeps it
            assert got["ETag"].strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()
        head = client.head_object(Bucket="transport", Key=f"{key}-b'inside'")
        assert head["ContentLength"] == len(b"from inside")


def test_errors_reach_the_caller_alike(server: MotoServer) -> None:
    answers: list[tuple[str, int]] = []
    for client in _both(server, "kms"):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            client.describe_key(KeyId="alias/does-not-exist")
        answers.append(
            (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"])
        )
    for client in _both(server, "s3"):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            client.get_object(Bucket="no-such-bucket", Key="k")
        answers.append(
            (raised.value.response["Error"]["Code"], raised.value.response["ResponseMetadata"]["HTTPStatusCode"])
        )
    assert answers[0] == answers[1] and answers[2] == answers[3], answers
    assert answers[0][1] == 400 and answers[2] == ("NoSuchBucket", 404)


def test_each_transport_sees_what_the_other_wrote(server: MotoServer) -> None:
    inside, outside = _both(server, "dynamodb")
    inside.create_table(
        TableName="transport",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    inside.put_item(TableName="transport", Item={"pk": {"S": "a"}, "blob": {"B": b"\x00\xff"}})
    assert outside.get_item(TableName="transport", Key={"pk": {"S": "a"}})["Item"]["blob"] == {"B": b"\x00\xff"}
    outside.put_item(TableName="transport", Item={"pk": {"S": "b"}, "n": {"N": "7"}})
    with pytest.raises(inside.exceptions.ConditionalCheckFailedException):
        inside.put_item(TableName="transport", Item={"pk": {"S": "b"}}, ConditionExpression="attribute_not_exists(pk)")
    assert inside.get_item(TableName="transport", Key={"pk": {"S": "b"}})["Item"]["n"] == {"N": "7"}


def test_a_request_counts_as_a_change_for_the_snapshot_as_over_http(server: MotoServer) -> None:
    before = server.gate.changes
    _in_process("sqs").list_queues()  # a read: no snapshot needed
    assert server.gate.changes == before
    _in_process("sqs").create_queue(QueueName="transport")
    assert server.gate.changes == before + 1


def test_a_stopped_server_is_no_longer_answered_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = Answers(monkeypatch)
    with embedded_moto(0) as running:
        endpoint = running.endpoint
        _session().client("sqs").list_queues()
    assert answers.count == 1
    client = _session().client("sqs", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))
    # Over HTTP now: refused, or answered by whatever another test started on the freed port meanwhile.
    with contextlib.suppress(botocore.exceptions.EndpointConnectionError, botocore.exceptions.ClientError):
        client.list_queues()
    assert answers.count == 1


def test_a_before_send_hook_that_answers_still_wins_and_nothing_reaches_the_embedded_aws(
    server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = Answers(monkeypatch)
    session = _session()

    def throttled(request: Any, **_: Any) -> AWSResponse:
        body = b'{"__type": "ThrottlingException", "message": "slow down"}'
        return AWSResponse(request.url, 400, {"x-amzn-query-error": ""}, MockRawResponse(body))

    session.events.register("before-send", throttled)
    client = session.client("dynamodb", config=Config(retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError, match="ThrottlingException"):
        client.list_tables()
    assert answers.count == 0


def test_a_session_made_before_the_server_started_is_answered_in_process_too(monkeypatch: pytest.MonkeyPatch) -> None:
    early = _session()
    answers = Answers(monkeypatch)
    with embedded_moto(0):
        early.client("sqs").list_queues()
    assert answers.count == 1


def test_the_clients_read_timeout_holds_and_the_request_still_completes(server: MotoServer) -> None:
    client = _session().client("sqs", config=Config(read_timeout=1, retries={"max_attempts": 1}))
    url = client.create_queue(QueueName="slow")["QueueUrl"]
    with server.gate.exclusive(), pytest.raises(botocore.exceptions.ReadTimeoutError):
        client.send_message(QueueUrl=url, MessageBody="late")  # waits behind a snapshot longer than 1 s
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:  # the timed-out write still lands, as on a server
        received = client.receive_message(QueueUrl=url).get("Messages", [])  # whose client gave up
        time.sleep(0.05)
    assert [message["Body"] for message in received] == ["late"]


def test_bodies_and_header_names_reach_moto_as_over_http(server: MotoServer) -> None:
    inside, outside = _both(server, "s3")
    inside.create_bucket(Bucket="bodies")
    seen = []
    for client in (inside, outside):
        client.put_object(Bucket="bodies", Key="k", Body=bytearray(b"abc"), Metadata={"a_b": "1", "a-b": "2"})
        got = client.get_object(Bucket="bodies", Key="k")
        seen.append((got["Body"].read(), got["Metadata"]))
    assert seen[0] == seen[1] and seen[0][0] == b"abc", seen


def test_a_failure_inside_the_embedded_aws_is_a_500_to_the_caller_as_over_http(
    server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    def broken(self: Any, environ: Any) -> Any:
        raise RuntimeError("the embedded AWS failed")

    monkeypatch.setattr(DomainDispatcherApplication, "get_application", broken)
    statuses = []
    for client in _both(server, "sqs"):
        with pytest.raises(botocore.exceptions.ClientError) as raised:
            client.list_queues()
        statuses.append(raised.value.response["ResponseMetadata"]["HTTPStatusCode"])
    assert statuses == [500, 500]
