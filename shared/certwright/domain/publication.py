"""Where relying parties find a CA's CRLs and certificate: URL templates and the S3 object keys behind them; pure.

Certificates carry the CRL distribution point of their partition and the CA-issuers URL of their issuer,
both made from templates with `{caId}` (and `{partition}` for CRLs). The objects live at fixed keys
in the PKI bucket; the templates say how the outside world reaches those keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


def crl_object_key(ca_id: str, partition: int) -> str:
    return f"crl/{ca_id}/{partition}.crl"


def ca_certificate_object_key(ca_id: str) -> str:
    return f"ca/{ca_id}.cer"


@dataclass(frozen=True)
class PublicationUrls:
    """The URL templates ('' = not published: issued certificates then carry no CDP/AIA)."""

    crl_template: str = ""
    ca_issuers_template: str = ""
    partition_size: int = 10_000

    def __post_init__(self) -> None:
        if self.crl_template and ("{caId}" not in self.crl_template or "{partition}" not in self.crl_template):
            raise ValueError("the CRL URL template needs {caId} and {partition}")
        if self.ca_issuers_template and "{caId}" not in self.ca_issuers_template:
            raise ValueError("the CA-issuers URL template needs {caId}")
        if self.partition_size < 1:
            raise ValueError("the CRL partition size must be at least 1")

    @classmethod
    def under(cls, base_url: str, partition_size: int = 10_000) -> PublicationUrls:
        """Templates for objects served straight from `base_url` (the bucket's URL)."""
        base = base_url.rstrip("/")
        return cls(f"{base}/crl/{{caId}}/{{partition}}.crl", f"{base}/ca/{{caId}}.cer", partition_size)

    def crl_url(self, ca_id: str, partition: int) -> str | None:
        if not self.crl_template:
            return None
        return self.crl_template.replace("{caId}", ca_id).replace("{partition}", str(partition))

    def ca_issuers_url(self, ca_id: str) -> str | None:
        if not self.ca_issuers_template:
            return None
        return self.ca_issuers_template.replace("{caId}", ca_id)


@dataclass(frozen=True)
class StoredObject:
    """What a HEAD of a published object tells: the version to name in a conditional put, and its metadata."""

    etag: str
    metadata: Mapping[str, str] = field(default_factory=dict)
