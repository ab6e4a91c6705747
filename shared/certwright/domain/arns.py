"""IAM ARNs as identities: the normalized form policies and associations compare, and an ARN's account; pure.

An assumed-role session ARN `arn:aws:sts::ACCT:assumed-role/ROLE/SESSION` normalizes to
`arn:aws:iam::ACCT:role/ROLE`. The session ARN does not carry the role's IAM path, so a role created
under a path (`role/team/ROLE`) is matched by its name (the path is dropped).
"""

from __future__ import annotations

import re

ASSUMED_ROLE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):sts::(\d{12}):assumed-role/([\w+=,.@-]+)/([\w+=,.@-]+)$")
IAM = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(role|user|root)(/[\w+=,.@/-]*)?$")


def normalize_arn(arn: str) -> str:
    """The IAM identity behind a caller ARN: an assumed-role session maps to its role (path dropped)."""
    match = ASSUMED_ROLE.match(arn)
    if match:
        partition, account, role, _ = match.groups()
        return f"arn:{partition}:iam::{account}:role/{role}"
    match = IAM.match(arn)
    if match and match.group(3) == "role" and match.group(4):
        # role/path/NAME → role/NAME, so a role matches the same way as its sessions.
        partition, account, _, rest = match.groups()
        return f"arn:{partition}:iam::{account}:role/{rest.rstrip('/').rsplit('/', 1)[-1]}"
    return arn


def account_of(arn: str) -> str:
    """The 12-digit account of an ARN, or "" when it has none."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return parts[4] if len(parts) >= 5 and parts[4].isdigit() and len(parts[4]) == 12 else ""
