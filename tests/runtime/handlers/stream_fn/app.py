"""Fake stream consumer: reports the records the tests marked as failing; raises for pk `boom...`."""

from typing import Any

from tests.runtime import recorder


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    recorder.record(context.function_name, event, context)
    failed = []
    for record in event["Records"]:
        pk = record["dynamodb"]["Keys"]["pk"]["S"]
        if pk.startswith("boom") and recorder.should_fail(pk):
            raise RuntimeError(f"cannot handle {pk}")
        if recorder.should_fail(pk):
            failed.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    return {"batchItemFailures": failed}
