"""What the fake handlers under handlers/ saw, and how tests tell them to fail (one process, shared state)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

_lock = threading.Lock()


@dataclass
class Call:
    function: str
    event: dict[str, Any]
    environment: dict[str, str]
    context: dict[str, Any] = field(default_factory=dict)


calls: list[Call] = []
# key -> failures left (-1: always). Stream handlers look at the record's pk; bus handlers at detail["id"].
failures: dict[str, int] = {}


def reset() -> None:
    with _lock:
        calls.clear()
        failures.clear()


def record(function: str, event: dict[str, Any], context: Any) -> None:
    names = ("TABLE", "KEY_ARN", "BUS", "GREETING", "ALERTS", "COLOR", "AWS_ENDPOINT_URL")
    with _lock:
        calls.append(
            Call(
                function=function,
                event=event,
                environment={n: os.environ[n] for n in names if n in os.environ},
                context={
                    "function_name": context.function_name,
                    "invoked_function_arn": context.invoked_function_arn,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "aws_request_id": context.aws_request_id,
                    "remaining_ms": context.get_remaining_time_in_millis(),
                },
            )
        )


def should_fail(key: str) -> bool:
    with _lock:
        left = failures.get(key, 0)
        if left == 0:
            return False
        if left > 0:
            failures[key] = left - 1
        return True


def of(function_suffix: str) -> list[Call]:
    return [c for c in calls if c.function.endswith(function_suffix)]
