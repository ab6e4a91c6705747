"""The Lambda handlers of functions/<name>/app.py, loaded by path, and the real-shaped events Lambda gives them."""

from __future__ import annotations

import importlib.util
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from certwright.events import SOURCE, DomainEvent

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
ACCOUNT = "123456789012"
REGION = "us-east-1"


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py as a module of its own (every function folder has an app.py)."""
    spec = importlib.util.spec_from_file_location(f"lifecycle_fn_{name}", FUNCTIONS / name / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class LambdaContext:
    function_name: str = "certwright-test"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 600_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def eventbridge_envelope(event: DomainEvent, *, delivery_id: str | None = None) -> dict[str, Any]:
    """A domain event as EventBridge delivers it to a rule's Lambda target (detail through JSON, as on the wire)."""
    return {
        "version": "0",
        "id": delivery_id or str(uuid.uuid4()),
        "detail-type": event.detail_type,
        "source": SOURCE,
        "account": ACCOUNT,
        "time": "2026-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": json.loads(json.dumps(event.to_detail())),
    }
