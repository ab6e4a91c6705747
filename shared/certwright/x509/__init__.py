"""Domain values plus a signing key in, X.509 objects out; uses cryptography only (no AWS, no clock)."""
