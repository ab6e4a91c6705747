"""CaKeyProvider.adopt_key (a customer's own key, kmsKeyId): the same checks on the fake and on KMS (moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest
from certwright.adapters.kms import KEY_SPECS, KmsCaKeys
from certwright.domain.keys import KeyAlgorithm
from certwright.errors import ConflictError, InvalidInputError
from certwright.ports import CaKeyProvider
from certwright.x509.keys import generate_private_key, public_key_der
from moto import mock_aws

from tests.fakes import FakeCaKeys


@dataclass
class Backend:
    keys: CaKeyProvider
    # An existing signing key of an algorithm, enabled or disabled; returns its id.
    existing: Callable[[KeyAlgorithm, bool], str]
    missing: str


def _fake() -> Backend:
    keys = FakeCaKeys()
    return Backend(keys, lambda alg, enabled: keys.bring(generate_private_key(alg), enabled=enabled), "byo-9999")


@pytest.fixture(params=["fake", "kms"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "fake":
        yield _fake()
        return
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")

        def existing(algorithm: KeyAlgorithm, enabled: bool) -> str:
            key_id = str(kms.create_key(KeySpec=KEY_SPECS[algorithm], KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"])
            if not enabled:
                kms.disable_key(KeyId=key_id)
            return key_id

        yield Backend(KmsCaKeys(kms), existing, "11111111-2222-3333-4444-555555555555")


def test_an_existing_key_of_the_algorithm_is_adopted_with_its_public_key(backend: Backend) -> None:
    key_id = backend.existing(KeyAlgorithm.ECDSA_P384, True)
    adopted = backend.keys.adopt_key(key_id, KeyAlgorithm.ECDSA_P384)
    assert adopted.endswith(key_id)
    public = backend.keys.public_key(adopted)
    assert public_key_der(public) == public_key_der(
        backend.keys.signing_key(adopted, KeyAlgorithm.ECDSA_P384).public_key()
    )


def test_a_key_of_another_algorithm_is_refused(backend: Backend) -> None:
    key_id = backend.existing(KeyAlgorithm.ECDSA_P256, True)
    with pytest.raises(InvalidInputError) as refused:
        backend.keys.adopt_key(key_id, KeyAlgorithm.ECDSA_P384)
    assert refused.value.code == "KmsKeySpecMismatch"


def test_a_disabled_key_is_refused(backend: Backend) -> None:
    key_id = backend.existing(KeyAlgorithm.ECDSA_P256, False)
    with pytest.raises(ConflictError) as refused:
        backend.keys.adopt_key(key_id, KeyAlgorithm.ECDSA_P256)
    assert refused.value.code == "KmsKeyNotEnabled"


def test_a_missing_key_is_refused(backend: Backend) -> None:
    with pytest.raises(InvalidInputError) as refused:
        backend.keys.adopt_key(backend.missing, KeyAlgorithm.ECDSA_P256)
    assert refused.value.code == "KmsKeyNotAccessible"
