"""AWS Certificate Manager: import (or re-import into) a certificate, read its serial, delete unused copies."""

from __future__ import annotations

import threading
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.errors import NotFoundError

ACM_IMPORTS_PER_SECOND = 1.0


class AcmCertificates:
    """CertificateStore port on ACM; imports are paced to ACM's ImportCertificate quota (1/s per account)."""

    def __init__(
        self,
        acm: Any,
        imports_per_second: float = ACM_IMPORTS_PER_SECOND,
        sleep: Any = time.sleep,
        monotonic: Any = time.monotonic,
    ) -> None:
        self._acm = acm
        self._interval = 1.0 / imports_per_second if imports_per_second > 0 else 0.0
        self._sleep = sleep
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._next_slot = 0.0

    def _pace(self) -> None:
        with self._lock:
            now = self._monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._interval
        if wait > 0:
            self._sleep(wait)

    def import_certificate(
        self,
        certificate_pem: str,
        private_key_pem: str,
        chain_pem: str,
        tags: dict[str, str],
        existing_arn: str | None = None,
    ) -> str:
        arguments: dict[str, Any] = {
            "Certificate": certificate_pem.encode(),
            "PrivateKey": private_key_pem.encode(),
        }
        if chain_pem:
            arguments["CertificateChain"] = chain_pem.encode()
        if existing_arn:
            arguments["CertificateArn"] = existing_arn
        else:
            arguments["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        self._pace()
        try:
            return str(self._acm.import_certificate(**arguments)["CertificateArn"])
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise NotFoundError(f"ACM certificate {existing_arn} does not exist") from err
            raise translate(err, "ACM ImportCertificate") from err
        except BotoCoreError as err:
            raise translate(err, "ACM ImportCertificate") from err

    def tagged(self, tags: dict[str, str]) -> list[str]:
        """Every certificate in ACM carrying all of `tags` (a crash-recovery path: lists the account's copies)."""
        found = []
        try:
            for page in self._acm.get_paginator("list_certificates").paginate():
                for summary in page.get("CertificateSummaryList", []):
                    arn = summary["CertificateArn"]
                    held = self._acm.list_tags_for_certificate(CertificateArn=arn).get("Tags", [])
                    if tags.items() <= {t["Key"]: t.get("Value", "") for t in held}.items():
                        found.append(str(arn))
        except (ClientError, BotoCoreError) as err:
            raise translate(err, "ACM ListCertificates") from err
        return found

    def serial_of(self, arn: str) -> str | None:
        """The serial ACM holds for `arn` (lower-case hex, no separators), or None when it is gone."""
        try:
            serial = self._acm.describe_certificate(CertificateArn=arn)["Certificate"].get("Serial", "")
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return None
            raise translate(err, "ACM DescribeCertificate") from err
        except BotoCoreError as err:
            raise translate(err, "ACM DescribeCertificate") from err
        return str(serial).replace(":", "").lower().lstrip("0")

    def delete(self, arn: str) -> bool:
        """Delete `arn` unless something still uses it (ACM refuses then: it stays). True when it is gone."""
        try:
            self._acm.delete_certificate(CertificateArn=arn)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            if code == "ResourceNotFoundException":
                return True
            if code == "ResourceInUseException":
                return False
            raise translate(err, "ACM DeleteCertificate") from err
        except BotoCoreError as err:
            raise translate(err, "ACM DeleteCertificate") from err
        return True
