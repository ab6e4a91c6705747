"""Version stages and the pure transitions between them; exactly one CURRENT survives every transition."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from certwright.errors import ConflictError


class Stage(StrEnum):
    CURRENT = "CURRENT"
    PENDING = "PENDING"
    LATEST = "LATEST"
    PREVIOUS = "PREVIOUS"
    DEPRECATED = "DEPRECATED"
    FAILED = "FAILED"


StageMap = Mapping[int, frozenset[Stage]]
_PROMOTABLE = {Stage.PENDING, Stage.PREVIOUS, Stage.DEPRECATED}


def first_version() -> dict[int, frozenset[Stage]]:
    return {1: frozenset({Stage.CURRENT, Stage.LATEST})}


def add_version(stages: StageMap, number: int, *, pending: bool) -> dict[int, frozenset[Stage]]:
    """Stages after adding version `number`, as the new CURRENT or as PENDING. Returns every version's stages."""
    if number in stages and stages[number] - {Stage.FAILED}:
        raise ConflictError(f"version {number} already exists")
    result: dict[int, frozenset[Stage]] = {}
    for n, held in stages.items():
        kept = set(held) - {Stage.LATEST}
        if Stage.PENDING in kept:
            # A newer version supersedes any pending one.
            kept = (kept - {Stage.PENDING}) | {Stage.DEPRECATED}
        if not pending:
            if Stage.CURRENT in kept:
                kept = (kept - {Stage.CURRENT}) | {Stage.PREVIOUS}
            elif Stage.PREVIOUS in kept:
                kept = (kept - {Stage.PREVIOUS}) | {Stage.DEPRECATED}
        result[n] = frozenset(kept)
    result[number] = frozenset({Stage.PENDING if pending else Stage.CURRENT, Stage.LATEST})
    _check(result)
    return result


def promote(stages: StageMap, number: int) -> dict[int, frozenset[Stage]]:
    """Make `number` CURRENT: promotes a PENDING version, or rolls back to a PREVIOUS/DEPRECATED one."""
    held = stages.get(number)
    if held is None:
        raise ConflictError(f"version {number} does not exist")
    if Stage.CURRENT in held:
        raise ConflictError(f"version {number} is already CURRENT", code="AlreadyCurrent")
    if not held & _PROMOTABLE:
        raise ConflictError(
            f"version {number} ({', '.join(sorted(held))}) cannot become CURRENT", code="VersionNotPromotable"
        )
    result: dict[int, frozenset[Stage]] = {}
    for n, other in stages.items():
        kept = set(other)
        if n == number:
            kept = (kept - _PROMOTABLE) | {Stage.CURRENT}
        elif Stage.CURRENT in kept:
            kept = (kept - {Stage.CURRENT}) | {Stage.PREVIOUS}
        elif Stage.PREVIOUS in kept:
            kept = (kept - {Stage.PREVIOUS}) | {Stage.DEPRECATED}
        result[n] = frozenset(kept)
    _check(result)
    return result


def changed(before: StageMap, after: StageMap) -> dict[int, frozenset[Stage]]:
    return {n: s for n, s in after.items() if before.get(n) != s}


def _check(stages: StageMap) -> None:
    current = [n for n, s in stages.items() if Stage.CURRENT in s]
    latest = [n for n, s in stages.items() if Stage.LATEST in s]
    if len(current) != 1 or len(latest) > 1:
        raise AssertionError(f"stage invariant broken: CURRENT={current} LATEST={latest}")
