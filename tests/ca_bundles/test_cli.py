"""`certwright ca-bundle ...` and `assoc create --ca-bundle` send the requests the API expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from certwright_client.cli import Client, build_parser, run


class Recorder(Client):
    def __init__(self, answer: Any = None) -> None:
        super().__init__("http://local", None, False)
        self.calls: list[tuple[str, str, Any, Any]] = []
        self.answer = answer

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        self.calls.append((method, path, body, query))
        return 200, self.answer


def _run(argv: list[str], answer: Any = None) -> tuple[Recorder, Any]:
    client = Recorder(answer)
    _, body = run(build_parser().parse_args(argv), client)
    return client, body


def test_ca_bundle_commands(tmp_path: Path) -> None:
    pem = tmp_path / "partners.pem"
    pem.write_text("PEM")
    client, _ = _run(["ca-bundle", "create", "--name", "t", "--pem", str(pem), "--ca", "ca-1", "--no-chain"])
    assert client.calls == [
        (
            "POST",
            "/ca-bundles",
            {
                "name": "t",
                "certificateAuthorityIds": ["ca-1"],
                "caBundlePem": "PEM",
                "includeCertificateAuthorityChain": False,
            },
            None,
        )
    ]
    assert _run(["ca-bundle", "list"])[0].calls[0][:2] == ("GET", "/ca-bundles")
    assert _run(["ca-bundle", "versions", "b-1"])[0].calls[0][:2] == ("GET", "/ca-bundles/b-1/versions")
    out = tmp_path / "bundle.pem"
    client, body = _run(
        ["ca-bundle", "bundle", "b-1", "--stage", "PREVIOUS", "--out", str(out)],
        {"caBundlePem": "X", "versionNumber": 1},
    )
    assert client.calls[0][1:] == ("/ca-bundles/b-1/bundle", None, {"stage": "PREVIOUS", "versionNumber": None})
    assert out.read_text() == "X" and body == {"versionNumber": 1, "writtenTo": str(out)}


def test_assoc_create_names_a_bundle_or_a_certificate() -> None:
    client, _ = _run(["assoc", "create", "--ca-bundle", "b-1", "--resource", "arn:aws:iam::1:role/r"])
    assert client.calls[0][2] == {"caBundleId": "b-1", "associatedResourceId": "arn:aws:iam::1:role/r", "hostnames": []}
    client, _ = _run(["assoc", "create", "--cert", "c-1", "--resource", "arn:aws:iam::1:role/r"])
    assert client.calls[0][2]["certificateId"] == "c-1"
