"""Which listed resources the current API caller may read: a per-request predicate the list paths apply.

The API's enforcement sets it for the request (certwright.api.permissions); internal callers (sweep,
deployer, tests of services) run without one and see everything. Lists filter each page as read, so a
page may hold fewer items than `limit` — even none — while `nextPage` is set: follow it until it is null.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from certwright.ports import Page

T = TypeVar("T")
Predicate = Callable[[object], bool]

_current: ContextVar[Predicate | None] = ContextVar("certwright_visibility", default=None)


@contextmanager
def scope(predicate: Predicate) -> Iterator[None]:
    token = _current.set(predicate)
    try:
        yield
    finally:
        _current.reset(token)


def visible(item: object) -> bool:
    predicate = _current.get()
    return True if predicate is None else predicate(item)


def filter_page(page: Page[T]) -> Page[T]:
    """`page` with only what the current caller may read; the token is kept, so paging goes on."""
    if _current.get() is None:
        return page
    return Page([item for item in page.items if visible(item)], page.next_token)
