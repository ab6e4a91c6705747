"""Make moto's S3 conditional writes atomic, as S3's are (a gap of the embedded AWS; tests and local runtime only).

moto checks a PutObject's If-Match / If-None-Match, then parses ACLs and tags, stores the object, and only then
attaches its metadata, with no lock: two concurrent puts naming the same ETag can both pass the check and both
land (the later, possibly older, overwriting the newer), and a HEAD in between sees the new object without its
metadata. Real S3 decides a conditional write atomically and an object appears with its metadata. Here every
object write and read of the S3 responses is serialized by one lock.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.s3 import responses as s3_responses

_LOCK = threading.RLock()
_installed = False
_SERIALIZED = ("put_object", "head_object", "get_object", "copy_object", "delete_object")


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    for name in _SERIALIZED:
        original = getattr(s3_responses.S3Response, name, None)
        if original is not None:
            setattr(s3_responses.S3Response, name, _serialized(original))


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked
