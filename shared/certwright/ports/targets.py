"""The target ports: the AWS resources certificates are deployed to (listeners, ACM) and their owners' tags."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class ListenerView(Protocol):
    """A listener's certificates as read."""

    @property
    def default(self) -> str | None:
        """The default certificate's ARN (None: the listener has none)."""
        ...

    @property
    def sni(self) -> tuple[str, ...]:
        """The SNI certificates' ARNs, the default excluded."""
        ...


class ListenerPort(Protocol):
    """Load-balancer listeners (ELBv2): the default certificate and the SNI certificates.

    Every method raises NotFoundError for an unknown listener, TransientError when ELB throttles or does not see
    a fresh certificate yet, and DependencyError otherwise."""

    def certificates(self, listener_arn: str) -> ListenerView:
        """The listener's default and SNI certificate ARNs."""
        ...

    def set_default(self, listener_arn: str, certificate_arn: str) -> None:
        """Make `certificate_arn` the listener's default certificate."""
        ...

    def add_sni(self, listener_arn: str, certificate_arn: str) -> None:
        """Add `certificate_arn` to the listener's SNI list (already there: no error)."""
        ...

    def remove_sni(self, listener_arn: str, certificate_arn: str) -> None:
        """Remove `certificate_arn` from the SNI list (not there: no error)."""
        ...


class AcmPort(Protocol):
    """Certificates as load balancers and API gateways consume them (ACM).

    Every method raises TransientError when ACM throttles and DependencyError when it refuses."""

    def import_certificate(
        self,
        certificate_pem: str,
        private_key_pem: str,
        chain_pem: str,
        tags: dict[str, str],
        existing_arn: str | None = None,
    ) -> str:
        """Import (or re-import over `existing_arn`); returns the ARN. NotFoundError if `existing_arn` is gone."""
        ...

    def serial_of(self, arn: str) -> str | None:
        """The serial of the certificate at `arn`, or None if there is none."""
        ...

    def tagged(self, tags: dict[str, str]) -> list[str]:
        """ARNs of the certificates carrying every one of `tags`."""
        ...

    def delete(self, arn: str) -> bool:
        """Delete the certificate unless something still uses it: True when it is gone (or was), False when ACM
        refuses because it is in use (it stays)."""
        ...


class TargetTagPort(Protocol):
    """The tags on an association's target (ELBv2 listener, ACM certificate, IAM role or user): its owner's word."""

    def tags_of(self, resource_arn: str) -> Mapping[str, str] | None:
        """The target's tags; None when the target does not exist. TransientError/DependencyError on failure."""
        ...
