"""Algorithm tests run on the service wired with CRL URLs (tests/crl/conftest.py), so CRLs can be read back."""

from __future__ import annotations

from tests.crl.conftest import bucket, container, crl_settings

__all__ = ["bucket", "container", "crl_settings"]
