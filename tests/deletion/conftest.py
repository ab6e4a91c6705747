"""Deletion tests inject faults at botocore's HTTP layer, as the lifecycle tests do (an unarmed hook does nothing)."""

from tests.lifecycle.faults import container_with_faults, faults  # noqa: F401 - fixtures
