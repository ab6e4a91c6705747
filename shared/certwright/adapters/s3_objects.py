"""S3 objects of the PKI bucket: read an object's ETag and metadata, and put conditionally on what was read.

A put names the object it replaces (If-Match: its ETag) or says there is none (If-None-Match: *), so two
writers can never overwrite each other blindly: the loser gets a 412 and must look again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.errors import ConflictError
from certwright.ports.pki_objects import StoredObject

_PRECONDITION_FAILED = {"PreconditionFailed", "412", "ConditionalRequestConflict"}
_ABSENT = {"404", "NoSuchKey", "NotFound"}


class S3Objects:
    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def head(self, key: str) -> StoredObject | None:
        try:
            response = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _code(err) in _ABSENT:
                return None
            raise translate(err, f"S3 HeadObject {key}") from err
        except BotoCoreError as err:
            raise translate(err, f"S3 HeadObject {key}") from err
        return StoredObject(str(response["ETag"]), dict(response.get("Metadata") or {}))

    def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str,
        replaces: StoredObject | None,
        metadata: Mapping[str, str] | None = None,
        cache_control: str | None = None,
    ) -> str:
        """Put `body` only if the object is still `replaces` (None: only if there is none); returns the new ETag.

        Raises ConflictError(code="PreconditionFailed") when another writer got there first.
        """
        request: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": dict(metadata or {}),
        }
        if cache_control:
            request["CacheControl"] = cache_control
        if replaces is None:
            request["IfNoneMatch"] = "*"
        else:
            request["IfMatch"] = replaces.etag
        try:
            response = self._s3.put_object(**request)
        except ClientError as err:
            if _code(err) in _PRECONDITION_FAILED or _status(err) in (409, 412):
                raise ConflictError(f"S3 object {key} changed meanwhile", code="PreconditionFailed") from err
            raise translate(err, f"S3 PutObject {key}") from err
        except BotoCoreError as err:
            raise translate(err, f"S3 PutObject {key}") from err
        return str(response["ETag"])


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
