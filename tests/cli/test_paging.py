"""List commands follow nextPage to the end, or stop at --limit with the token to go on from."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from certwright_client.cli import EXIT_API_FAILED, main

from tests.cli.conftest import Cli, stub_api


def listed(out: str) -> list[str]:
    return [item["id"] for item in json.loads(out)["items"]]


def test_lists_on_the_local_runtime_follow_every_page(cli: Cli) -> None:
    root = cli.ok("--field", "id", "ca", "create", "--name", "paging-root", "--cn", "Paging Root")
    made = {
        cli.ok("--field", "id", "cert", "create", "--name", f"p{i}", "--issuer", root, "--cn", f"p{i}.example")
        for i in range(5)
    }
    everything = listed(cli.ok("cert", "list", "--page-size", "2"))
    assert set(everything) == made and len(everything) == 5, "three pages, nothing lost or repeated"
    assert set(listed(cli.ok("cert", "list"))) == made

    first = json.loads(cli.ok("cert", "list", "--limit", "3", "--page-size", "2"))
    assert len(first["items"]) == 3 and first["nextPage"]
    rest = listed(cli.ok("cert", "list", "--page-token", first["nextPage"], "--page-size", "2"))
    assert [i["id"] for i in first["items"]] + rest == everything

    for cert in made:
        cli.ok("assoc", "create", "--cert", cert, "--resource", "arn:aws:iam::123456789012:role/paging-host")
    assert len(listed(cli.ok("assoc", "list", "--page-size", "2"))) == 5
    one = sorted(made)[0]
    assert len(listed(cli.ok("assoc", "list", "--cert", one, "--page-size", "1"))) == 1
    cas = listed(cli.ok("ca", "list", "--page-size", "1"))
    assert root in cas
    audit = json.loads(cli.ok("audit", "list", root, "--page-size", "1"))
    assert [r["action"] for r in audit["items"]][-1] == "CreateCertificateAuthority"


def pages(total: int, size: int = 2) -> Any:
    """A stand-in API that serves `total` items in pages of `size`, tokens "p1", "p2", ..."""

    def answer(path: str) -> tuple[int, str, bytes]:
        query = parse_qs(urlsplit(path).query)
        start = int(query.get("page", ["p0"])[0][1:])
        limit = min(size, int(query.get("limit", ["50"])[0]))
        items = [{"id": f"cert-{n}"} for n in range(start, min(start + limit, total))]
        token = f"p{start + limit}" if start + limit < total else None
        return 200, "application/json", json.dumps({"items": items, "nextPage": token}).encode()

    return answer


def test_cert_list_does_not_stop_at_the_first_page(capsys: pytest.CaptureFixture[str]) -> None:
    """With no options at all: the API's pages are smaller than the CLI asks for, and every one is fetched."""
    with stub_api(pages(7)) as (url, requested):
        assert main(["--api", url, "cert", "list"]) == 0
    assert listed(capsys.readouterr().out) == [f"cert-{n}" for n in range(7)]
    assert len(requested) == 4

    with stub_api(pages(7)) as (url, requested):
        assert main(["--api", url, "cert", "list", "--limit", "3"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert (listed(json.dumps(answer)), answer["nextPage"]) == (["cert-0", "cert-1", "cert-2"], "p3")
    assert "limit=1" in requested[-1], "never asks for more than --limit still wants"


def test_a_server_that_repeats_a_page_token_is_an_error_not_a_loop(capsys: pytest.CaptureFixture[str]) -> None:
    def answer(path: str) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps({"items": [{"id": "x"}], "nextPage": "same"}).encode()

    with stub_api(answer) as (url, requested):
        assert main(["--api", url, "ca-bundle", "list"]) == EXIT_API_FAILED
    assert capsys.readouterr().err.startswith("error: PagingLoop: ")
    assert len(requested) == 2
