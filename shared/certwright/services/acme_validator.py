"""Challenge validation (RFC 8555 §8): a challenge the client asked to be checked (status processing) is checked
through the ChallengeChecker port, retried with backoff while the checker cannot decide, and failed at its
deadline; the result is recorded on the challenge and its authorization (the order then reads ready or invalid).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial

from aws_lambda_powertools import Logger

from certwright.acme.jws import key_authorization
from certwright.acme.problems import problem_document
from certwright.acme.resources import Authorization, Challenge, Status
from certwright.errors import TransientError
from certwright.ports.acme import AcmeStore
from certwright.ports.acme_challenges import ChallengeChecker, ChallengeType
from certwright.services.context import Runtime

logger = Logger(child=True)

# Backoff between attempts inside one invocation: 1 s doubling, at most 8 s; the invocation gives up after
# `budget` and raises TransientError, so the bus retries it later (until the challenge's deadline).
FIRST_BACKOFF = timedelta(seconds=1)
MAX_BACKOFF = timedelta(seconds=8)
DEFAULT_BUDGET = timedelta(seconds=20)


@dataclass(frozen=True)
class Outcome:
    authorization_id: str
    challenge_type: str
    status: str  # valid | invalid | unchanged (nothing to do: not processing, or gone)


class ChallengeValidator:
    def __init__(
        self,
        store: AcmeStore,
        checker: ChallengeChecker,
        runtime: Runtime,
        sleep: Callable[[float], None],
        *,
        budget: timedelta = DEFAULT_BUDGET,
    ) -> None:
        self._store = store
        self._checker = checker
        self._rt = runtime
        self._sleep = sleep
        self._budget = budget

    def validate(self, authorization_id: str, challenge_type: str) -> Outcome:
        authorization = self._store.get_authorization(authorization_id)
        if authorization is None:
            return Outcome(authorization_id, challenge_type, "unchanged")
        challenge = next((c for c in authorization.challenges if c.type.value == challenge_type), None)
        if challenge is None or challenge.status is not Status.PROCESSING:
            return Outcome(authorization_id, challenge_type, "unchanged")
        account = self._store.get_account(authorization.account_id)
        if account is None or account.status is not Status.VALID:
            return self._finish(authorization, challenge, "unauthorized", "the account is gone or deactivated")
        key_auth = key_authorization(challenge.token, account.jwk)
        waited = timedelta(0)
        backoff = FIRST_BACKOFF
        while True:
            now = self._rt.clock()
            if challenge.deadline is not None and now >= challenge.deadline:
                return self._finish(authorization, challenge, "connection", "no answer before the deadline")
            try:
                result = self._checker.check(
                    ChallengeType(challenge_type), authorization.identifier, challenge.token, key_auth
                )
            except TransientError as err:
                challenge = replace(challenge, attempts=challenge.attempts + 1)
                logger.info(
                    "challenge undecided",
                    extra={"authorization": authorization_id, "type": challenge_type, "attempts": challenge.attempts},
                )
                # Bounded by what this invocation slept, so a check that never decides cannot keep it forever.
                if waited + backoff > self._budget:
                    self._store.change_authorization(authorization_id, partial(_with, challenge))
                    raise TransientError(
                        f"challenge {challenge_type} of {authorization_id} undecided: {err.message}"
                    ) from err
                self._sleep(backoff.total_seconds())
                waited += backoff
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            if result.valid:
                return self._finish(authorization, challenge, None, "")
            return self._finish(authorization, challenge, result.problem or "incorrectResponse", result.detail)

    def _finish(self, authorization: Authorization, challenge: Challenge, problem: str | None, detail: str) -> Outcome:
        now = self._rt.clock()
        if problem is None:
            done = replace(challenge, status=Status.VALID, validated=now, attempts=challenge.attempts + 1)
        else:
            done = replace(
                challenge,
                status=Status.INVALID,
                error=problem_document(problem, detail or problem),
                attempts=challenge.attempts + 1,
            )
        # Applied to the stored authorization, conditional on what was read: a deactivation while the check ran,
        # even one racing this very write, stays (with_challenge keeps final states).
        self._store.change_authorization(authorization.id, partial(_with, done))
        logger.info(
            "challenge decided",
            extra={"authorization": authorization.id, "type": challenge.type.value, "status": done.status.value},
        )
        return Outcome(authorization.id, challenge.type.value, done.status.value)


def _with(challenge: Challenge, latest: Authorization) -> Authorization:
    """The stored authorization with `challenge` (final states stay: Authorization.with_challenge)."""
    return latest.with_challenge(challenge)
