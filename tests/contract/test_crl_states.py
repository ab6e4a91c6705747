"""CrlStates contract: version-guarded states, due by the policy, retired CAs leave the due list."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from certwright.domain.crl import CrlState
from certwright.errors import ConflictError

from tests.contract import builders as b
from tests.contract.conftest import POLICY, Ports


def test_a_state_is_saved_once_new_then_only_at_the_version_read(ports: Ports) -> None:
    crl = ports.crl
    saved = crl.save(CrlState("ca-1", 0, "ca", this_update=b.NOW), b.NOW)
    assert saved.row_version == 1 and crl.get("ca-1", 0) == saved
    with pytest.raises(ConflictError) as err:
        crl.save(CrlState("ca-1", 0, "again"), b.NOW)
    assert err.value.code == "ConcurrentModification"
    claimed = crl.save(saved.claimed(), b.NOW)
    assert claimed.last_crl_number == 1 and claimed.row_version == 2
    with pytest.raises(ConflictError):
        crl.save(saved.claimed(), b.NOW)
    assert crl.get("ca-1", 1) is None


def test_states_are_due_at_their_refresh_point_or_after_the_batch_delay(ports: Ports) -> None:
    crl = ports.crl
    crl.save(CrlState("ca-1", 0, this_update=b.NOW), b.NOW)
    dirty = crl.save(CrlState("ca-2", 0, this_update=b.NOW, dirty_since=b.NOW), b.NOW)
    refresh = POLICY.refresh_at(b.NOW)
    assert crl.due(b.NOW, 10) == []
    assert [s.ca_id for s in crl.due(b.NOW + POLICY.batch_delay, 10)] == ["ca-2"]
    assert {s.ca_id for s in crl.due(refresh, 10)} == {"ca-1", "ca-2"}
    assert len(crl.due(refresh, 1)) == 1
    crl.save(replace(dirty, dirty_since=None), b.NOW)
    assert [s.ca_id for s in crl.due(b.NOW + POLICY.batch_delay, 10)] == []


def test_retiring_an_authority_takes_its_partitions_out_of_the_due_list(ports: Ports) -> None:
    crl = ports.crl
    for partition in (0, 1):
        crl.save(CrlState("ca-1", partition), b.NOW)
    crl.save(CrlState("ca-2", 0), b.NOW)
    assert [(s.ca_id, s.partition) for s in crl.of_authority("ca-1")] == [("ca-1", 0), ("ca-1", 1)]
    assert crl.authorities_with_crl() == {"ca-1", "ca-2"}
    crl.retire("ca-1", b.NOW)
    assert [s.ca_id for s in crl.due(b.NOW + timedelta(days=1), 10)] == ["ca-2"]
    assert len(crl.of_authority("ca-1")) == 2  # kept as history
    state = crl.get("ca-1", 0)
    assert state is not None
    crl.save(state, b.NOW)  # a later save (read after the retirement) makes it due again
    assert {s.ca_id for s in crl.due(b.NOW + timedelta(days=1), 10)} == {"ca-1", "ca-2"}


def test_the_issued_count_is_the_issuance_counter(ports: Ports) -> None:
    assert ports.crl.issued_count("ca-1") == 0  # type: ignore[attr-defined]
    ports.store.next_issuance_index("ca-1")
    ports.store.next_issuance_index("ca-1")
    assert ports.crl.issued_count("ca-1") == 2  # type: ignore[attr-defined]
