"""A process that dies at the N-th AWS call: a botocore hook raising a BaseException before the call is sent, or
after its answer came back (the call took effect, nobody learns of it). Counts calls, so every call is covered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

import boto3

T = TypeVar("T")


class ProcessKilled(BaseException):
    """The invocation was stopped mid-step (Lambda timeout, OOM, a killed host): nothing below it runs."""


class When(StrEnum):
    BEFORE = "before"  # the request never leaves
    AFTER = "after"  # the request took effect; the answer is lost with the process


@dataclass
class CrashHook:
    """Registered on a session's before-call / after-call events; armed for one call index at a time."""

    calls: list[str] = field(default_factory=list)
    target: int | None = None
    when: When = When.BEFORE
    fired: str | None = None

    def install(self, session: boto3.Session) -> None:
        session.events.register("before-call", self._before)
        session.events.register("after-call", self._after)

    def uninstall(self, session: boto3.Session) -> None:
        session.events.unregister("before-call", self._before)
        session.events.unregister("after-call", self._after)

    def record(self, action: Callable[[], T]) -> tuple[T, list[str]]:
        """Run `action` without crashing; returns its result and the AWS calls it made, in order."""
        self.calls, self.target = [], None
        result = action()
        calls, self.calls = self.calls, []
        return result, calls

    def arm(self, index: int, when: When) -> None:
        self.calls, self.target, self.when, self.fired = [], index, when, None

    def disarm(self) -> None:
        self.target = None

    def _name(self, model: Any) -> str:
        return f"{model.service_model.service_name}.{model.name}"

    def _before(self, model: Any, **_: Any) -> None:
        self.calls.append(self._name(model))
        if self.target is not None and self.when is When.BEFORE and len(self.calls) - 1 == self.target:
            self._fire(f"before {self._name(model)} (call {self.target})")

    def _after(self, model: Any, **_: Any) -> None:
        if self.target is not None and self.when is When.AFTER and len(self.calls) - 1 == self.target:
            self._fire(f"after {self._name(model)} (call {self.target})")

    def _fire(self, where: str) -> None:
        self.target, self.fired = None, where
        raise ProcessKilled(where)


def killed_at(crash: CrashHook, index: int, when: When, request: Callable[[], object]) -> str:
    """Run `request` with the process killed at AWS call `index`; returns where it died."""
    crash.arm(index, when)
    try:
        request()
    except ProcessKilled:
        pass
    finally:
        crash.disarm()
    assert crash.fired, f"the request made fewer than {index + 1} AWS calls this time"
    return crash.fired
