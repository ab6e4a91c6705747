"""Version stages: the pure transitions, and a randomized check that the stage invariants survive any sequence."""

from __future__ import annotations

import random

import pytest
from certwright.domain.stages import Stage, StageMap, add_version, changed, first_version, promote
from certwright.errors import ConflictError

CURRENT, PENDING, LATEST, PREVIOUS, DEPRECATED, FAILED = (
    Stage.CURRENT,
    Stage.PENDING,
    Stage.LATEST,
    Stage.PREVIOUS,
    Stage.DEPRECATED,
    Stage.FAILED,
)


def s(*stages: Stage) -> frozenset[Stage]:
    return frozenset(stages)


def test_first_version_is_current_and_latest() -> None:
    assert first_version() == {1: s(CURRENT, LATEST)}


def test_adding_a_current_version_moves_current_to_previous_and_previous_to_deprecated() -> None:
    two = add_version(first_version(), 2, pending=False)
    assert two == {1: s(PREVIOUS), 2: s(CURRENT, LATEST)}
    three = add_version(two, 3, pending=False)
    assert three == {1: s(DEPRECATED), 2: s(PREVIOUS), 3: s(CURRENT, LATEST)}


def test_adding_a_pending_version_leaves_current_alone() -> None:
    stages = add_version(first_version(), 2, pending=True)
    assert stages == {1: s(CURRENT), 2: s(PENDING, LATEST)}


def test_a_newer_pending_version_deprecates_the_older_pending_one() -> None:
    stages = add_version(add_version(first_version(), 2, pending=True), 3, pending=True)
    assert stages == {1: s(CURRENT), 2: s(DEPRECATED), 3: s(PENDING, LATEST)}


def test_a_newer_current_version_deprecates_a_pending_one() -> None:
    stages = add_version(add_version(first_version(), 2, pending=True), 3, pending=False)
    assert stages == {1: s(PREVIOUS), 2: s(DEPRECATED), 3: s(CURRENT, LATEST)}


def test_adding_an_existing_version_number_is_refused() -> None:
    with pytest.raises(ConflictError):
        add_version(first_version(), 1, pending=False)


def test_a_failed_version_keeps_its_stage_and_never_becomes_latest() -> None:
    stages = {1: s(CURRENT, LATEST), 2: s(FAILED)}
    after = add_version(stages, 3, pending=False)
    assert after == {1: s(PREVIOUS), 2: s(FAILED), 3: s(CURRENT, LATEST)}


def test_promoting_a_pending_version_makes_it_current() -> None:
    stages = add_version(first_version(), 2, pending=True)
    assert promote(stages, 2) == {1: s(PREVIOUS), 2: s(CURRENT, LATEST)}


def test_rolling_back_to_previous_swaps_current_and_previous_and_keeps_latest() -> None:
    stages = add_version(first_version(), 2, pending=False)
    rolled = promote(stages, 1)
    assert rolled == {1: s(CURRENT), 2: s(PREVIOUS, LATEST)}
    assert changed(stages, rolled) == rolled


def test_promoting_a_deprecated_version_deprecates_the_old_previous() -> None:
    stages = add_version(add_version(first_version(), 2, pending=False), 3, pending=False)
    promoted = promote(stages, 1)
    assert promoted == {1: s(CURRENT), 2: s(DEPRECATED), 3: s(PREVIOUS, LATEST)}
    assert changed(stages, promoted) == {1: s(CURRENT), 2: s(DEPRECATED), 3: s(PREVIOUS, LATEST)}


def test_promoting_the_current_version_is_refused() -> None:
    with pytest.raises(ConflictError) as caught:
        promote(first_version(), 1)
    assert caught.value.code == "AlreadyCurrent"


def test_promoting_a_failed_version_is_refused() -> None:
    with pytest.raises(ConflictError) as caught:
        promote({1: s(CURRENT, LATEST), 2: s(FAILED)}, 2)
    assert caught.value.code == "VersionNotPromotable"


def test_promoting_an_unknown_version_is_refused() -> None:
    with pytest.raises(ConflictError):
        promote(first_version(), 7)


def test_changed_lists_only_versions_whose_stages_moved() -> None:
    before = add_version(add_version(first_version(), 2, pending=False), 3, pending=False)
    after = add_version(before, 4, pending=True)
    assert changed(before, after) == {3: s(CURRENT), 4: s(PENDING, LATEST)}


# -- randomized ------------------------------------------------------------------------------------------


def assert_invariants(stages: StageMap) -> None:
    holders = {stage: [n for n, held in stages.items() if stage in held] for stage in Stage}
    assert len(holders[CURRENT]) == 1, stages
    assert len(holders[PENDING]) <= 1, stages
    assert len(holders[PREVIOUS]) <= 1, stages
    assert len(holders[LATEST]) <= 1, stages
    live = [n for n, held in stages.items() if FAILED not in held]
    assert holders[LATEST] == [max(live)], stages
    for n, held in stages.items():
        assert held, (n, stages)
        if FAILED in held:
            assert held == s(FAILED), stages
        assert not (CURRENT in held and (PENDING in held or PREVIOUS in held or DEPRECATED in held)), stages
    assert sorted(stages) == list(range(1, max(stages) + 1)), "version numbers are dense"


def step(stages: dict[int, frozenset[Stage]], rng: random.Random) -> dict[int, frozenset[Stage]]:
    """One operation, as the services would perform it: renew, renew pending, fail an issuance, or promote."""
    following = max(stages) + 1
    operation = rng.choice(["renew", "renew_pending", "fail", "promote", "promote"])
    if operation == "renew":
        return add_version(stages, following, pending=False)
    if operation == "renew_pending":
        return add_version(stages, following, pending=True)
    if operation == "fail":
        return {**stages, following: s(FAILED)}
    number = rng.choice(sorted(stages))
    held = stages[number]
    try:
        promoted = promote(stages, number)
    except ConflictError:
        assert CURRENT in held or FAILED in held, (number, stages)
        return stages
    assert held & {PENDING, PREVIOUS, DEPRECATED}, (number, stages)
    assert CURRENT in promoted[number]
    return promoted


def test_random_operation_sequences_keep_every_invariant() -> None:
    rng = random.Random(20240517)
    for _ in range(400):
        stages = first_version()
        for _ in range(rng.randint(1, 25)):
            before = dict(stages)
            stages = step(stages, rng)
            assert_invariants(stages)
            assert set(before) <= set(stages), "no version disappears"
