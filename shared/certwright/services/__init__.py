"""Use cases: each service validates fully, then claims, signs and writes; they talk to AWS only through ports."""
