"""Per-CA CRL settings (OCI's crlSettings): whether the CA's CRLs are published, for how long each is valid, and
the custom URLs (with a CA-version placeholder) written into what the CA issues; pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from certwright.domain.durations import Duration
from certwright.domain.revocation import CrlPolicy
from certwright.errors import InvalidInputError

MIN_VALIDITY = timedelta(hours=1)
MAX_VALIDITY = timedelta(days=90)
MAX_CUSTOM_URLS = 5
MAX_URL_LENGTH = 1024
# The placeholders a custom URL may carry: the issuing CA's version number ({caVersion}; OCI's bare {} too) and id.
PLACEHOLDERS = ("{caVersion}", "{}", "{caId}")
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class _Keep:
    """The marker of a PATCH field left out (where None means "back to the default")."""


KEEP = _Keep()


@dataclass(frozen=True)
class CrlSettings:
    enabled: bool = True
    # None: the service's CRL validity (Settings.crl_validity).
    validity: Duration | None = None
    custom_urls: tuple[str, ...] = ()

    @classmethod
    def parse(
        cls, *, enabled: bool = True, validity_duration: str | None = None, custom_urls: Iterable[str] = ()
    ) -> CrlSettings:
        validity = None
        if validity_duration is not None:
            validity = Duration.parse(validity_duration, field="crlSettings.validityDuration")
            if validity.months or not MIN_VALIDITY <= validity.exact <= MAX_VALIDITY:
                raise InvalidInputError(
                    "crlSettings.validityDuration must be from PT1H to P90D (days, hours, minutes)",
                    code="InvalidCrlSettings",
                )
        urls = tuple(custom_urls)
        if len(urls) > MAX_CUSTOM_URLS:
            raise InvalidInputError(
                f"crlSettings.customFormattedUrls takes at most {MAX_CUSTOM_URLS} URLs", code="InvalidCrlSettings"
            )
        for url in urls:
            _check_url(url)
        if len(set(urls)) != len(urls):
            raise InvalidInputError("crlSettings.customFormattedUrls repeats a URL", code="InvalidCrlSettings")
        return cls(enabled=enabled, validity=validity, custom_urls=urls)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> CrlSettings:
        if not raw:
            return cls()
        validity = raw.get("validityDuration")
        # Stored values were checked when written; read them back as they are.
        return cls(
            enabled=bool(raw.get("enabled", True)),
            validity=Duration.parse(validity) if validity else None,
            custom_urls=tuple(raw.get("customFormattedUrls") or ()),
        )

    def updated(
        self,
        *,
        enabled: bool | None = None,
        validity_duration: str | _Keep | None = KEEP,
        custom_urls: Iterable[str] | None = None,
    ) -> CrlSettings:
        """These settings with the named fields changed (a PATCH), checked as at create; None keeps a field, and
        `validity_duration` KEEP keeps the validity while None returns it to the service's."""
        validity = (self.validity.text if self.validity else None) if validity_duration is KEEP else validity_duration
        assert not isinstance(validity, _Keep)
        return CrlSettings.parse(
            enabled=self.enabled if enabled is None else enabled,
            validity_duration=validity,
            custom_urls=self.custom_urls if custom_urls is None else custom_urls,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "validityDuration": self.validity.text if self.validity else None,
            "customFormattedUrls": list(self.custom_urls),
        }

    def policy(self, default: CrlPolicy) -> CrlPolicy:
        """The service's policy with this CA's validity (refreshed at the latest halfway through it)."""
        if self.validity is None:
            return default
        validity = self.validity.exact
        return replace(default, validity=validity, refresh_before=min(default.refresh_before, validity / 2))

    def distribution_urls(self, ca_id: str, ca_version: int) -> tuple[str, ...]:
        """The custom URLs with the placeholders filled in; none when CRLs are disabled."""
        if not self.enabled:
            return ()
        return tuple(
            url.replace("{caVersion}", str(ca_version)).replace("{}", str(ca_version)).replace("{caId}", ca_id)
            for url in self.custom_urls
        )


def _check_url(url: str) -> None:
    bad = InvalidInputError(
        f"crlSettings.customFormattedUrls: {url[:80]!r} must be an http(s) URL of at most {MAX_URL_LENGTH} "
        f"characters whose only placeholders are {', '.join(PLACEHOLDERS)}",
        code="InvalidCrlSettings",
    )
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH or not url.isascii():
        raise bad
    if any(p not in PLACEHOLDERS for p in _PLACEHOLDER.findall(url)):
        raise bad
    filled = _PLACEHOLDER.sub("1", url)
    if "{" in filled or "}" in filled or any(c.isspace() or ord(c) < 0x21 for c in filled):
        raise bad
    parts = urlsplit(filled)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad
