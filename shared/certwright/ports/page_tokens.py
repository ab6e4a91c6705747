"""The page-token port: the API edge seals the token a listing returns for the caller it answered (and the route),
so a token reveals nothing of the rows behind it and only its caller can use it, on that listing."""

from __future__ import annotations

from typing import Protocol


class PageTokens(Protocol):
    def seal(self, token: str, caller: str) -> str:
        """An opaque, URL-safe token standing for `token`, usable by `caller` only.
        Raises TransientError or DependencyError when the sealing key cannot be had."""
        ...

    def open(self, sealed: str, caller: str) -> str:
        """The token `sealed` stands for. Raises InvalidInputError(InvalidPageToken) for anything this service did
        not seal for `caller` (tampered, truncated, another caller's, another stack's)."""
        ...
