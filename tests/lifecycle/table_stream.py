"""The table's DynamoDB stream as the outbox sees it: records read from moto, as images or as a Lambda event."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from certwright.adapters.dynamodb_images import decode_image
from certwright.events import DomainEvent
from certwright.outbox import Row, events_for

from tests.conftest import Aws

_DESERIALIZER = TypeDeserializer()


def plain_image(image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB-JSON image as plain values (what Powertools hands the record handler)."""
    if image is None:
        return None
    return {name: _DESERIALIZER.deserialize(value) for name, value in image.items()}


def _lambda_value(value: dict[str, Any]) -> dict[str, Any]:
    """boto3 answers binary attributes as bytes; a Lambda event carries them base64-encoded, as JSON must."""
    (kind, raw), *_ = value.items()
    if kind == "B":
        return {"B": base64.b64encode(raw).decode()}
    if kind == "M":
        return {"M": {k: _lambda_value(v) for k, v in raw.items()}}
    if kind == "L":
        return {"L": [_lambda_value(v) for v in raw]}
    return value


@dataclass(frozen=True)
class StreamRecord:
    raw: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.raw["eventID"])

    @property
    def event_name(self) -> str:
        return str(self.raw["eventName"])

    @property
    def keys(self) -> tuple[str, str]:
        keys = self.raw["dynamodb"]["Keys"]
        return keys["pk"]["S"], keys["sk"]["S"]

    @property
    def old(self) -> dict[str, Any] | None:
        return plain_image(self.raw["dynamodb"].get("OldImage"))

    @property
    def new(self) -> dict[str, Any] | None:
        return plain_image(self.raw["dynamodb"].get("NewImage"))

    @property
    def before(self) -> Row | None:
        """The old image as the outbox reads it: decoded by the table's codec (None: no image, or no event's row)."""
        return decode_image(self.old)

    @property
    def after(self) -> Row | None:
        return decode_image(self.new)

    def events(self) -> list[DomainEvent]:
        """The events the outbox makes of this record (what stream_publisher's handler publishes for it)."""
        return events_for(self.event_id, self.before, self.after)

    def lambda_record(self, stream_arn: str) -> dict[str, Any]:
        """The record as Lambda delivers it to a stream consumer."""
        change = self.raw["dynamodb"]
        shaped: dict[str, Any] = {
            "ApproximateCreationDateTime": change["ApproximateCreationDateTime"].timestamp(),
            "Keys": change["Keys"],
            "SequenceNumber": change["SequenceNumber"],
            "SizeBytes": change["SizeBytes"],
            "StreamViewType": change["StreamViewType"],
        }
        for name in ("NewImage", "OldImage"):
            if name in change:
                shaped[name] = {k: _lambda_value(v) for k, v in change[name].items()}
        return {
            "eventID": self.event_id,
            "eventName": self.event_name,
            "eventVersion": self.raw["eventVersion"],
            "eventSource": "aws:dynamodb",
            "awsRegion": self.raw["awsRegion"],
            "dynamodb": shaped,
            "eventSourceARN": stream_arn,
        }


class TableStream:
    """Reads the table's stream from where the last read stopped (moto keeps one shard per table)."""

    def __init__(self, aws: Aws) -> None:
        table = aws.session.client("dynamodb").describe_table(TableName=aws.settings.table_name)["Table"]
        self.arn = str(table["LatestStreamArn"])
        self._streams = aws.session.client("dynamodbstreams")
        self._iterators: dict[str, str] = {}

    def read(self) -> list[StreamRecord]:
        """Every record written since the previous read, in order."""
        records: list[StreamRecord] = []
        shards = self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            iterator = (
                self._iterators.get(shard_id)
                or self._streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            )
            for _ in range(100):  # bounded: a page holds up to 1000 records
                page = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page["NextShardIterator"]
                records.extend(StreamRecord(r) for r in page["Records"])
                if not page["Records"]:
                    break
            self._iterators[shard_id] = iterator
        return records

    def skip(self) -> None:
        """Forget what has been written so far."""
        self.read()

    def lambda_event(self, records: list[StreamRecord]) -> dict[str, Any]:
        return {"Records": [r.lambda_record(self.arn) for r in records]}
