"""The EAB sealer on moto's KMS: an EAB HMAC key opens again only for its own key id, and is not in the blob."""

from __future__ import annotations

import pytest
from certwright.adapters.kms_eab import KmsEabSealer
from certwright.errors import CertwrightError

from tests.conftest import Aws

HMAC = b"\x01eab hmac key of 32 bytes\x02....."


@pytest.fixture
def sealer(aws: Aws) -> KmsEabSealer:
    return KmsEabSealer(aws.session.client("kms"), aws.settings.key_encryption_key_id)


def test_an_eab_key_opens_for_its_own_key_id_only(sealer: KmsEabSealer) -> None:
    sealed = sealer.seal(HMAC, "eab-1")
    assert HMAC not in sealed
    assert sealer.open(sealed, "eab-1") == HMAC
    with pytest.raises(CertwrightError) as caught:
        sealer.open(sealed, "eab-2")
    assert "eab hmac" not in str(caught.value)
