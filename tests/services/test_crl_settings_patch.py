"""PATCH crlSettings on the fakes: a partial change keeps what it does not name, and bad values change nothing."""

from __future__ import annotations

from certwright import bootstrap
from certwright.services.commands import CrlSettingsPatch, UpdateAuthority

from tests.conftest import ApiClient, root_ca_body
from tests.fakes import World

CUSTOM = "https://example.internal/crl/{caVersion}.crl"


def test_a_patch_changes_only_the_crl_settings_it_names_and_is_audited(
    api: ApiClient, container: bootstrap.Container, world: World
) -> None:
    created = api.post(
        "/certificate-authorities",
        root_ca_body(crlSettings={"validityDuration": "PT6H", "customFormattedUrls": [CUSTOM]}),
    )
    assert created.status == 201, created.body
    ca_id = created.body["id"]
    service = container.authorities

    off = service.update(ca_id, UpdateAuthority(crl_settings=CrlSettingsPatch(enabled=False)), "tester")
    assert off.crl_settings.as_dict() == {"enabled": False, "validityDuration": "PT6H", "customFormattedUrls": [CUSTOM]}
    urls = service.update(ca_id, UpdateAuthority(crl_settings=CrlSettingsPatch(custom_formatted_urls=())), "tester")
    assert urls.crl_settings.custom_urls == () and urls.crl_settings.validity is not None
    back = service.update(ca_id, UpdateAuthority(crl_settings=CrlSettingsPatch(validity_named=True)), "tester")
    assert back.crl_settings.as_dict() == {"enabled": False, "validityDuration": None, "customFormattedUrls": []}
    same = service.update(ca_id, UpdateAuthority(crl_settings=CrlSettingsPatch(enabled=False)), "tester")
    assert same == back  # nothing changed: nothing written

    changes = [r for r in world.memory.audit if r.resource_id == ca_id and r.action == "UpdateCertificateAuthority"]
    assert [r.details.get("changed") for r in changes] == ["crlSettings"] * 3


def test_a_bad_patched_crl_validity_is_refused_with_its_code(api: ApiClient, container: bootstrap.Container) -> None:
    ca_id = api.post("/certificate-authorities", root_ca_body()).body["id"]
    answer = api.call("PATCH", f"/certificate-authorities/{ca_id}", {"crlSettings": {"validityDuration": "P1Y"}})
    assert (answer.status, answer.body["code"]) == (400, "InvalidCrlSettings")
    assert container.authorities.get(ca_id).crl_settings.validity is None
