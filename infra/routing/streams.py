"""DynamoDB stream event sources: read the table's stream and call the function with Lambda-shaped batches.

With ReportBatchItemFailures the next batch starts at the first failed record; after MaximumRetryAttempts
retries that record goes to the on-failure destination and the source moves past it. A raised exception fails
the whole batch (BisectBatchOnFunctionError halves the next batch).
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from dataclasses import dataclass
from typing import Any

from infra import template_model as tm
from infra.resources import REGION
from infra.routing.deliveries import DeliveryLog, describe_error
from infra.routing.failures import Destinations, ResolvedDestination, stream_failure_record
from infra.routing.handlers import Handlers
from infra.routing.lambda_events import lambda_stream_record

log = logging.getLogger("infra.local")


@dataclass
class StreamSource:
    function: tm.Function
    event: tm.StreamEvent
    stream_arn: str
    shard_id: str
    iterator: str
    on_failure: ResolvedDestination | None
    batch_limit: int
    failing_sequence: str | None = None
    failures: int = 0

    def reset_batch(self) -> None:
        self.batch_limit = max(1, min(self.event.batch_size, 1000))


class Streams:
    """The stream sources of a deployment, each polled one batch per pass."""

    def __init__(self, session: Any, handlers: Handlers, destinations: Destinations, deliveries: DeliveryLog) -> None:
        self._client = session.client("dynamodbstreams", region_name=REGION)
        self.handlers = handlers
        self.destinations = destinations
        self.deliveries = deliveries
        self.sources: list[StreamSource] = []

    def wire(self, function: tm.Function, event: tm.StreamEvent) -> None:
        arn = self.destinations.deployment.resolve_str(event.stream)
        description = self._client.describe_stream(StreamArn=arn)["StreamDescription"]
        shards = description.get("Shards") or []
        if not shards:
            raise RuntimeError(f"stream {arn} has no shards (is the table's stream enabled?)")
        shard_id = shards[0]["ShardId"]
        position = "LATEST" if event.starting_position == "LATEST" else "TRIM_HORIZON"
        iterator = self._client.get_shard_iterator(StreamArn=arn, ShardId=shard_id, ShardIteratorType=position)[
            "ShardIterator"
        ]
        log.info("%-26s %s <- stream %s", function.logical_id, event.name, arn.split("/")[1])
        self.sources.append(
            StreamSource(
                function=function,
                event=event,
                stream_arn=arn,
                shard_id=shard_id,
                iterator=iterator,
                on_failure=self.destinations.resolve(event.on_failure),
                batch_limit=max(1, min(event.batch_size, 1000)),
            )
        )

    def poll(self) -> int:
        return sum(self._poll(source) for source in self.sources)

    def pending(self) -> list[str]:
        waiting: list[str] = []
        for source in self.sources:
            peek = self._client.get_records(ShardIterator=source.iterator, Limit=1)
            if peek.get("Records"):
                waiting.append(f"{source.function.logical_id}: stream records")
        return waiting

    def _poll(self, source: StreamSource) -> int:
        answer = self._client.get_records(ShardIterator=source.iterator, Limit=source.batch_limit)
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
            failed_from, function_error, outcome = sequences[0], True, f"error {describe_error(err)}"
            log.debug("%s", traceback.format_exc())
        else:
            failed_from, outcome = partial_failure(source.event, result, sequences)
        if failed_from is None:
            source.iterator = answer["NextShardIterator"]
            source.failing_sequence, source.failures = None, 0
            source.reset_batch()
            self.deliveries.record(source.function, "stream", summary, "ok", True, event)
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
            self.deliveries.record(
                source.function, "stream", summary, f"{outcome}; retry {source.failures}/{shown}", False, event
            )
            return 1
        record = next(r for r in records if r["dynamodb"]["SequenceNumber"] == failed_from)
        function_arn = self.destinations.deployment.function_arn(source.function)
        message = stream_failure_record(
            function_arn, source.shard_id, source.stream_arn, record, source.failures, function_error
        )
        where = self.destinations.send(source.on_failure, message)
        source.iterator = self._iterator(source, "AFTER_SEQUENCE_NUMBER", failed_from)
        source.failing_sequence, source.failures = None, 0
        source.reset_batch()
        self.deliveries.record(
            source.function, "stream", summary, f"{outcome}; retries exhausted, seq {failed_from} {where}", False, event
        )
        return 1

    def _iterator(self, source: StreamSource, kind: str, sequence: str) -> str:
        answer = self._client.get_shard_iterator(
            StreamArn=source.stream_arn, ShardId=source.shard_id, ShardIteratorType=kind, SequenceNumber=sequence
        )
        return str(answer["ShardIterator"])


def partial_failure(event: tm.StreamEvent, result: Any, sequences: list[str]) -> tuple[str | None, str]:
    """The sequence number the next batch starts at (None: the batch succeeded), and the outcome's text."""
    if not event.report_batch_item_failures or not isinstance(result, dict):
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
