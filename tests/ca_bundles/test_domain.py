"""The pure rules of a CA bundle: sources, stable de-duplicated content, and a version only when content changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from certwright.domain.authority import LifecycleState
from certwright.domain.ca_bundle import (
    MAX_CERTIFICATES,
    AuthorityContribution,
    CaBundle,
    TrustedCertificate,
    check_sources,
    content,
    new_bundle,
    next_version,
)
from certwright.domain.stages import Stage
from certwright.errors import InvalidInputError

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _cert(n: int, source: str = "PEM") -> TrustedCertificate:
    return TrustedCertificate(f"pem{n}\n", f"{n:064x}", f"CN=ca{n}", NOW + timedelta(days=30), source)


def _bundle() -> CaBundle:
    return CaBundle("b", "b", "", (_cert(1),), ("ca-1",), True, LifecycleState.ACTIVE, "me", NOW, 1, 1)


def test_content_keeps_source_order_and_the_first_of_each_fingerprint() -> None:
    parts = [
        AuthorityContribution("ca-1", (_cert(2, "ca-1"), _cert(9, "ca-1"))),
        AuthorityContribution("ca-2", (_cert(3, "ca-2"), _cert(9, "ca-2"))),
    ]
    result = content((_cert(1),), parts)
    assert [c.fingerprint[-1] for c in result] == ["1", "2", "9", "3"]
    assert result[2].source == "ca-1"


def test_content_is_bounded() -> None:
    with pytest.raises(InvalidInputError) as err:
        content(tuple(_cert(n) for n in range(MAX_CERTIFICATES + 1)), [])
    assert err.value.code == "TooManyCertificates"


@pytest.mark.parametrize(
    ("given", "ids", "code"),
    [
        ((), (), "EmptyCaBundle"),
        ((_cert(1), _cert(1)), (), "DuplicateCertificate"),
        ((), ("ca-1", "ca-1"), "DuplicateCertificate"),
        ((), tuple(f"ca-{n}" for n in range(26)), "TooManyCertificates"),
    ],
)
def test_bad_sources(given: tuple[TrustedCertificate, ...], ids: tuple[str, ...], code: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        check_sources(given, ids)
    assert err.value.code == code


def test_a_version_only_when_the_content_changes() -> None:
    bundle = _bundle()
    first = new_bundle(bundle, (_cert(1), _cert(2)), NOW)
    stages = {1: first.stages}
    assert next_version(bundle, stages, first, (_cert(1), _cert(2)), now=NOW, actor="x", reason="r") is None
    assert next_version(bundle, stages, first, (), now=NOW, actor="x", reason="r") is None  # never empty
    step = next_version(bundle, stages, first, (_cert(2), _cert(1)), now=NOW, actor="x", reason="r")
    assert step is not None  # the order is part of the content: it is what verifiers load
    assert step.version.version_number == 2 and step.version.stages == {Stage.CURRENT, Stage.LATEST}
    assert step.stage_changes == {1: frozenset({Stage.PREVIOUS})}
    assert step.bundle.current_version_number == step.bundle.latest_version_number == 2


def test_the_bundle_pem_ends_every_block_with_a_newline() -> None:
    version = new_bundle(_bundle(), (TrustedCertificate("a", "1" * 64, "CN=a", NOW), _cert(2)), NOW)
    assert version.bundle_pem == "a\npem2\n"
