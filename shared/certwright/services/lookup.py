"""Find by what you see: the certificates whose versions carry a given serial number or SHA-256 fingerprint."""

from __future__ import annotations

import re

from certwright.authorization.visibility import visible
from certwright.domain.authority import LifecycleState
from certwright.domain.certificate import Certificate
from certwright.errors import InvalidInputError
from certwright.ports import Store, VersionIndex

SERIAL = re.compile(r"^(?:[0-9a-fA-F]{1,2}:)*[0-9a-fA-F]{1,2}$|^[0-9a-fA-F]{1,40}$")
FINGERPRINT = re.compile(r"^(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$|^[0-9a-fA-F]{64}$")


class CertificateLookup:
    """Certificates by serial number or fingerprint, through the index; only those the caller may read."""

    def __init__(self, store: Store, index: VersionIndex) -> None:
        self._store = store
        self._index = index

    def find(self, serial_number: str | None, fingerprint_sha256: str | None) -> list[Certificate]:
        if (serial_number is None) == (fingerprint_sha256 is None):
            raise InvalidInputError("give exactly one of serialNumber and fingerprintSha256", code="InvalidLookup")
        if serial_number is not None:
            if len(serial_number) > 59 or not SERIAL.match(serial_number):
                raise InvalidInputError(
                    "serialNumber is hexadecimal, at most 20 bytes (with or without colons)", code="InvalidLookup"
                )
            matches = self._index.by_serial(serial_number)
        else:
            assert fingerprint_sha256 is not None
            if not FINGERPRINT.match(fingerprint_sha256):
                raise InvalidInputError(
                    "fingerprintSha256 is 64 hexadecimal digits (with or without colons)", code="InvalidLookup"
                )
            matches = self._index.by_fingerprint(fingerprint_sha256)
        found: list[Certificate] = []
        for certificate_id in dict.fromkeys(certificate_id for certificate_id, _ in matches):
            certificate = self._store.get_certificate(certificate_id)
            # Deleted certificates are tombstones; what the caller may not read is not there for them.
            if certificate is None or certificate.lifecycle_state is LifecycleState.DELETED:
                continue
            if visible(certificate):
                found.append(certificate)
        return found
