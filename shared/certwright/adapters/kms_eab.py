"""EAB HMAC keys sealed with the key-encryption key, bound by encryption context to their EAB key id."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate


class KmsEabSealer:
    """The EabSealer port on KMS Encrypt/Decrypt (context certwright:eabKeyId = the key id, nothing else)."""

    def __init__(self, kms: Any, key_id: str) -> None:
        self._kms = kms
        self._key_id = key_id

    def seal(self, hmac_key: bytes, key_id: str) -> bytes:
        try:
            response = self._kms.encrypt(
                KeyId=self._key_id, Plaintext=hmac_key, EncryptionContext={"certwright:eabKeyId": key_id}
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Encrypt") from err
        return bytes(response["CiphertextBlob"])

    def open(self, sealed: bytes, key_id: str) -> bytes:
        try:
            response = self._kms.decrypt(
                CiphertextBlob=sealed, KeyId=self._key_id, EncryptionContext={"certwright:eabKeyId": key_id}
            )
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "KMS Decrypt") from err
        return bytes(response["Plaintext"])
