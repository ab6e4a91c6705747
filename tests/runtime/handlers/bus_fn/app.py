"""Fake bus consumer (two functions share it): raises for events the tests marked as failing."""

from typing import Any

from tests.runtime import recorder


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    recorder.record(context.function_name, event, context)
    key = str(event.get("detail", {}).get("id", ""))
    if recorder.should_fail(key):
        raise ValueError(f"refusing {key}")
    return {"handled": key}
