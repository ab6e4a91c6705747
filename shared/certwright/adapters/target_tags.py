"""Reads the tags of association targets (ELBv2 listeners, ACM certificates, IAM roles and users) for consent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.domain.association import AssociationType, classify_resource
from certwright.errors import DependencyError

_MISSING = {"ListenerNotFound", "LoadBalancerNotFound", "ResourceNotFoundException", "NoSuchEntity"}


class AwsTargetTags:
    """TargetTagPort on ELBv2 DescribeTags, ACM ListTagsForCertificate and IAM ListRoleTags/ListUserTags."""

    def __init__(self, elbv2: Any, acm: Any, iam: Any) -> None:
        self._elbv2 = elbv2
        self._acm = acm
        self._iam = iam

    def tags_of(self, resource_arn: str) -> Mapping[str, str] | None:
        kind = classify_resource(resource_arn)
        try:
            if kind is AssociationType.LOAD_BALANCER_LISTENER:
                return self._listener(resource_arn)
            if kind is AssociationType.ACM_CERTIFICATE:
                tags = self._acm.list_tags_for_certificate(CertificateArn=resource_arn).get("Tags", [])
                return {t["Key"]: t.get("Value", "") for t in tags}
            return self._principal(resource_arn)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code in _MISSING:
                return None
            if code in {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"}:
                # A configuration problem (the role may not read tags), not withdrawn consent: fail loudly.
                raise DependencyError(f"Certwright may not read the tags of {resource_arn} ({code})") from err
            raise translate(err, "read consent tags") from err
        except BotoCoreError as err:
            raise translate(err, "read consent tags") from err

    def _listener(self, arn: str) -> Mapping[str, str] | None:
        descriptions = self._elbv2.describe_tags(ResourceArns=[arn]).get("TagDescriptions", [])
        for description in descriptions:
            if description.get("ResourceArn") == arn:
                return {t["Key"]: t.get("Value", "") for t in description.get("Tags", [])}
        return None

    def _principal(self, arn: str) -> Mapping[str, str]:
        resource = arn.split(":", 5)[5]
        kind, _, path_and_name = resource.partition("/")
        name = path_and_name.rsplit("/", 1)[-1]
        tags: dict[str, str] = {}
        marker: str | None = None
        while True:
            paging = {"Marker": marker} if marker else {}
            if kind == "role":
                page = self._iam.list_role_tags(RoleName=name, **paging)
            else:
                page = self._iam.list_user_tags(UserName=name, **paging)
            tags.update({t["Key"]: t.get("Value", "") for t in page.get("Tags", [])})
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                return tags


class StaticTargetTags:
    """TargetTagPort from a dict (unit tests, tools): resource ARN -> tags; an unknown ARN does not exist."""

    def __init__(self, tags: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.tags: dict[str, dict[str, str]] = {arn: dict(t) for arn, t in (tags or {}).items()}
        self.reads = 0

    def tags_of(self, resource_arn: str) -> Mapping[str, str] | None:
        self.reads += 1
        found = self.tags.get(resource_arn)
        return None if found is None else dict(found)
