"""Test helpers: a target's owner consents to a certificate the way a real one would, by tagging the target.

The tag is set in the embedded AWS with the target's own service (ELBv2 AddTags, ACM AddTagsToCertificate,
IAM TagRole/TagUser; a host's role or user is created first when the test never made one).
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from certwright.services.consent import CONSENT_TAG, consented_certificates


def _kind(arn: str) -> str:
    service, resource = arn.split(":")[2], arn.split(":", 5)[5]
    if service == "elasticloadbalancing":
        return "listener"
    if service == "acm":
        return "acm"
    return resource.split("/", 1)[0]  # role | user


def tags_of(session: Any, arn: str) -> dict[str, str]:
    kind = _kind(arn)
    if kind == "listener":
        (description,) = session.client("elbv2").describe_tags(ResourceArns=[arn])["TagDescriptions"]
        return {t["Key"]: t["Value"] for t in description["Tags"]}
    if kind == "acm":
        return {
            t["Key"]: t.get("Value", "")
            for t in session.client("acm").list_tags_for_certificate(CertificateArn=arn)["Tags"]
        }
    iam, name = session.client("iam"), arn.rsplit("/", 1)[-1]
    try:
        if kind == "role":
            return {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
        return {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=name)["Tags"]}
    except ClientError:
        return {}


def _set(session: Any, arn: str, value: str) -> None:
    kind = _kind(arn)
    if kind == "listener":
        elbv2 = session.client("elbv2")
        if value:
            elbv2.add_tags(ResourceArns=[arn], Tags=[{"Key": CONSENT_TAG, "Value": value}])
        else:
            elbv2.remove_tags(ResourceArns=[arn], TagKeys=[CONSENT_TAG])
        return
    if kind == "acm":
        acm = session.client("acm")
        if value:
            acm.add_tags_to_certificate(CertificateArn=arn, Tags=[{"Key": CONSENT_TAG, "Value": value}])
        else:
            acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": CONSENT_TAG}])
        return
    iam, name = session.client("iam"), arn.rsplit("/", 1)[-1]
    path = "/" + arn.split(":", 5)[5].split("/", 1)[1].rsplit("/", 1)[0] + "/" if arn.count("/") > 1 else "/"
    if kind == "role":
        try:
            iam.get_role(RoleName=name)
        except ClientError:
            iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument="{}")
        if value:
            iam.tag_role(RoleName=name, Tags=[{"Key": CONSENT_TAG, "Value": value}])
        else:
            iam.untag_role(RoleName=name, TagKeys=[CONSENT_TAG])
        return
    try:
        iam.get_user(UserName=name)
    except ClientError:
        iam.create_user(UserName=name, Path=path)
    if value:
        iam.tag_user(UserName=name, Tags=[{"Key": CONSENT_TAG, "Value": value}])
    else:
        iam.untag_user(UserName=name, TagKeys=[CONSENT_TAG])


def consent(session: Any | None, target_arn: str, certificate_id: str) -> None:
    """The target's owner adds `certificate_id` to the target's certwright:consent tag (session None: the
    in-process embedded AWS of `mock_aws`)."""
    session = session or boto3.Session(region_name="us-east-1")
    ids = sorted(consented_certificates(tags_of(session, target_arn)) | {certificate_id})
    _set(session, target_arn, " ".join(ids))


def withdraw(session: Any | None, target_arn: str, certificate_id: str | None = None) -> None:
    """The owner takes `certificate_id` (or every certificate) out of the target's consent tag."""
    session = session or boto3.Session(region_name="us-east-1")
    remaining = (
        sorted(consented_certificates(tags_of(session, target_arn)) - {certificate_id}) if certificate_id else []
    )
    _set(session, target_arn, " ".join(remaining))
