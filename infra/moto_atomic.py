"""Make moto's conditional writes atomic, as AWS's are (a gap of the embedded AWS; tests and local runtime only).

moto checks a condition, then writes, with no lock. S3: a PutObject's If-Match / If-None-Match is checked, ACLs
and tags are parsed, the object is stored and only then given its metadata, so two puts naming the same ETag can
both land (the later, possibly older, overwriting the newer) and a HEAD in between sees an object without its
metadata. DynamoDB: a PutItem / UpdateItem / DeleteItem condition (our row-version guard) is checked against the
item, then the item is replaced, so two writers that read the same version can both succeed and one update is
lost. Real S3 and DynamoDB decide each conditional write atomically. Here the S3 request handlers (and the reads
that could see a half-made object) are serialized by one lock; DynamoDB is covered by moto_shims, which serves
every DynamoDB and Streams request one at a time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.s3 import responses as s3_responses

_LOCK = threading.RLock()
_installed = False
_SERIALIZED: tuple[tuple[type, tuple[str, ...]], ...] = (
    (s3_responses.S3Response, ("put_object", "head_object", "get_object", "copy_object", "delete_object")),
)


def install() -> None:
    """Patch moto in this process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    for handler, names in _SERIALIZED:
        for name in names:
            original = getattr(handler, name, None)
            if original is not None:
                setattr(handler, name, _serialized(original))


def _serialized(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return method(*args, **kwargs)

    return locked
