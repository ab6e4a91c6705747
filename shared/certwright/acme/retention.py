"""When the table may drop an ACME row on its own (its `ttl` attribute): the rows nothing else depends on.

DynamoDB's TTL deletes a row some time (up to days) after the instant written here, so nothing may depend on the
deletion: a nonce stays refused after its expiry by the conditional check on its own `expires_at`. Only rows whose
loss loses no certificate, version, audit record or account get an instant: every nonce (a used one is already
deleted; an unused one is refused after it expires) and the orders and authorizations that can no longer lead to
a certificate, some time after they expire. A valid order (it names its certificate, `cert/{orderId}`), an order
being finalized and a valid authorization keep no instant and stay.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from certwright.acme.resources import Authorization, Order, Status

# After its expiry a nonce is refused anyway; the margin only keeps the row past any clock skew.
NONCE_MARGIN = timedelta(days=1)
# An abandoned order or authorization stays readable (by its client, by an operator) this long after it expires.
ABANDONED_RETENTION = timedelta(days=30)

_ORDER_DROPPED = frozenset({Status.PENDING, Status.READY, Status.INVALID})
_AUTHORIZATION_KEPT = frozenset({Status.VALID})


def epoch(at: datetime) -> int:
    """The instant as DynamoDB's TTL reads it: whole seconds since the epoch."""
    return int(at.timestamp())


def nonce_drop_at(expires: datetime) -> int:
    return epoch(expires + NONCE_MARGIN)


def order_drop_at(order: Order) -> int | None:
    """None: the order stays (valid, or being finalized)."""
    return epoch(order.expires + ABANDONED_RETENTION) if order.status in _ORDER_DROPPED else None


def authorization_drop_at(authorization: Authorization) -> int | None:
    """None: the authorization stays (valid: the order it proved may have issued a certificate)."""
    if authorization.status in _AUTHORIZATION_KEPT:
        return None
    return epoch(authorization.expires + ABANDONED_RETENTION)
