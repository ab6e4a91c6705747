"""Lists show only what the caller may read, and paging still reaches every visible item."""

from __future__ import annotations

from tests.authz.conftest import OTHER, OWNER, World, created
from tests.conftest import ApiClient, root_ca_body


def ids(api: ApiClient, path: str, caller: str, limit: int = 100) -> list[str]:
    found: list[str] = []
    token: str | None = None
    while True:
        answer = api.get(f"{path}?limit={limit}" + (f"&page={token}" if token else ""), caller=caller)
        assert answer.status == 200, answer.body
        found += [item["id"] for item in answer.body["items"]]
        token = answer.body["nextPage"]
        if not token:
            return found


def test_lists_show_only_readable_resources(api: ApiClient, world: World) -> None:
    b_root = created(api.post("/certificate-authorities", root_ca_body(name="b-root"), caller=OTHER))["id"]
    assert set(ids(api, "/certificate-authorities", OWNER)) == {world.root, world.issuing}
    assert ids(api, "/certificate-authorities", OTHER) == [b_root]
    assert set(ids(api, "/certificate-authorities", api.caller)) == {world.root, world.issuing, b_root}
    assert ids(api, "/certificates", OTHER) == []
    assert ids(api, "/ca-bundles", OTHER) == []
    assert ids(api, "/associations", OTHER) == []
    host = world.callers["host"]
    assert ids(api, "/certificates", host) == [world.certificate]
    assert ids(api, "/associations", host) == [world.host_association]


def test_paging_through_a_filtered_list_reaches_everything_visible(api: ApiClient, world: World) -> None:
    mine = [
        created(api.post("/certificate-authorities", root_ca_body(name=f"b{i}"), caller=OTHER))["id"] for i in range(3)
    ]
    # Pages of one: some pages are empty (A's CAs come first) but the token goes on.
    assert sorted(ids(api, "/certificate-authorities", OTHER, limit=1)) == sorted(mine)
    assert len(ids(api, "/certificate-authorities", OWNER, limit=2)) == 2
