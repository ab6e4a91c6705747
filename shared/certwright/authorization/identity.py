"""The caller as a principal: its normalized IAM ARN (what policies match), account and session name.

An assumed-role session ARN `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` normalizes to
`arn:aws:iam::ACCT:role/ROLE`. The session ARN does not carry the role's IAM path, so a role created
under a path (`role/team/ROLE`) is matched by its name: grants and associations name roles without a
path, and policies compare `principal.name`. The session name is kept for the audit trail only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from certwright.errors import AccessDeniedError

_ASSUMED_ROLE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)$")
_IAM = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user|root)(/[\w+=,.@/-]*)?$")
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


def normalize_arn(arn: str) -> str:
    """The IAM identity behind a caller ARN: an assumed-role session maps to its role (path dropped)."""
    match = _ASSUMED_ROLE.match(arn)
    if match:
        partition, account, role, _ = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    match = _IAM.match(arn)
    if match and match.group(3) == "role" and match.group(4):
        # role/path/NAME → role/NAME, so a role matches the same way as its sessions.
        partition, account, _, rest = match.groups()
        return f"arn:{partition}:iam::{account}:role/{rest.rstrip('/').rsplit('/', 1)[-1]}"
    return arn


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


def account_of(arn: str) -> str:
    """The 12-digit account of an ARN, or "" when it has none."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return parts[4] if len(parts) >= 5 and parts[4].isdigit() and len(parts[4]) == 12 else ""
