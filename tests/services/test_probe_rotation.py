"""The endpoint prober's runs start at a different point of the id order each time and wrap around, so a run
that runs out of time (dead endpoints cost their timeouts) never starves the same endpoints twice."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from certwright.domain.association import Association, Endpoint
from certwright.services.probes import ProbeService, rotation_point

from tests.contract.builders import association
from tests.fakes import FakeStore, FixedClock, Memory, runtime


class Recording(ProbeService):
    """The real run loop; each probe only recorded (the probe itself is tested in tests/probes)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.seen: list[str] = []

    def probe(self, association_id: str) -> Association | None:
        self.seen.append(association_id)
        return None


def _store(count: int) -> FakeStore:
    memory = Memory()
    for n in range(count):
        a = replace(association(f"assoc-{n * 0x1111 % 0x10000:04x}"), endpoint=Endpoint("10.0.0.7", 443))
        memory.associations[a.id] = a
    return FakeStore(memory)


def test_one_run_with_time_probes_every_endpoint_once() -> None:
    store = _store(12)
    service = Recording(store, None, runtime(FixedClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))), 5)
    report = service.run()
    assert sorted(service.seen) == sorted(store.memory.associations) and len(service.seen) == 12
    assert report["complete"] and report["skipped"] == 12


def test_runs_cut_short_still_reach_every_endpoint_over_time() -> None:
    store = _store(16)
    clock = FixedClock(datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    reached: set[str] = set()
    starts = set()
    for _ in range(40):  # one run every 15 minutes, each with time for 3 probes only
        service = Recording(store, None, runtime(clock), 5)
        budget = iter([True, True, True])
        report = service.run(has_time=lambda budget=budget: next(budget, False))
        assert not report["complete"] and len(service.seen) == 3
        reached.update(service.seen)
        starts.add(service.seen[0])
        clock.advance(minutes=15)
    assert reached == set(store.memory.associations)
    assert len(starts) > 4, "runs start at different points"


def test_the_rotation_point_changes_with_the_minute_and_is_an_association_id() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    points = {rotation_point(now + timedelta(minutes=m)) for m in range(30)}
    assert len(points) > 20 and all(p.startswith("assoc-") for p in points)
