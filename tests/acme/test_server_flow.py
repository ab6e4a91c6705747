"""The ACME flow on the fakes through the edge: EAB account → order → challenge → validation → finalize →
download; a second order for the same names is a new version of the same Certwright certificate."""

from __future__ import annotations

from dataclasses import replace

import pytest
from certwright.domain.authority import LifecycleState
from cryptography import x509

from tests.acme.client import b64, csr_der
from tests.acme.conftest import Acme, problem


def issue(acme: Acme, client: object, names: list[str]) -> dict[str, object]:
    from tests.acme.client import AcmeClient

    assert isinstance(client, AcmeClient)
    order = client.new_order(names)
    assert order.status == 201, order.body
    order_url = order.header("Location")
    assert order_url
    for authz_url in order.json()["authorizations"]:
        authz = client.get(authz_url).json()
        assert authz["status"] == "pending"
        http = next(c for c in authz["challenges"] if c["type"] == "http-01")
        answered = client.post(http["url"], {})
        assert answered.status == 200, answered.body
        assert answered.json()["status"] == "processing"
        assert answered.header("Retry-After") == "1"  # poll again soon (lego waits 5 s otherwise)
        assert any('rel="up"' in link for link in answered.headers["link"])
    acme.validate_all()
    ready = client.get(order_url).json()
    assert ready["status"] == "ready", ready
    der, _ = csr_der(names)
    finalized = client.post(ready["finalize"], {"csr": b64(der)})
    assert finalized.status == 200, finalized.body
    done = finalized.json()
    assert done["status"] == "valid"
    chain = client.get(done["certificate"])
    assert chain.status == 200
    assert chain.header("Content-Type") == "application/pem-certificate-chain"
    return {"order": done, "pem": chain.body.decode(), "order_url": order_url}


def test_eab_account_order_validate_finalize_download(acme: Acme) -> None:
    client = acme.registered()
    result = issue(acme, client, ["www.example.com", "api.example.com"])
    certs = x509.load_pem_x509_certificates(str(result["pem"]).encode())
    assert len(certs) == 3  # leaf, issuing CA, root
    sans = certs[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(sans.get_values_for_type(x509.DNSName)) == ["api.example.com", "www.example.com"]
    # The key authorization the checker was given is token "." thumbprint of the account key.
    assert acme.world.checker.calls
    _, _, token, key_auth = acme.world.checker.calls[0]
    assert key_auth == client.key_authorization(token)
    # It is a Certwright certificate of the CSR kind, owned by the EAB key's principal.
    certificate_id = next(iter(acme.world.acme.links.values()))
    certificate = acme.container.certificates.get(certificate_id)
    assert certificate.config_type.value == "MANAGED_EXTERNALLY_ISSUED_BY_INTERNAL_CA"
    assert certificate.issuer_ca_id == acme.ca_id


def test_a_later_order_for_the_same_names_is_a_new_version(acme: Acme) -> None:
    client = acme.registered()
    issue(acme, client, ["www.example.com"])
    issue(acme, client, ["www.example.com"])
    (certificate_id,) = set(acme.world.acme.links.values())
    certificate = acme.container.certificates.get(certificate_id)
    assert certificate.latest_version_number == 2
    assert certificate.current_version_number == 2


def test_an_order_after_the_certificate_left_active_gets_a_certificate_of_its_own(acme: Acme) -> None:
    """A certificate pending deletion (or retired) is not renewed by a later order: the order would fail forever."""
    client = acme.registered()
    issue(acme, client, ["www.example.com"])
    (first_id,) = set(acme.world.acme.links.values())
    memory = acme.world.memory.certificates
    memory[first_id] = replace(memory[first_id], lifecycle_state=LifecycleState.PENDING_DELETION)
    issue(acme, client, ["www.example.com"])
    (second_id,) = set(acme.world.acme.links.values())
    assert second_id != first_id
    assert acme.container.certificates.get(second_id).latest_version_number == 1
    assert memory[first_id].latest_version_number == 1  # the old one got no version


def test_revoke_by_account_reaches_the_revocation_ledger(acme: Acme) -> None:
    client = acme.registered()
    result = issue(acme, client, ["www.example.com"])
    leaf = x509.load_pem_x509_certificates(str(result["pem"]).encode())[0]
    from cryptography.hazmat.primitives import serialization

    der = leaf.public_bytes(serialization.Encoding.DER)
    revoked = client.post(client.directory["revokeCert"], {"certificate": b64(der), "reason": 4})
    assert revoked.status == 200, revoked.body
    assert any(e.serial_number.lower() == format(leaf.serial_number, "x") for e in acme.world.memory.revoked.values())
    again = client.post(client.directory["revokeCert"], {"certificate": b64(der)})
    assert problem(again) == "alreadyRevoked"


def test_replaces_names_a_certificate_issued_to_the_account_and_is_replaced_once(acme: Acme) -> None:
    """RFC 9773 §5: `replaces` must name a certificate this CA issued to the account that shares an identifier
    with the order; once an order replaced it, another gets 409 alreadyReplaced (an abandoned one
    does not count). Each refusal writes no order."""
    from certwright.acme.ari import cert_id

    client = acme.registered()
    first = issue(acme, client, ["www.example.com"])
    leaf = x509.load_pem_x509_certificates(str(first["pem"]).encode())[0]
    replaced = cert_id(leaf)
    orders = len(acme.world.acme.orders)

    other = acme.registered()  # another account (another key), even of the same principal
    assert problem(other.new_order(["www.example.com"], replaces=replaced)) == "unauthorized"
    assert problem(client.new_order(["api.example.com"], replaces=replaced)) == "malformed"  # no shared name
    unknown = replaced.split(".")[0] + ".AQID"
    assert problem(client.new_order(["www.example.com"], replaces=unknown)) == "malformed"
    assert len(acme.world.acme.orders) == orders

    second = client.new_order(["www.example.com"], replaces=replaced)  # both may be ordered...
    renewal = client.new_order(["www.example.com"], replaces=replaced)
    assert second.status == renewal.status == 201 and renewal.json()["replaces"] == replaced
    for made in (second, renewal):
        for authz_url in made.json()["authorizations"]:
            http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
            client.post(http["url"], {})
    acme.validate_all()
    der, _ = csr_der(["www.example.com"])
    ready = client.get(str(renewal.header("Location"))).json()
    assert client.post(ready["finalize"], {"csr": b64(der)}).json()["status"] == "valid"
    late = client.get(str(second.header("Location"))).json()  # ...but only the first to finalize replaces it
    refused = client.post(late["finalize"], {"csr": b64(der)})
    assert (refused.status, problem(refused)) == (409, "alreadyReplaced")
    assert client.get(str(second.header("Location"))).json()["status"] == "ready"
    again = client.new_order(["www.example.com"], replaces=replaced)
    assert (again.status, problem(again)) == (409, "alreadyReplaced")


def test_a_replacement_whose_finalize_failed_does_not_block_the_next(
    acme: Acme, monkeypatch: pytest.MonkeyPatch
) -> None:
    from certwright.acme.ari import cert_id
    from certwright.errors import InvalidInputError

    client = acme.registered()
    leaf = x509.load_pem_x509_certificates(str(issue(acme, client, ["www.example.com"])["pem"]).encode())[0]
    replaced = cert_id(leaf)
    order = client.new_order(["www.example.com"], replaces=replaced)
    for authz_url in order.json()["authorizations"]:
        http = next(c for c in client.get(authz_url).json()["challenges"] if c["type"] == "http-01")
        client.post(http["url"], {})
    acme.validate_all()
    ready = client.get(str(order.header("Location"))).json()
    der, _ = csr_der(["www.example.com"])
    claimed: list[str | None] = []

    def refused(*args: object, **kwargs: object) -> None:
        claimed.append(acme.world.acme.replacement_of(replaced))
        raise InvalidInputError("the issuance refuses this one")

    with monkeypatch.context() as patch:
        patch.setattr(acme.container.issuance, "create_version", refused)
        assert problem(client.post(ready["finalize"], {"csr": b64(der)})) == "badCSR"
    assert claimed == [order.header("Location").rsplit("/", 1)[1]]  # claimed while issuing...
    assert acme.world.acme.replacement_of(replaced) is None  # ...and released when it did not issue
    assert client.post(ready["finalize"], {"csr": b64(der)}).json()["status"] == "valid"
    # A claim a crashed finalize left behind (its order back to ready) is dropped by the next replacement.
    acme.world.acme.replaced[replaced] = "order-that-crashed"
    assert client.new_order(["www.example.com"], replaces=replaced).status == 201
