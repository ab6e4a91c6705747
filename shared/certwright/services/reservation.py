"""The reservation token of the idempotent request being served, so issuance can find what a crashed attempt reserved.

The API's idempotent-create helper binds a token derived from (caller, operation, Idempotency-Key, body) for the
duration of the call; issuance records its reservation under that token in the same transaction that reserves the
version (before KMS signs), and a retry of the same request finds it there instead of reserving a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

# As long as an Idempotency-Key is remembered (adapters/idempotency.py); later the same request is a new one.
RESERVATION_TTL = timedelta(hours=24)
_TOKEN: ContextVar[str | None] = ContextVar("certwright_request_token", default=None)


def request_token(caller: str, operation: str, key: str, body: dict[str, Any]) -> str:
    """A stable digest of one idempotent request; the same request always gives the same token."""
    canonical = json.dumps([caller, operation, key, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@contextmanager
def reserving(token: str | None) -> Iterator[None]:
    """Serve the enclosed call under `token` (None: a request without an Idempotency-Key)."""
    handle = _TOKEN.set(token)
    try:
        yield
    finally:
        _TOKEN.reset(handle)


def current_token() -> str | None:
    return _TOKEN.get()
