"""Page tokens sealed with AES-GCM (the PageTokens port), under one 256-bit key per stack that the table keeps
sealed by the key-encryption key (KMS, context certwright:purpose=page-tokens) and each container opens once.

A listing's own token carries the sort key of the last row its page read, which may be a row the caller may
not see; sealed, it shows nothing. Whom it is for (the API edge passes the caller's ARN and the route) is the
associated data, so a token works for its caller on its listing only.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pynamodb.exceptions import DoesNotExist

from certwright.adapters.aws_errors import translate
from certwright.adapters.dynamodb_models import Row
from certwright.adapters.dynamodb_table import errors
from certwright.errors import ConflictError, DependencyError, InvalidInputError

KEY_PK, KEY_SK = "CONFIG#PAGE_TOKEN_KEY", "K"
_CONTEXT = {"certwright:purpose": "page-tokens"}
_NONCE = 12
_AAD = "certwright page token for {caller}"
# Every sealed token starts with this letter: base64url text may start with "-", which a command line reads as an
# option (`certwright cert list --page-token -kLj...` failed for one token in 64).
PREFIX = "p"


class SealedPageTokens:
    """The PageTokens port: PREFIX + base64url(nonce || AES-GCM(token, associated data = whom it is for))."""

    def __init__(self, key: Callable[[bool], bytes | None]) -> None:
        self._key = key  # key(True) makes the key if there is none yet; key(False) answers None then

    def seal(self, token: str, caller: str) -> str:
        nonce = os.urandom(_NONCE)
        key = self._key(True)
        assert key is not None
        box = AESGCM(key).encrypt(nonce, token.encode(), _AAD.format(caller=caller).encode())
        return PREFIX + base64.urlsafe_b64encode(nonce + box).decode().rstrip("=")

    def open(self, sealed: str, caller: str) -> str:
        invalid = InvalidInputError("page token is not valid", code="InvalidPageToken")
        if not sealed.startswith(PREFIX):
            raise invalid
        body = sealed[len(PREFIX) :]
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (ValueError, binascii.Error) as err:
            raise invalid from err
        key = self._key(False) if len(raw) > _NONCE + 16 else None
        if key is None:  # too short to be sealed, or no token was ever sealed here (a refusal makes no key)
            raise invalid
        try:
            token = AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], _AAD.format(caller=caller).encode())
            return token.decode()
        except (InvalidTag, UnicodeError) as err:
            raise invalid from err


class TablePageTokenKey:
    """The stack's page-token key: made on first use (32 random bytes, sealed by KMS, written once with a
    condition; a concurrent first use reads the winner's), then opened with KMS once per container."""

    def __init__(self, model: type[Row], kms: Any, key_id: str) -> None:
        self._model = model
        self._kms = kms
        self._key_id = key_id
        self._key: bytes | None = None

    def __call__(self, create: bool) -> bytes | None:
        if self._key is None:
            self._key = self._load(create)
        return self._key

    def _load(self, create: bool) -> bytes | None:
        stored = self._read()
        if stored is not None:
            return self._open(stored)
        if not create:
            return None
        key = os.urandom(32)
        row = self._model(KEY_PK, KEY_SK, kind="PAGE_TOKEN_KEY", data={}, secret=self._seal(key))
        try:
            with errors("store the page-token key"):
                row.save(condition=self._model.pk.does_not_exist())
        except ConflictError as err:
            winner = self._read()  # another container made it first: use theirs
            if winner is None:  # a row without its sealed key: nothing can page until it is fixed
                raise DependencyError(f"the page-token key row {KEY_PK}/{KEY_SK} holds no key") from err
            return self._open(winner)
        return key

    def _read(self) -> bytes | None:
        with errors("read the page-token key"):
            try:
                row = self._model.get(KEY_PK, KEY_SK, consistent_read=True)
            except DoesNotExist:
                return None
        return None if row.secret is None else bytes(row.secret)

    def _seal(self, key: bytes) -> bytes:
        try:
            answer = self._kms.encrypt(KeyId=self._key_id, Plaintext=key, EncryptionContext=_CONTEXT)
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Encrypt") from err
        return bytes(answer["CiphertextBlob"])

    def _open(self, sealed: bytes) -> bytes:
        try:
            answer = self._kms.decrypt(CiphertextBlob=sealed, KeyId=self._key_id, EncryptionContext=_CONTEXT)
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Decrypt") from err
        return bytes(answer["Plaintext"])


__all__ = ["KEY_PK", "KEY_SK", "PREFIX", "SealedPageTokens", "TablePageTokenKey"]
