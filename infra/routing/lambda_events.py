"""The events Lambda hands a function, built from what the embedded AWS returns: a DynamoDB stream record, the
EventBridge envelope of a bus event (and a rule's Input/InputPath), a scheduled event."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from infra.resources import ACCOUNT, REGION

ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


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


def bus_event(envelope: dict[str, Any]) -> dict[str, Any]:
    """The full EventBridge envelope Lambda gets; moto's default target input drops `account`."""
    defaults = {"version": "0", "account": ACCOUNT, "region": REGION, "resources": [], "detail": {}}
    return {k: envelope.get(k, defaults.get(k)) for k in ENVELOPE_KEYS}


def constant_input(constant: Any) -> dict[str, Any]:
    """A rule's or schedule's `Input` (JSON text or an object in the template), resolved."""
    return dict(json.loads(constant) if isinstance(constant, str) else constant)


def selected_input(event: dict[str, Any], input_path: str) -> dict[str, Any]:
    """A rule's `InputPath` ($.a.b) applied to the envelope; a non-object result is wrapped as {"value": ...}."""
    selected: Any = event
    for part in input_path.removeprefix("$").strip(".").split("."):
        if part:
            selected = selected.get(part) if isinstance(selected, dict) else None
    return selected if isinstance(selected, dict) else {"value": selected}


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
