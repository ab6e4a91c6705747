"""Fake scheduled function."""

from typing import Any

from tests.runtime import recorder


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    recorder.record(context.function_name, event, context)
    return {"ticks": len(recorder.of("TickFunction"))}
