"""AuditLog contract: append-only, newest first, paged by a token of the resource's own listing."""

from __future__ import annotations

import pytest
from certwright.errors import InvalidInputError

from tests.contract import builders as b
from tests.contract.conftest import Ports


def test_records_read_newest_first_and_page(ports: Ports) -> None:
    store = ports.store
    for i in range(5):
        store.record(b.audit("res-1", f"A{i}", n=i))
    store.record(b.audit("res-2", "Other"))
    assert [r.action for r in store.list_for("res-1", 3)] == ["A4", "A3", "A2"]
    first = store.audit_page("res-1", 2, None)
    second = store.audit_page("res-1", 2, first.next_token)
    third = store.audit_page("res-1", 2, second.next_token)
    assert [r.action for r in first.items + second.items + third.items] == ["A4", "A3", "A2", "A1", "A0"]
    assert third.next_token is None
    with pytest.raises(InvalidInputError) as err:
        store.audit_page("res-2", 2, first.next_token)
    assert err.value.code == "InvalidPageToken"
