"""Certwright: a private CA and certificate-lifecycle service; this package is the Lambda layer."""

__version__ = "0.1.0"
