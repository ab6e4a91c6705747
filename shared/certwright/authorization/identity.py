"""The caller as a principal: its normalized IAM ARN (what policies match), account and session name.

An assumed-role session ARN `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` normalizes to
`arn:aws:iam::ACCT:role/ROLE`. The session ARN does not carry the role's IAM path, so a role created
under a path (`role/team/ROLE`) is matched by its name: grants and associations name roles without a
path, and policies compare `principal.name`. The session name is kept for the audit trail only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from certwright.domain.arns import ASSUMED_ROLE as _ASSUMED_ROLE
from certwright.domain.arns import IAM as _IAM
from certwright.domain.arns import account_of, normalize_arn
from certwright.errors import AccessDeniedError

__all__ = ["Principal", "account_of", "normalize_arn", "principal_from_arn"]

_FEDERATED = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):federated-user/([\w+=,.@-]+)$")
_MAX_ARN = 2048


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `arn` is normalized; `caller_arn` is what API Gateway reported."""

    arn: str
    account: str
    kind: str  # role | user | root | federated-user
    name: str
    session_name: str = ""
    caller_arn: str = ""


def principal_from_arn(caller_arn: str) -> Principal:
    """The principal for an IAM ARN from API Gateway; anything that is not an IAM/STS ARN is refused."""
    if not isinstance(caller_arn, str) or not caller_arn or len(caller_arn) > _MAX_ARN:
        raise AccessDeniedError("request is not authenticated")
    match = _ASSUMED_ROLE.match(caller_arn)
    if match:
        partition, account, role, session = match.groups()
        return Principal(f"arn:{partition}:iam::{account}:role/{role}", account, "role", role, session, caller_arn)
    match = _IAM.match(caller_arn)
    if match:
        _, account, kind, rest = match.groups()
        name = (rest or "").rstrip("/").rsplit("/", 1)[-1] if rest else kind
        if kind != "root" and not name:
            raise AccessDeniedError("request is not authenticated")
        return Principal(normalize_arn(caller_arn), account, kind, name, "", caller_arn)
    match = _FEDERATED.match(caller_arn)
    if match:
        return Principal(caller_arn, match.group(2), "federated-user", match.group(3), "", caller_arn)
    raise AccessDeniedError("the caller is not an IAM principal")
