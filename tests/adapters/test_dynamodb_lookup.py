"""GET /certificates?serialNumber= / ?fingerprintSha256=: the lookup indexes, their normal forms and their refusals."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.conftest import ApiClient, Hierarchy, leaf_body


def _ids(api: ApiClient, query: str) -> list[str]:
    answer = api.get(f"/certificates?{query}")
    assert answer.status == 200, answer.body
    assert answer.body["nextPage"] is None
    return [c["id"] for c in answer.body["items"]]


def test_a_published_version_is_found_by_serial_and_fingerprint_in_any_spelling(
    api: ApiClient, hierarchy: Hierarchy
) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    assert created.status == 201, created.body
    other = api.post("/certificates", leaf_body(hierarchy.issuing["id"], name="other"))
    assert other.status == 201
    certificate_id, serial = created.body["id"], created.body["currentVersion"]["serialNumber"]
    colons = ":".join(serial.rjust(len(serial) + len(serial) % 2, "0")[i : i + 2] for i in range(0, len(serial), 2))
    for spelling in (serial, serial.upper(), "00" + serial, colons):
        assert _ids(api, f"serialNumber={spelling}") == [certificate_id], spelling
    pem = api.get(f"/certificates/{certificate_id}/bundle").body["certificatePem"]
    fingerprint = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()
    assert _ids(api, f"fingerprintSha256={fingerprint.upper()}") == [certificate_id]
    assert _ids(api, "serialNumber=1") == []


def test_a_renewed_certificate_is_found_by_each_version(api: ApiClient, hierarchy: Hierarchy) -> None:
    created = api.post("/certificates", leaf_body(hierarchy.issuing["id"]))
    renewed = api.post(f"/certificates/{created.body['id']}/versions", {"stage": "CURRENT"})
    assert renewed.status == 201, renewed.body
    for serial in (created.body["currentVersion"]["serialNumber"], renewed.body["serialNumber"]):
        assert _ids(api, f"serialNumber={serial}") == [created.body["id"]]


def test_bad_lookups_are_refused(api: ApiClient, hierarchy: Hierarchy) -> None:
    for query in (
        "serialNumber=xyz",
        "fingerprintSha256=" + "ab" * 31 + "zz",
        f"serialNumber=1&fingerprintSha256={'a' * 64}",
    ):
        answer = api.get(f"/certificates?{query}")
        assert (answer.status, answer.body["code"]) == (400, "InvalidLookup"), (query, answer.body)
    answer = api.get("/certificates?fingerprintSha256=abc")
    assert answer.status == 400, answer.body
