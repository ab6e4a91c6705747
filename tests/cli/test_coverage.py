"""Every API route has a `certwright` command, and every command sends the request its arguments say (stub transport)."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

import pytest
from certwright.api.permissions import RULES
from certwright_client.cli import Client, build_parser, run

# Routes that are not a user's command, each with why.
NOT_COMMANDS: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "the API's own description, for tools; not a resource operation",
}
# Routes the inventory branch adds in parallel (issue 14 item 2, tags); their commands exist already.
AWAITING_ROUTES = {("PUT", "/certificate-authorities/{ca_id}/tags"), ("PUT", "/ca-bundles/{bundle_id}/tags")}
# Commands that are not one API call: they run their own program (agent, diagnose, console: merged from its
# branch) or print a script.
NOT_API_CALLS = {("agent",), ("diagnose",), ("console",), ("completion",)}


class Recorder(Client):
    """Answers every request with 200 and `answer`, and remembers (method, path, body, query, headers)."""

    def __init__(self, answer: Any = None) -> None:
        super().__init__("http://local", None, False)
        self.calls: list[tuple[str, str, Any, Any]] = []
        self.headers: list[dict[str, str] | None] = []
        self.answer = answer if answer is not None else {"items": []}

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, query: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        self.calls.append((method, path, body, query))
        return 200, self.answer

    def exchange(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        self.headers.append(extra_headers)
        status, answer = self.call(method, path, body, query)
        return status, {}, answer


PAGE = {"page": None, "limit": 100}
# argv → the one request it sends: (method, path, body, query).
MAPPING: list[tuple[list[str], tuple[str, str, Any, Any]]] = [
    # certificate authorities
    (
        ["ca", "create", "--name", "r", "--cn", "Root", "--path-length", "1", "--tag", "team=pay"],
        (
            "POST",
            "/certificate-authorities",
            {
                "name": "r",
                "configType": "ROOT_CA_GENERATED_INTERNALLY",
                "subject": {"commonName": "Root"},
                "keyAlgorithm": "ECDSA_P256",
                "rules": {"pathLengthConstraint": 1},
                "freeformTags": {"team": "pay"},
            },
            None,
        ),
    ),
    (["ca", "list"], ("GET", "/certificate-authorities", None, PAGE)),
    (["ca", "get", "ca-1"], ("GET", "/certificate-authorities/ca-1", None, None)),
    (["ca", "versions", "ca-1"], ("GET", "/certificate-authorities/ca-1/versions", None, {"page": None})),
    (
        ["ca", "renew", "ca-1", "--validity", "P5Y"],
        ("POST", "/certificate-authorities/ca-1/versions", {"validityDuration": "P5Y"}, None),
    ),
    (
        ["ca", "revoke", "ca-1", "2", "--reason", "KEY_COMPROMISE"],
        (
            "POST",
            "/certificate-authorities/ca-1/versions/2/actions/revoke",
            {"revocationReason": "KEY_COMPROMISE"},
            None,
        ),
    ),
    (
        ["ca", "renew", "ca-1", "--pending"],
        ("POST", "/certificate-authorities/ca-1/versions", {"stage": "PENDING"}, None),
    ),
    (["ca", "bundle", "ca-1"], ("GET", "/certificate-authorities/ca-1/bundle", None, None)),
    (
        ["ca", "schedule-deletion", "ca-1", "--at", "2027-01-01T00:00:00Z"],
        (
            "POST",
            "/certificate-authorities/ca-1/actions/schedule-deletion",
            {"timeOfDeletion": "2027-01-01T00:00:00Z"},
            None,
        ),
    ),
    (["ca", "cancel-deletion", "ca-1"], ("POST", "/certificate-authorities/ca-1/actions/cancel-deletion", {}, None)),
    (
        ["ca", "tag", "ca-1", "--tag", "env=prod", "--tag", "team="],
        ("PUT", "/certificate-authorities/ca-1/tags", {"freeformTags": {"env": "prod", "team": ""}}, None),
    ),
    (
        [
            "ca",
            "update",
            "ca-1",
            "--name",
            "n",
            "--max-leaf-validity",
            "P30D",
            "--max-ca-validity",
            "none",
            "--no-crl",
            "--crl-validity",
            "P1D",
            "--crl-url",
            "http://crl.example/a.crl",
        ],
        (
            "PATCH",
            "/certificate-authorities/ca-1",
            {
                "name": "n",
                "rules": {
                    "leafCertificateMaxValidityDuration": "P30D",
                    "certificateAuthorityMaxValidityDuration": None,
                },
                "crlSettings": {
                    "enabled": False,
                    "validityDuration": "P1D",
                    "customFormattedUrls": ["http://crl.example/a.crl"],
                },
            },
            None,
        ),
    ),
    (["ca", "disable", "ca-1"], ("POST", "/certificate-authorities/ca-1/actions/disable", {}, None)),
    (["ca", "enable", "ca-1"], ("POST", "/certificate-authorities/ca-1/actions/enable", {}, None)),
    (["ca", "csr", "ca-1"], ("GET", "/certificate-authorities/ca-1/csr", None, None)),
    (
        # An empty file (the real ones: test_ca_import_certificate_sends_the_files_and_csr_out_writes_the_pem).
        ["ca", "import-certificate", "ca-1", "--certificate", os.devnull],
        ("POST", "/certificate-authorities/ca-1/actions/import-certificate", {"certificatePem": ""}, None),
    ),
    (["ca", "version", "ca-1", "2"], ("GET", "/certificate-authorities/ca-1/versions/2", None, None)),
    (
        ["ca", "promote-version", "ca-1", "2"],
        ("POST", "/certificate-authorities/ca-1/versions/2/actions/promote", {}, None),
    ),
    (
        ["ca", "schedule-version-deletion", "ca-1", "1", "--at", "2027-01-01T00:00:00Z"],
        (
            "POST",
            "/certificate-authorities/ca-1/versions/1/actions/schedule-deletion",
            {"timeOfDeletion": "2027-01-01T00:00:00Z"},
            None,
        ),
    ),
    (
        ["ca", "cancel-version-deletion", "ca-1", "1"],
        ("POST", "/certificate-authorities/ca-1/versions/1/actions/cancel-deletion", {}, None),
    ),
    # ACME EAB keys
    (["acme", "eab", "create", "--ca", "ca-1"], ("POST", "/acme/eab-keys", {"certificateAuthorityId": "ca-1"}, None)),
    (["acme", "eab", "list"], ("GET", "/acme/eab-keys", None, PAGE)),
    (
        ["acme", "eab", "list", "--principal", "arn:aws:iam::1:role/web"],
        ("GET", "/acme/eab-keys", None, {"principal": "arn:aws:iam::1:role/web", **PAGE}),
    ),
    (["acme", "eab", "revoke", "eab-1"], ("DELETE", "/acme/eab-keys/eab-1", None, None)),
    # certificates
    (
        ["cert", "create", "--name", "w", "--issuer", "ca-1", "--cn", "w.example", "--san", "DNS:w.example"],
        (
            "POST",
            "/certificates",
            {
                "name": "w",
                "configType": "ISSUED_BY_INTERNAL_CA",
                "issuerCertificateAuthorityId": "ca-1",
                "profile": "TLS_SERVER",
                "subjectAlternativeNames": [{"type": "DNS", "value": "w.example"}],
                "subject": {"commonName": "w.example"},
            },
            None,
        ),
    ),
    (["cert", "list"], ("GET", "/certificates", None, PAGE)),
    (
        ["cert", "find", "--serial", "0a"],
        ("GET", "/certificates", None, {"serialNumber": "0a", "fingerprintSha256": None}),
    ),
    (["cert", "get", "c-1"], ("GET", "/certificates/c-1", None, None)),
    (
        ["cert", "update", "c-1", "--name", "n", "--renew-every", "P60D", "--renew-before", "P30D", "--alert", "P7D"],
        (
            "PATCH",
            "/certificates/c-1",
            {
                "name": "n",
                "renewalRule": {"renewalInterval": "P60D", "advanceRenewalPeriod": "P30D"},
                "expiryAlertThresholds": ["P7D"],
            },
            None,
        ),
    ),
    (["cert", "versions", "c-1"], ("GET", "/certificates/c-1/versions", None, {"page": None})),
    (["cert", "version", "c-1", "3"], ("GET", "/certificates/c-1/versions/3", None, None)),
    (["cert", "renew", "c-1"], ("POST", "/certificates/c-1/versions", {"stage": "CURRENT"}, None)),
    (
        ["cert", "renew", "c-1", "--pending", "--validity", "P30D"],
        ("POST", "/certificates/c-1/versions", {"stage": "PENDING", "validityDuration": "P30D"}, None),
    ),
    (["cert", "promote", "c-1", "2"], ("POST", "/certificates/c-1/versions/2/actions/promote", {}, None)),
    (["cert", "revoke", "c-1", "1"], ("POST", "/certificates/c-1/versions/1/actions/revoke", {}, None)),
    (
        ["cert", "bundle", "c-1", "--version", "2", "--private-key"],
        ("GET", "/certificates/c-1/bundle", None, {"stage": None, "versionNumber": 2, "includePrivateKey": "true"}),
    ),
    (["cert", "schedule-deletion", "c-1"], ("POST", "/certificates/c-1/actions/schedule-deletion", {}, None)),
    (["cert", "cancel-deletion", "c-1"], ("POST", "/certificates/c-1/actions/cancel-deletion", {}, None)),
    (
        ["cert", "schedule-deletion", "c-1", "--version", "1", "--at", "2027-01-01T00:00:00Z"],
        (
            "POST",
            "/certificates/c-1/versions/1/actions/schedule-deletion",
            {"timeOfDeletion": "2027-01-01T00:00:00Z"},
            None,
        ),
    ),
    (
        ["cert", "cancel-deletion", "c-1", "--version", "1"],
        ("POST", "/certificates/c-1/versions/1/actions/cancel-deletion", {}, None),
    ),
    # associations
    (
        [
            "assoc",
            "create",
            "--cert",
            "c-1",
            "--resource",
            "arn:l",
            "--hostname",
            "w.example",
            "--sni",
            "--endpoint",
            "w.example:443",
        ],
        (
            "POST",
            "/associations",
            {
                "certificateId": "c-1",
                "associatedResourceId": "arn:l",
                "hostnames": ["w.example"],
                "listenerCertificateRole": "SNI",
                "endpoint": {"address": "w.example:443"},
            },
            None,
        ),
    ),
    (["assoc", "list", "--cert", "c-1"], ("GET", "/associations", None, {"certificateId": "c-1", **PAGE})),
    (["assoc", "get", "a-1"], ("GET", "/associations/a-1", None, None)),
    (["assoc", "delete", "a-1"], ("DELETE", "/associations/a-1", None, None)),
    (["assoc", "confirm", "a-1"], ("POST", "/associations/a-1/actions/confirm", {}, None)),
    (
        ["assoc", "report-deployment", "a-1", "--version", "2", "--state", "FAILED", "--reason", "nginx -t failed"],
        (
            "POST",
            "/associations/a-1/actions/report-deployment",
            {"versionNumber": 2, "state": "FAILED", "verified": False, "reason": "nginx -t failed"},
            None,
        ),
    ),
    # CA bundles
    (
        ["ca-bundle", "create", "--name", "t", "--ca", "ca-1"],
        ("POST", "/ca-bundles", {"name": "t", "certificateAuthorityIds": ["ca-1"]}, None),
    ),
    (["ca-bundle", "list"], ("GET", "/ca-bundles", None, PAGE)),
    (["ca-bundle", "get", "b-1"], ("GET", "/ca-bundles/b-1", None, None)),
    (["ca-bundle", "delete", "b-1"], ("DELETE", "/ca-bundles/b-1", None, None)),
    (
        ["ca-bundle", "update", "b-1", "--ca", "ca-1", "--ca", "ca-2"],
        ("POST", "/ca-bundles/b-1/versions", {"certificateAuthorityIds": ["ca-1", "ca-2"]}, None),
    ),
    (["ca-bundle", "versions", "b-1"], ("GET", "/ca-bundles/b-1/versions", None, {"page": None})),
    (["ca-bundle", "version", "b-1", "2"], ("GET", "/ca-bundles/b-1/versions/2", None, None)),
    (["ca-bundle", "bundle", "b-1"], ("GET", "/ca-bundles/b-1/bundle", None, {"stage": None, "versionNumber": None})),
    (["ca-bundle", "associations", "b-1"], ("GET", "/ca-bundles/b-1/associations", None, {"page": None})),
    (["ca-bundle", "tag", "b-1"], ("PUT", "/ca-bundles/b-1/tags", {"freeformTags": {}}, None)),
    # audit, grants, hosts
    (["audit", "list", "c-1"], ("GET", "/audit-events", None, {"resourceId": "c-1", **PAGE})),
    (
        ["grant", "create", "--resource", "c-1", "--principal", "arn:aws:iam::1:role/r", "--role", "READER"],
        ("POST", "/grants", {"resourceId": "c-1", "principalArn": "arn:aws:iam::1:role/r", "role": "READER"}, None),
    ),
    (["grant", "list", "--resource", "c-1"], ("GET", "/grants", None, {"resourceId": "c-1", "page": None})),
    (["grant", "delete", "g-1"], ("DELETE", "/grants/g-1", None, None)),
    (["poll", "--cert", "c-1"], ("POST", "/bundles/poll", {"certificateIds": ["c-1"]}, None)),
]


def _pattern(route: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", route) + "$")


def _route(method: str, path: str) -> tuple[str, str] | None:
    # The most specific template first: literal segments beat placeholders.
    candidates = [r for r in RULES if r[0] == method and _pattern(r[1]).match(path)]
    return min(candidates, key=lambda r: r[1].count("{"), default=None)


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf command of the parser, as its words (("cert", "renew"), ("agent",), ...)."""
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*prefix, name))
    return found or [prefix]


@pytest.mark.parametrize(
    ("argv", "request_sent"), MAPPING, ids=[" ".join(a[:2]) + f"-{i}" for i, (a, _) in enumerate(MAPPING)]
)
def test_each_command_sends_the_request_its_arguments_say(argv: list[str], request_sent: Any) -> None:
    client = Recorder()
    run(build_parser().parse_args(argv), client)
    assert client.calls == [request_sent]


def test_every_route_has_a_command() -> None:
    """Fails when a route is added to RULES and no command of MAPPING calls it (the skip list says why not)."""
    covered = set()
    for argv, _ in MAPPING:
        client = Recorder()
        run(build_parser().parse_args(argv), client)
        for method, path, _, _ in client.calls:
            route = _route(method, path)
            if route is None and any(m == method and _pattern(r).match(path) for m, r in AWAITING_ROUTES):
                continue
            assert route is not None, f"{argv} calls {method} {path}, which no route in RULES serves"
            covered.add(route)
    missing = set(RULES) - covered - set(NOT_COMMANDS)
    assert not missing, f"routes without a command (add one, and a row to MAPPING): {sorted(missing)}"


def test_every_command_is_in_the_mapping() -> None:
    """A new command gets a row here too, so its argument mapping is checked."""
    words = {"poll": 1, "acme": 3}  # `poll` has no action; `acme eab create` has a sub-group
    mapped = {tuple(argv[: words.get(argv[0], 2)]) for argv, _ in MAPPING}
    commands = set(_commands(build_parser()))
    assert commands - mapped - NOT_API_CALLS == set()


def test_list_filters_pass_straight_through_as_query_parameters() -> None:
    client = Recorder()
    argv = [
        "cert", "list", "--name", "web", "--name-prefix", "we", "--state", "ACTIVE", "--issuer", "ca-1",
        "--san", "w.example", "--hostname", "a.w.example",
        "--serial", "0a", "--expires-before", "2027-01-01T00:00:00Z", "--expires-after", "2026-01-01T00:00:00Z",
        "--not-in-use", "--deployment-state", "FAILED", "--tag", "env=prod", "--tag", "team=pay",
        "--sort-by", "created", "--sort-order", "desc", "--limit", "5",
    ]  # fmt: skip
    run(build_parser().parse_args(argv), client)
    assert client.calls[0][3] == {
        "name": "web",
        "namePrefix": "we",
        "lifecycleState": "ACTIVE",
        "issuerCertificateAuthorityId": "ca-1",
        "san": "w.example",
        "hostname": "a.w.example",
        "serialNumber": "0a",
        "notAfterBefore": "2027-01-01T00:00:00Z",
        "notAfterAfter": "2026-01-01T00:00:00Z",
        "inUse": "false",
        "deploymentState": "FAILED",
        "tag": ["env=prod", "team=pay"],
        "sortBy": "timeCreated",
        "sortOrder": "DESC",
        "page": None,
        "limit": 5,
    }
    for command in (["ca", "list", "--in-use"], ["ca-bundle", "list", "--in-use"], ["assoc", "list", "--in-use"]):
        client = Recorder()
        run(build_parser().parse_args(command), client)
        assert client.calls[0][3]["inUse"] == "true"


def test_poll_sends_the_etag_it_was_given_and_says_when_nothing_changed() -> None:
    class NotModified(Recorder):
        def call(self, method: str, path: str, body: Any = None, query: Any = None) -> tuple[int, Any]:
            self.calls.append((method, path, body, query))
            return 304, None

    client = NotModified()
    status, body = run(build_parser().parse_args(["poll", "--if-none-match", '"e1"']), client)
    assert client.headers == [{"If-None-Match": '"e1"'}]
    assert (status, body) == (200, {"notModified": True, "etag": '"e1"'})


def test_ca_bundle_out_writes_the_ca_pem_files(tmp_path: Path) -> None:
    client = Recorder({"certificateAuthorityId": "ca-1", "certificatePem": "CA\n", "certChainPem": "ROOT\n"})
    _, body = run(build_parser().parse_args(["ca", "bundle", "ca-1", "--out", str(tmp_path / "ca")]), client)
    assert (tmp_path / "ca" / "fullchain.pem").read_text() == "CA\nROOT\n"
    assert {(tmp_path / "ca" / n).stat().st_mode & 0o777 for n in ("ca.pem", "chain.pem", "fullchain.pem")} == {0o600}
    assert body == {"certificateAuthorityId": "ca-1", "writtenTo": str(tmp_path / "ca")}


def test_a_bad_tag_or_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from certwright_client.cli import EXIT_USAGE, main

    assert main(["ca", "tag", "ca-1", "--tag", "novalue"]) == EXIT_USAGE
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["cert", "renew", "c-1", "--wait", "--timeout", "0"]) == EXIT_USAGE
    assert "positive number of seconds" in capsys.readouterr().err
    assert main(["ca-bundle", "update", "b-1"]) == EXIT_USAGE
    assert "give --pem, --ca or both" in capsys.readouterr().err


def test_ca_import_certificate_sends_the_files_and_csr_out_writes_the_pem(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("SIGNED\n")
    (tmp_path / "chain.pem").write_text("OUTSIDE ROOT\n")
    client = Recorder()
    argv = ["ca", "import-certificate", "ca-1", "--certificate", str(tmp_path / "ca.pem")]
    run(build_parser().parse_args([*argv, "--chain", str(tmp_path / "chain.pem")]), client)
    run(build_parser().parse_args(argv), client)
    path = "/certificate-authorities/ca-1/actions/import-certificate"
    assert client.calls == [
        ("POST", path, {"certificatePem": "SIGNED\n", "chainPem": "OUTSIDE ROOT\n"}, None),
        ("POST", path, {"certificatePem": "SIGNED\n"}, None),
    ]
    client = Recorder({"certificateAuthorityId": "ca-1", "lifecycleState": "PENDING_CERTIFICATE", "csrPem": "CSR\n"})
    _, body = run(build_parser().parse_args(["ca", "csr", "ca-1", "--out", str(tmp_path / "ca.csr")]), client)
    assert (tmp_path / "ca.csr").read_text() == "CSR\n"
    assert (tmp_path / "ca.csr").stat().st_mode & 0o777 == 0o600
    assert body == {
        "certificateAuthorityId": "ca-1",
        "lifecycleState": "PENDING_CERTIFICATE",
        "writtenTo": str(tmp_path / "ca.csr"),
    }


def test_ca_update_with_nothing_given_sends_an_empty_patch() -> None:
    client = Recorder()
    run(build_parser().parse_args(["ca", "update", "ca-1", "--crl-validity", "none"]), client)
    assert client.calls == [
        ("PATCH", "/certificate-authorities/ca-1", {"crlSettings": {"validityDuration": None}}, None)
    ]
    client = Recorder()
    run(build_parser().parse_args(["ca", "update", "ca-1"]), client)
    assert client.calls == [("PATCH", "/certificate-authorities/ca-1", {}, None)]


def test_eab_create_prints_the_hmac_key_once_on_stdout_and_never_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    from certwright_client import cli

    secret = "c2VjcmV0LWhtYWMta2V5LWZvci1lYWI"
    answer = {"keyId": "eab-1", "principalArn": "arn:aws:iam::1:role/web", "certificateAuthorityId": None,
              "timeCreated": "2026-12-01T00:00:00+00:00", "revoked": False, "hmacKey": secret}  # fmt: skip
    monkeypatch.setattr(cli, "Client", lambda *a, **k: Recorder(answer))
    with caplog.at_level("DEBUG"):
        assert cli.main(["acme", "eab", "create", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    assert out.count(secret) == 1
    assert secret not in err and "shown only this once" in err
    assert secret not in caplog.text


def test_eab_list_table_shows_key_id_ca_and_revoked() -> None:
    from certwright_client import output

    items = [
        {"keyId": "eab-1", "principalArn": "arn:p", "certificateAuthorityId": "ca-1", "revoked": True},
        {"keyId": "eab-2", "principalArn": "arn:p", "certificateAuthorityId": None, "revoked": False},
    ]
    header, *rows = output.render({"items": items, "nextPage": None}, "table").splitlines()
    assert header.split() == ["ID", "REVOKED", "PRINCIPAL", "CA"]
    assert [row.split()[0] for row in rows] == ["eab-1", "eab-2"] and rows[1].split()[-1] == "-"
