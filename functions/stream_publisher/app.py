"""Lambda entry point of the outbox: each table stream record becomes its domain events on the bus."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def record_handler(record: DynamoDBRecord) -> None:
    # Imported on the first call, not at load: loading this module costs Powertools only (bench/cold_start.py).
    from certwright.bootstrap import container
    from certwright.errors import CorruptRowError

    change = record.dynamodb
    # Powertools decodes a missing image as {}; the outbox's row decoder reads None and {} alike as no row.
    old, new = (change.old_image if change else None), (change.new_image if change else None)
    try:
        events = container().outbox.publish_change(record.event_id or "", old, new)
    except CorruptRowError as err:
        # The record fails alone (retried, then sent to the failure queue); the message names the row, not its content.
        logger.error("corrupt row image", extra={"code": err.code, "error": err.message, "eventId": record.event_id})
        raise
    for event in events:
        logger.info("published", extra={"detailType": event.detail_type, "resourceId": event.resource_id})


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
