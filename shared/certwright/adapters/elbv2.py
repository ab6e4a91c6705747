"""Elastic Load Balancing v2 listeners: set the default certificate, add or remove SNI certificates, read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from certwright.adapters.aws_errors import translate
from certwright.errors import NotFoundError, TransientError


@dataclass(frozen=True)
class ListenerCertificates:
    default: str | None
    sni: tuple[str, ...]


class Elbv2Listeners:
    def __init__(self, elbv2: Any) -> None:
        self._elbv2 = elbv2

    def _call(self, action: str, **arguments: Any) -> Any:
        try:
            return getattr(self._elbv2, action)(**arguments)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "")
            if code == "CertificateNotFound":
                # ACM imports take a moment to be visible to ELB; the caller retries.
                raise TransientError(
                    f"ELBv2 {action}: certificate not visible yet", code="CertificateNotFound"
                ) from err
            if code == "ListenerNotFound":
                # describe_listeners names its listener in ListenerArns, the other calls in ListenerArn.
                arns = arguments.get("ListenerArns") or [arguments.get("ListenerArn")]
                raise NotFoundError(f"listener {', '.join(str(a) for a in arns)} does not exist") from err
            raise translate(err, f"ELBv2 {action}") from err
        except BotoCoreError as err:
            raise translate(err, f"ELBv2 {action}") from err

    def certificates(self, listener_arn: str) -> ListenerCertificates:
        listeners = self._call("describe_listeners", ListenerArns=[listener_arn])["Listeners"]
        if not listeners:
            raise NotFoundError(f"listener {listener_arn} does not exist")
        default = (listeners[0].get("Certificates") or [{}])[0].get("CertificateArn")
        pages = self._call("describe_listener_certificates", ListenerArn=listener_arn)["Certificates"]
        sni = tuple(c["CertificateArn"] for c in pages if not c.get("IsDefault") and c["CertificateArn"] != default)
        return ListenerCertificates(default, sni)

    def set_default(self, listener_arn: str, certificate_arn: str) -> None:
        self._call("modify_listener", ListenerArn=listener_arn, Certificates=[{"CertificateArn": certificate_arn}])

    def add_sni(self, listener_arn: str, certificate_arn: str) -> None:
        self._call(
            "add_listener_certificates", ListenerArn=listener_arn, Certificates=[{"CertificateArn": certificate_arn}]
        )

    def remove_sni(self, listener_arn: str, certificate_arn: str) -> None:
        self._call(
            "remove_listener_certificates", ListenerArn=listener_arn, Certificates=[{"CertificateArn": certificate_arn}]
        )
