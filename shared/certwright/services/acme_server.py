"""The ACME server's use cases (RFC 8555, RFC 9773): directory, nonces, accounts bound by EAB to a principal,
orders, authorizations, challenges, finalize through the one issuance path, download, revocation and ARI.

Each operation takes the request as the edge received it (the URL it was sent to and the body) and answers an
AcmeAnswer; every refusal is an AcmeProblem raised before anything is written (the nonce a request used is
spent either way, as RFC 8555 §6.5 wants).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from aws_lambda_powertools import Logger
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certwright.acme import ari
from certwright.acme.jws import (
    Jws,
    b64url,
    b64url_decode,
    canonical_jwk,
    eab_of,
    key_authorization,
    parse,
    parse_inner,
    public_key,
    thumbprint,
    verify,
    verify_eab,
)
from certwright.acme.problems import AcmeProblem, malformed, problem_document
from certwright.acme.resources import (
    AUTHORIZATION_LIFETIME,
    CHALLENGE_DEADLINE,
    ORDER_LIFETIME,
    Account,
    Authorization,
    Challenge,
    Order,
    Status,
    iso,
    normalize_identifiers,
)
from certwright.authorization.enforcement import Authorizer
from certwright.authorization.identity import Principal, principal_from_arn
from certwright.domain.authority import CertificateAuthority, LifecycleState, check_name_constraints, ensure_can_issue
from certwright.domain.certificate import Certificate, CertificateVersion, Profile
from certwright.domain.names import (
    SanType,
    Subject,
    SubjectAlternativeName,
    common_dns_suffix,
    normalize_dns_name,
)
from certwright.domain.stages import Stage
from certwright.errors import (
    AccessDeniedError,
    CertwrightError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PolicyViolationError,
)
from certwright.ports import Store
from certwright.ports.acme import AcmeStore, EabSealer
from certwright.ports.acme_challenges import ChallengeType
from certwright.ports.lookup import VersionIndex
from certwright.services.authorities import AuthorityService
from certwright.services.commands import RenewWithCsr, RevokeVersion, SignCsr
from certwright.services.context import Runtime
from certwright.services.issuance import IssuanceService
from certwright.services.reservation import request_token, reserving
from certwright.services.revocation import RevocationService

logger = Logger(child=True)

NONCE_LIFETIME = timedelta(hours=1)
# After a challenge's deadline the validator fails it; if its retries ran out first, a read fails it this long after.
STUCK_GRACE = timedelta(minutes=1)
PEM_CHAIN = "application/pem-certificate-chain"
# RFC 5280 CRLReason codes a client may give (6 certificateHold and 8 removeFromCRL are not offered).
REASONS = {
    0: "UNSPECIFIED",
    1: "KEY_COMPROMISE",
    2: "CA_COMPROMISE",
    3: "AFFILIATION_CHANGED",
    4: "SUPERSEDED",
    5: "CESSATION_OF_OPERATION",
    9: "PRIVILEGE_WITHDRAWN",
    10: "AA_COMPROMISE",
}
# The audit actor of a revocation signed by the certificate's own key (no account, no principal).
CERTIFICATE_KEY_ACTOR = "acme:certificate-key"
# The error of an order whose finalize died before its certificate was published (AcmeServer._settled).
FINALIZE_DIED = "the finalize of this order did not complete and nothing was issued from it; create a new order"


# Seconds a client should wait before polling a challenge that is being validated again.
CHALLENGE_RETRY_AFTER = 1


@dataclass(frozen=True)
class AcmeAnswer:
    """What the edge sends: a status, a JSON body (or PEM text), and the Location and Link headers."""

    status: int
    body: dict[str, Any] | str | None = None
    location: str | None = None
    links: tuple[str, ...] = ()
    content_type: str = "application/json"
    retry_after: int | None = None
    allow: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where a request arrived: the CA's ACME base URL (…/acme/{ca_id}) and the full URL the client signed."""

    base: str
    url: str
    ca_id: str

    def at(self, path: str) -> str:
        return f"{self.base}/{path}"


@dataclass
class _Verified:
    jws: Jws
    account: Account | None = None
    jwk: dict[str, str] | None = field(default=None)


class AcmeServer:
    def __init__(
        self,
        store: AcmeStore,
        sealer: EabSealer,
        certificates: Store,
        versions: VersionIndex,
        authorities: AuthorityService,
        issuance: IssuanceService,
        revocation: RevocationService,
        authorizer: Authorizer,
        runtime: Runtime,
        *,
        require_eab: bool = True,
        validity_duration: str | None = None,
    ) -> None:
        self._store = store
        self._sealer = sealer
        self._certs = certificates
        self._versions = versions
        self._authorities = authorities
        self._issuance = issuance
        self._revocation = revocation
        self._authorizer = authorizer
        self._rt = runtime
        self._require_eab = require_eab
        self._validity = validity_duration

    # -- directory and nonces -------------------------------------------------------------------------------

    def directory(self, at: Endpoint) -> AcmeAnswer:
        self._issuing_ca(at.ca_id)
        return AcmeAnswer(
            200,
            {
                "newNonce": at.at("new-nonce"),
                "newAccount": at.at("new-account"),
                "newOrder": at.at("new-order"),
                "revokeCert": at.at("revoke-cert"),
                "keyChange": at.at("key-change"),
                "renewalInfo": at.at("renewal-info"),
                "meta": {"externalAccountRequired": self._require_eab},
            },
        )

    def new_nonce(self) -> str:
        """A fresh nonce, stored until used once or expired."""
        nonce = b64url(secrets.token_bytes(16))
        self._store.add_nonce(nonce, self._rt.clock() + NONCE_LIFETIME)
        return nonce

    # -- authentication -------------------------------------------------------------------------------------

    def _verified(self, at: Endpoint, body: bytes, *, key: str) -> _Verified:
        """The request's JWS, checked (RFC 8555 §6.2-6.5): url, key (`jwk` or `kid` as `key` says), signature,
        then the nonce, which is spent only by a request that got that far."""
        self._issuing_ca(at.ca_id)
        jws = parse(body)
        if jws.url != at.url:
            raise AcmeProblem("unauthorized", f"the JWS url {jws.url!r} is not the request URL {at.url!r}")
        verified = _Verified(jws)
        if jws.jwk is not None:
            if key == "kid":
                raise malformed("this request must be signed by an account (kid), not a jwk")
            verified.jwk = canonical_jwk(jws.jwk)
            verify(jws, public_key(verified.jwk))
        else:
            if key == "jwk":
                raise malformed("this request must carry the account key as jwk, not a kid")
            account = self._account_of_kid(at, jws.kid or "")
            verify(jws, public_key(account.jwk))
            verified.account = account
        if not self._store.consume_nonce(jws.nonce, self._rt.clock()):
            raise AcmeProblem("badNonce", "the nonce is unknown, used or expired")
        return verified

    def _account_of_kid(self, at: Endpoint, kid: str) -> Account:
        prefix = at.at("account/")
        account_id = kid[len(prefix) :] if kid.startswith(prefix) else ""
        account = self._store.get_account(account_id) if account_id and "/" not in account_id else None
        if account is None:
            raise AcmeProblem("accountDoesNotExist", "no account has this kid")
        if account.status is not Status.VALID:
            raise AcmeProblem("unauthorized", f"the account is {account.status.value}")
        if account.eab_key_id is not None:
            eab = self._store.get_eab_key(account.eab_key_id)
            if eab is None or eab.revoked:
                raise AcmeProblem("unauthorized", "the external account key this account was bound with is revoked")
            if eab.ca_id is not None and eab.ca_id != at.ca_id:
                # An EAB key bound to one CA binds its accounts to that CA's directory too, not only at newAccount.
                raise AcmeProblem("unauthorized", "this account's external account key is bound to another CA")
        return account

    def _account_url(self, at: Endpoint, account: Account) -> str:
        return at.at(f"account/{account.id}")

    # -- accounts -------------------------------------------------------------------------------------------

    def new_account(self, at: Endpoint, body: bytes) -> AcmeAnswer:
        self._issuing_ca(at.ca_id)
        jws = parse(body)
        if jws.url != at.url:
            raise AcmeProblem("unauthorized", "the JWS url is not the request URL")
        if jws.jwk is None:
            raise malformed("newAccount must carry the account key as jwk")
        jwk = canonical_jwk(jws.jwk)
        verify(jws, public_key(jwk))
        payload = jws.payload_json()
        existing = self._store.account_by_thumbprint(thumbprint(jwk))
        binding = None if existing is not None else eab_of(payload)
        eab_key = None
        if existing is None and not payload.get("onlyReturnExisting"):
            contact = _contact(payload.get("contact"))
            if binding is None and self._require_eab:
                raise AcmeProblem("externalAccountRequired", "this server needs an external account binding")
            if binding is not None:
                eab_key = self._store.get_eab_key(binding.kid or "")
                if eab_key is None or eab_key.revoked:
                    raise AcmeProblem("unauthorized", "the external account key is unknown or revoked")
                if eab_key.ca_id is not None and eab_key.ca_id != at.ca_id:
                    raise AcmeProblem("unauthorized", "the external account key is for another certificate authority")
                verify_eab(binding, self._sealer.open(eab_key.sealed_hmac, eab_key.key_id), jwk, at.url)
        else:
            contact = ()
        if not self._store.consume_nonce(jws.nonce, self._rt.clock()):
            raise AcmeProblem("badNonce", "the nonce is unknown, used or expired")
        if existing is not None:
            if existing.status is not Status.VALID:
                raise AcmeProblem("unauthorized", f"the account is {existing.status.value}")
            return self._account_answer(at, existing, 200)
        if payload.get("onlyReturnExisting"):
            raise AcmeProblem("accountDoesNotExist", "no account has this key")
        if eab_key is None:
            raise AcmeProblem("externalAccountRequired", "an account must act as a known principal (EAB)")
        account = Account(
            id=self._rt.ids("acct"),
            jwk=jwk,
            thumbprint=thumbprint(jwk),
            principal=eab_key.principal,
            eab_key_id=eab_key.key_id,
            created_at=self._rt.clock(),
            contact=contact,
        )
        try:
            self._store.create_account(account)
        except ConflictError:
            raced = self._store.account_by_thumbprint(account.thumbprint)
            if raced is None:
                raise
            return self._account_answer(at, raced, 200)
        return self._account_answer(at, account, 201)

    def _account_answer(self, at: Endpoint, account: Account, status: int) -> AcmeAnswer:
        url = self._account_url(at, account)
        return AcmeAnswer(status, account.document(f"{url}/orders"), location=url)

    def account(self, at: Endpoint, account_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        account = _owned(v, account_id)
        if v.jws.post_as_get:
            return self._account_answer(at, account, 200)
        payload = v.jws.payload_json()
        updated = account
        if "contact" in payload:
            updated = replace(updated, contact=_contact(payload["contact"]))
        status = payload.get("status")
        if status is not None:
            if status != Status.DEACTIVATED.value:
                raise malformed("an account's status can only be set to deactivated")
            updated = replace(updated, status=Status.DEACTIVATED)
        if updated != account:
            self._store.save_account(updated)
        return self._account_answer(at, updated, 200)

    def account_orders(self, at: Endpoint, account_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        account = _owned(v, account_id)
        urls = [at.at(f"order/{o}") for o in self._store.orders_of(account.id)]
        return AcmeAnswer(200, {"orders": urls})

    def key_change(self, at: Endpoint, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        assert v.account is not None
        inner = parse_inner(_json(v.jws))
        if inner.url != at.url:
            raise malformed("the inner keyChange JWS has another url")
        assert inner.jwk is not None
        new_jwk = canonical_jwk(inner.jwk)
        verify(inner, public_key(new_jwk))
        request = inner.payload_json()
        if request.get("account") != self._account_url(at, v.account):
            raise malformed("the keyChange names another account")
        old = request.get("oldKey")
        if not isinstance(old, dict) or canonical_jwk(old) != v.account.jwk:
            raise malformed("oldKey is not the account's current key")
        other = self._store.account_by_thumbprint(thumbprint(new_jwk))
        if other is not None:
            return AcmeAnswer(
                409,
                AcmeProblem("conflict", "another account has this key").document(),
                location=self._account_url(at, other),
            )
        updated = replace(v.account, jwk=new_jwk, thumbprint=thumbprint(new_jwk))
        self._store.save_account(updated, previous_thumbprint=v.account.thumbprint)
        return self._account_answer(at, updated, 200)

    # -- orders ---------------------------------------------------------------------------------------------

    def new_order(self, at: Endpoint, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        account = v.account
        assert account is not None
        payload = v.jws.payload_json()
        if payload.get("notBefore") is not None or payload.get("notAfter") is not None:
            raise malformed("notBefore and notAfter are not supported: the CA's rules decide the validity")
        names = normalize_identifiers(payload.get("identifiers"))
        replaces = payload.get("replaces")
        if replaces is not None and not isinstance(replaces, str):
            raise malformed("replaces is a renewalInfo CertID")
        ca = self._issuing_ca(at.ca_id)
        sans = _checked_names(ca, names, self._rt.clock())
        self._may_issue(account, ca, names)
        if replaces is not None:
            self._check_replaces(account, names, replaces, ca.id)
        now = self._rt.clock()
        authorizations = [self._new_authorization(account, san.value, now) for san in sans]
        order = Order(
            id=self._rt.ids("order"),
            account_id=account.id,
            ca_id=ca.id,
            identifiers=names,
            authorization_ids=tuple(a.id for a in authorizations),
            expires=now + ORDER_LIFETIME,
            created_at=now,
            replaces=replaces,
        )
        for authorization in authorizations:
            self._store.put_authorization(authorization)
        self._store.put_order(order)
        return AcmeAnswer(201, self._order_document(at, order), location=at.at(f"order/{order.id}"))

    def _new_authorization(self, account: Account, name: str, now: datetime) -> Authorization:
        wildcard = name.startswith("*.")
        types = (ChallengeType.DNS_01,) if wildcard else tuple(ChallengeType)
        return Authorization(
            id=self._rt.ids("authz"),
            account_id=account.id,
            identifier=name[2:] if wildcard else name,
            expires=now + AUTHORIZATION_LIFETIME,
            challenges=tuple(Challenge(t, b64url(secrets.token_bytes(32))) for t in types),
            wildcard=wildcard,
        )

    def _current_order(self, order: Order) -> Order:
        """The order with its state advanced from its authorizations (and written if it moved), or decided if its
        finalize died (`_settled`)."""
        if order.status is Status.PROCESSING:
            return self._settled(order)
        if order.status is not Status.PENDING:
            return order
        authorizations = [self._store.get_authorization(a) for a in order.authorization_ids]
        found = [self._unstuck(a) for a in authorizations if a is not None]
        advanced = order.advanced(found, self._rt.clock())
        if advanced.status is not order.status:
            try:
                self._store.update_order(advanced, Status.PENDING)
            except ConflictError:
                stored = self._store.get_order(order.id)
                return stored if stored is not None else advanced
        return advanced

    def _order_document(self, at: Endpoint, order: Order) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "status": order.status.value,
            "expires": iso(order.expires),
            "identifiers": [{"type": "dns", "value": n} for n in order.identifiers],
            "authorizations": [at.at(f"authz/{a}") for a in order.authorization_ids],
            "finalize": at.at(f"order/{order.id}/finalize"),
        }
        if order.status is Status.VALID:
            doc["certificate"] = at.at(f"cert/{order.id}")
        if order.error is not None:
            doc["error"] = order.error
        if order.replaces is not None:
            doc["replaces"] = order.replaces
        return doc

    def _owned_order(self, v: _Verified, order_id: str) -> Order:
        order = self._store.get_order(order_id)
        assert v.account is not None
        if order is None or order.account_id != v.account.id:
            raise AcmeProblem("notFound", f"order {order_id} not found")
        return order

    def order(self, at: Endpoint, order_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        order = self._current_order(self._owned_order(v, order_id))
        return AcmeAnswer(200, self._order_document(at, order), location=at.at(f"order/{order.id}"))

    def finalize(self, at: Endpoint, order_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        account = v.account
        assert account is not None
        order = self._current_order(self._owned_order(v, order_id))
        payload = v.jws.payload_json()
        if order.status is not Status.READY:
            raise AcmeProblem("orderNotReady", f"the order is {order.status.value}, not ready")
        csr_pem = _csr_pem(payload.get("csr"), order.identifiers)
        ca = self._issuing_ca(order.ca_id)
        existing_id = self._store.certificate_for(account.id, order.identifiers)
        existing = self._certs.get_certificate(existing_id) if existing_id else None
        if existing is not None and not _renewable_by(existing, order):
            existing = None  # issued by another CA, or no longer ACTIVE: this order gets a certificate of its own
        self._may_issue(account, ca, order.identifiers)
        if existing is not None:
            self._allow(account, "Renew", existing, "AcmeFinalize")
        processing = order.processing(self._rt.clock())
        if order.replaces is not None:  # the one order that replaces the certificate is the first to finalize
            self._claim_replacement(order)
        try:
            self._store.update_order(processing, Status.READY)
        except Exception:
            self._release(order)
            raise
        try:
            # Under a reservation token of this attempt: if the finalize dies, `_settled` finds what it issued.
            with reserving(finalize_token(processing)):
                certificate, version = self._issue(account, order, ca, csr_pem, existing)
        except (InvalidInputError, PolicyViolationError, ConflictError, AccessDeniedError, NotFoundError) as err:
            self._store.update_order(order, Status.PROCESSING)  # back to ready: a refused CSR changes nothing
            self._release(order)
            kind = "rejectedIdentifier" if isinstance(err, PolicyViolationError) else "badCSR"
            if isinstance(err, AccessDeniedError | NotFoundError):
                kind = "unauthorized"
            raise AcmeProblem(kind, err.message) from err
        except Exception:
            self._store.update_order(order, Status.PROCESSING)
            self._release(order)
            raise
        if existing is None:
            self._store.link_certificate(account.id, order.identifiers, certificate.id)
        issued = processing.issued(certificate.id, version.version_number)
        self._store.update_order(issued, Status.PROCESSING)
        return AcmeAnswer(200, self._order_document(at, issued), location=at.at(f"order/{order.id}"))

    def _release(self, order: Order) -> None:
        """A finalize that did not issue: the certificate it meant to replace is not replaced."""
        if order.replaces is not None:
            self._store.release_replacement(order.replaces, order.id)

    def _settled(self, order: Order) -> Order:
        """An order its finalize left processing past FINALIZE_BOUND (the finalize died) decided, as RFC 8555
        §7.1.6 wants of every order: valid with its certificate if the issuance that finalize started was published
        (found by the attempt's reservation token), else invalid (serverInternal) with its replacement claim
        released. The write is conditional (AcmeStore.change_order) on the order still being that attempt's: a
        finalize that did finish meanwhile wins. Each step may crash: before the write the next read decides again
        (the same way, the issuance being over), after it the claim of an invalid order counts as free anyway
        (`_replacing_order`)."""
        if not order.stuck(self._rt.clock()):
            return order
        published = self._published(order)
        if published is not None:
            self._link(order, published[0])

        made: list[Order] = []

        def decide(latest: Order) -> Order:
            if latest.status is not Status.PROCESSING or latest.processing_since != order.processing_since:
                return latest  # finished, or another attempt: not the finalize that died
            if published is not None:
                made.append(latest.issued(published[0].id, published[1].version_number))
            else:
                made.append(latest.failed(problem_document("serverInternal", FINALIZE_DIED)))
            return made[-1]

        settled = self._store.change_order(order.id, decide) or decide(order)
        if settled.status is Status.INVALID:
            self._release(settled)
        if made and settled == made[-1]:
            logger.warning(
                "order decided after its finalize died",
                order=order.id,
                status=settled.status.value,
                processing_since=iso(order.processing_since or order.created_at),
                certificate=settled.certificate_id,
            )
        return settled

    def _published(self, order: Order) -> tuple[Certificate, CertificateVersion] | None:
        """The certificate version the order's finalize attempt issued, if it was published."""
        if order.processing_since is None:
            return None  # made processing before finalizes recorded when: no reservation token to look under
        reservation = self._certs.get_reservation(finalize_token(order))
        if reservation is None:
            return None  # it died before issuance reserved a version
        certificate = self._certs.get_certificate(reservation.certificate_id)
        version = self._certs.get_version(reservation.certificate_id, reservation.version_number)
        if certificate is None or version is None or not version.certificate_pem or Stage.FAILED in version.stages:
            return None  # reserved, never published: it never will be (its key died with the finalize)
        return certificate, version

    def _link(self, order: Order, certificate: Certificate) -> None:
        """What finalize does after issuing: a certificate of the order's own is the account's for its names,
        unless a renewable one is linked already (this one renewed it, or a later order linked another)."""
        linked_id = self._store.certificate_for(order.account_id, order.identifiers)
        if linked_id == certificate.id:
            return
        linked = self._certs.get_certificate(linked_id) if linked_id else None
        if linked is None or not _renewable_by(linked, order):
            self._store.link_certificate(order.account_id, order.identifiers, certificate.id)

    def _issue(
        self, account: Account, order: Order, ca: CertificateAuthority, csr_pem: str, existing: Certificate | None
    ) -> tuple[Certificate, CertificateVersion]:
        caller = account.principal
        if existing is not None:
            return self._issuance.create_version(
                RenewWithCsr(certificate_id=existing.id, csr_pem=csr_pem, validity_duration=self._validity), caller
            )
        command = SignCsr(
            name=f"acme-{order.identifiers[0].replace('*', 'wildcard')}-{account.id[-8:]}",
            issuer_id=ca.id,
            profile=Profile.TLS_SERVER,
            subject=Subject(common_name=order.identifiers[0]),
            sans=tuple(SubjectAlternativeName(SanType.DNS, n) for n in order.identifiers),
            validity_duration=self._validity,
            csr_pem=csr_pem,
            description=f"ACME account {account.id} ({', '.join(order.identifiers)})",
        )
        return self._issuance.create(command, caller)

    def certificate(self, at: Endpoint, order_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        order = self._current_order(self._owned_order(v, order_id))
        if order.status is not Status.VALID or order.certificate_id is None or order.version_number is None:
            raise AcmeProblem("orderNotReady", "the order has no certificate yet")
        version = self._certs.get_version(order.certificate_id, order.version_number)
        if version is None or not version.certificate_pem:
            raise AcmeProblem("notFound", "the certificate is gone")
        chain = [version.certificate_pem, *version.chain_pems]
        text = "".join(p if p.endswith("\n") else p + "\n" for p in chain)
        return AcmeAnswer(200, text, content_type=PEM_CHAIN)

    # -- authorizations and challenges ----------------------------------------------------------------------

    def _owned_authorization(self, v: _Verified, authz_id: str) -> Authorization:
        authorization = self._store.get_authorization(authz_id)
        assert v.account is not None
        if authorization is None or authorization.account_id != v.account.id:
            raise AcmeProblem("notFound", f"authorization {authz_id} not found")
        return authorization

    def _unstuck(self, authorization: Authorization) -> Authorization:
        """A challenge still processing a while after its deadline (the validator's retries ran out) is failed."""
        now = self._rt.clock()
        for c in authorization.challenges:
            if c.status is Status.PROCESSING and c.deadline is not None and now >= c.deadline + STUCK_GRACE:
                detail = "the challenge was not decided before its deadline"
                failed = replace(c, status=Status.INVALID, error=problem_document("connection", detail))
                changed = self._store.change_authorization(
                    authorization.id, partial(Authorization.with_challenge, updated=failed)
                )
                authorization = changed or authorization
        return authorization

    def authorization(self, at: Endpoint, authz_id: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        authorization = self._unstuck(self._owned_authorization(v, authz_id))
        if not v.jws.post_as_get:
            payload = v.jws.payload_json()
            if payload.get("status") != Status.DEACTIVATED.value:
                raise malformed("an authorization's status can only be set to deactivated")
            authorization = self._store.change_authorization(authorization.id, _deactivated) or authorization
        return AcmeAnswer(200, self._authorization_document(at, authorization))

    def _authorization_document(self, at: Endpoint, z: Authorization) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "identifier": {"type": "dns", "value": z.identifier},
            "status": z.current_status(self._rt.clock()).value,
            "expires": iso(z.expires),
            "challenges": [self._challenge_document(at, z, c) for c in z.challenges],
        }
        if z.wildcard:
            doc["wildcard"] = True
        return doc

    def _challenge_document(self, at: Endpoint, z: Authorization, c: Challenge) -> dict[str, Any]:
        status = Status.PENDING if c.status is Status.PENDING else c.status
        doc: dict[str, Any] = {
            "type": c.type.value,
            "url": at.at(f"chall/{z.id}/{c.type.value}"),
            "status": status.value,
            "token": c.token,
        }
        if c.validated is not None:
            doc["validated"] = iso(c.validated)
        if c.error is not None:
            doc["error"] = c.error
        return doc

    def challenge(self, at: Endpoint, authz_id: str, kind: str, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="kid")
        authorization = self._owned_authorization(v, authz_id)
        challenge = authorization.challenge(kind)
        up = f'<{at.at(f"authz/{authorization.id}")}>;rel="up"'
        if not v.jws.post_as_get:
            v.jws.payload_json()  # {} asks for validation (RFC 8555 §7.5.1); anything else must at least be JSON
            now = self._rt.clock()

            def start(latest: Authorization) -> Authorization:
                pending = latest.challenge(kind)
                if pending.status is not Status.PENDING or latest.current_status(now) is not Status.PENDING:
                    return latest
                if any(c.status is Status.PROCESSING for c in latest.challenges):
                    raise malformed("another challenge of this authorization is being validated")
                return latest.with_challenge(
                    replace(pending, status=Status.PROCESSING, deadline=now + CHALLENGE_DEADLINE)
                )

            authorization = self._store.change_authorization(authorization.id, start) or authorization
            challenge = authorization.challenge(kind)
        # A challenge being validated: poll again soon (RFC 8555 §8.2; lego waits 5 s without it).
        again = CHALLENGE_RETRY_AFTER if challenge.status is Status.PROCESSING else None
        return AcmeAnswer(200, self._challenge_document(at, authorization, challenge), links=(up,), retry_after=again)

    def key_authorization_of(self, authorization: Authorization, challenge: Challenge) -> str:
        account = self._store.get_account(authorization.account_id)
        if account is None:
            raise NotFoundError(f"account {authorization.account_id} not found")
        return key_authorization(challenge.token, account.jwk)

    # -- revocation -----------------------------------------------------------------------------------------

    def revoke(self, at: Endpoint, body: bytes) -> AcmeAnswer:
        v = self._verified(at, body, key="any")
        payload = v.jws.payload_json()
        der = b64url_decode(payload.get("certificate"), "certificate")
        try:
            presented = x509.load_der_x509_certificate(der)
        except ValueError as err:
            raise malformed("certificate is not a DER X.509 certificate") from err
        reason_code = payload.get("reason", 0)
        if not isinstance(reason_code, int) or isinstance(reason_code, bool) or reason_code not in REASONS:
            raise AcmeProblem("badRevocationReason", f"reason {reason_code!r} is not offered")
        certificate, version = self._issued_version(presented)
        if certificate is None or version is None or version.issuer_ca_id != at.ca_id:
            raise AcmeProblem("notFound", "this certificate authority did not issue that certificate")
        if version.revocation is not None:
            raise AcmeProblem("alreadyRevoked", "the certificate is already revoked")
        if v.account is not None:
            actor = v.account.principal
            self._allow(v.account, "Revoke", certificate, "AcmeRevokeCertificate")
        else:
            assert v.jwk is not None
            if _spki(public_key(v.jwk)) != _spki(presented.public_key()):
                raise AcmeProblem(
                    "unauthorized", "the JWS is signed neither by an account nor by the certificate's key"
                )
            actor = CERTIFICATE_KEY_ACTOR
        try:
            self._revocation.revoke_certificate_version(
                certificate.id, version.version_number, RevokeVersion(revocation_reason=REASONS[reason_code]), actor
            )
        except ConflictError as err:
            if err.code == "AlreadyRevoked":
                raise AcmeProblem("alreadyRevoked", err.message) from err
            raise
        except InvalidInputError as err:
            raise AcmeProblem("badRevocationReason", err.message) from err
        return AcmeAnswer(200, None)

    def _issued_version(self, presented: x509.Certificate) -> tuple[Certificate | None, CertificateVersion | None]:
        pem = presented.public_bytes(serialization.Encoding.PEM).decode("ascii")
        for certificate_id, number in self._versions.by_serial(format(presented.serial_number, "x")):
            version = self._certs.get_version(certificate_id, number)
            if version is not None and _same_pem(version.certificate_pem, pem):
                return self._certs.get_certificate(certificate_id), version
        return None, None

    # -- ARI ------------------------------------------------------------------------------------------------

    def renewal_info(self, at: Endpoint, cert_id: str) -> AcmeAnswer:
        self._issuing_ca(at.ca_id)
        found = self._issued(cert_id, at.ca_id)
        if found is None:
            raise AcmeProblem("notFound", "no certificate of this certificate authority has this CertID")
        certificate, version, _ = found
        superseded = certificate.current_version_number != version.version_number
        window = ari.suggested_window(
            version.validity.not_before,
            version.validity.not_after,
            self._rt.clock(),
            renew_now=version.revocation is not None or superseded,
        )
        body = {"suggestedWindow": {"start": iso(window.start), "end": iso(window.end)}}
        return AcmeAnswer(200, body, retry_after=int(ari.RETRY_AFTER.total_seconds()))

    def _issued(self, cert_id: str, ca_id: str) -> tuple[Certificate, CertificateVersion, x509.Certificate] | None:
        """The certificate version of CA `ca_id` a renewalInfo CertID names (malformed if it is no CertID)."""
        wanted = ari.CertId.parse(cert_id)
        for certificate_id, number in self._versions.by_serial(wanted.serial_hex):
            version = self._certs.get_version(certificate_id, number)
            certificate = self._certs.get_certificate(certificate_id)
            if version is None or certificate is None or version.issuer_ca_id != ca_id:
                continue
            issued = x509.load_pem_x509_certificate(version.certificate_pem.encode("ascii"))
            if ari.cert_id(issued) == cert_id:
                return certificate, version, issued
        return None

    def _check_replaces(self, account: Account, names: tuple[str, ...], replaces: str, ca_id: str) -> None:
        """RFC 9773 §5: the replaced certificate is one this CA issued to this account (its name set's link), it
        shares an identifier with the order, and no other order has replaced it (409 alreadyReplaced). An order replaces the
        certificate when it finalizes (AcmeStore.claim_replacement, once, race-free); one a client abandoned
        (pending, ready) does not count: it must not block the next renewal."""
        found = self._issued(replaces, ca_id)
        if found is None:
            raise malformed("replaces names no certificate of this certificate authority")
        certificate, _, issued = found
        try:
            san = issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            held = {n.lower() for n in san.get_values_for_type(x509.DNSName)}
        except x509.ExtensionNotFound:
            held = set()
        if self._store.certificate_for(account.id, tuple(sorted(held))) != certificate.id:
            raise AcmeProblem("unauthorized", "the certificate it replaces was not issued to this account")
        if not held & set(names):
            raise malformed("the order shares no identifier with the certificate it replaces")
        holder = self._replacing_order(replaces)
        if holder is not None:
            raise AcmeProblem("alreadyReplaced", f"order {holder} already replaces this certificate")

    def _replacing_order(self, cert_id: str) -> str | None:
        """The order that replaced the certificate or is issuing its replacement; a claim left by a finalize that
        did not issue (the order is back to ready, or invalid, or decided invalid here: `_settled`) is dropped."""
        holder = self._store.replacement_of(cert_id)
        if holder is None:
            return None
        other = self._store.get_order(holder)
        if other is not None:
            other = self._settled(other)
        if other is not None and other.status in (Status.PROCESSING, Status.VALID):
            return holder
        self._store.release_replacement(cert_id, holder)
        return None

    def _claim_replacement(self, order: Order) -> None:
        """Make `order` the one that replaces its `replaces` certificate, or 409 alreadyReplaced."""
        assert order.replaces is not None
        for _ in range(2):  # a stale claim is dropped once, then claimed again
            holder = self._store.claim_replacement(order.replaces, order.id)
            if holder is None:
                return
            if self._replacing_order(order.replaces) is not None:
                break
        raise AcmeProblem("alreadyReplaced", "another order already replaces this certificate")

    # -- policy ---------------------------------------------------------------------------------------------

    def _issuing_ca(self, ca_id: str) -> CertificateAuthority:
        try:
            return self._authorities.get(ca_id)
        except NotFoundError as err:
            raise AcmeProblem("notFound", f"no ACME directory for {ca_id!r}") from err

    def _allow(self, account: Account, action: str, certificate: Certificate, operation: str) -> None:
        """The account's principal may `action` the certificate (Cedar, audited on denial), else unauthorized."""
        try:
            self._authorizer.require(
                _principal(account),
                action,
                self._authorizer.entities.certificate(certificate),
                operation=operation,
                resource_id=certificate.id,
                hidden=f"certificate {certificate.id} not found",
            )
        except (AccessDeniedError, NotFoundError) as err:
            raise AcmeProblem("unauthorized", f"the account's principal may not {action} this certificate") from err

    def _may_issue(self, account: Account, ca: CertificateAuthority, names: tuple[str, ...]) -> None:
        """The account's principal must be allowed to have `ca` issue `names` (as POST /certificates would)."""
        context = {"issuing": "CERTIFICATE", "names": list(names), "namesSuffix": common_dns_suffix(list(names))}
        try:
            self._authorizer.require(
                _principal(account),
                "Issue",
                self._authorizer.entities.authority(ca),
                operation="AcmeNewOrder",
                resource_id=ca.id,
                hidden=f"certificate authority {ca.id} not found",
                context=context,
            )
        except (AccessDeniedError, NotFoundError) as err:
            raise AcmeProblem(
                "unauthorized", f"the account's principal may not have {ca.id} issue these names"
            ) from err


def finalize_token(order: Order) -> str:
    """The reservation token (certwright.services.reservation) a finalize attempt issues under: one per attempt
    (the order and when it became processing), so `_settled` finds what that attempt reserved."""
    assert order.processing_since is not None
    since = order.processing_since.isoformat()
    return request_token(order.account_id, "AcmeFinalize", order.id, {"processingSince": since})


def _owned(v: _Verified, account_id: str) -> Account:
    if v.account is None or v.account.id != account_id:
        raise AcmeProblem("unauthorized", "the JWS is signed by another account")
    return v.account


def _principal(account: Account) -> Principal:
    return principal_from_arn(account.principal)


def _json(jws: Jws) -> object:
    import json

    try:
        return json.loads(jws.payload)
    except ValueError as err:
        raise malformed("the payload is not JSON") from err


def _contact(raw: object) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw) or len(raw) > 10:
        raise AcmeProblem("invalidContact", "contact is a list of at most 10 mailto: URLs")
    for c in raw:
        if not c.startswith("mailto:") or len(c) > 320 or "," in c:
            raise AcmeProblem("unsupportedContact", f"{c!r} is not a mailto: URL")
    return tuple(raw)


def _checked_names(
    ca: CertificateAuthority, names: tuple[str, ...], now: datetime
) -> tuple[SubjectAlternativeName, ...]:
    """The names as SANs, each a valid DNS name inside the CA's name constraints, the CA able to issue."""
    try:
        sans = tuple(SubjectAlternativeName(SanType.DNS, normalize_dns_name(n, field="identifier")) for n in names)
    except InvalidInputError as err:
        raise AcmeProblem("rejectedIdentifier", err.message) from err
    try:
        ensure_can_issue(ca, now)
    except CertwrightError as err:
        raise AcmeProblem("serverInternal", err.message) from err
    try:
        check_name_constraints(ca, sans)
    except PolicyViolationError as err:
        raise AcmeProblem("rejectedIdentifier", err.message) from err
    return sans


def _csr_pem(raw: object, names: tuple[str, ...]) -> str:
    """The finalize CSR as PEM; its names (SAN dNSNames and the CN) must be exactly the order's."""
    der = b64url_decode(raw, "csr")
    try:
        csr = x509.load_der_x509_csr(der)
        if not csr.is_signature_valid:
            raise AcmeProblem("badCSR", "the CSR's signature does not verify")
        requested = {str(a.value).lower() for a in csr.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)}
        try:
            san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            san = x509.SubjectAlternativeName([])
        if san.get_values_for_type(x509.IPAddress):
            raise AcmeProblem("badCSR", "the CSR names IP addresses the order does not")
        requested |= {n.lower().rstrip(".") for n in san.get_values_for_type(x509.DNSName)}
    except ValueError as err:
        raise AcmeProblem("badCSR", "the CSR is not a valid PKCS#10 request") from err
    if requested != set(names):
        raise AcmeProblem("badCSR", f"the CSR names {sorted(requested)}, the order {list(names)}")
    return csr.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _spki(key: Any) -> bytes:
    return bytes(key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo))


def _same_pem(a: str, b: str) -> bool:
    return a.strip() == b.strip()


def _renewable_by(certificate: Certificate, order: Order) -> bool:
    """Whether an order renews the account's earlier certificate for its names: only one of the order's own CA that
    is still ACTIVE (a deleted or retiring certificate, or one from another CA's directory, is not renewed)."""
    return certificate.lifecycle_state is LifecycleState.ACTIVE and certificate.issuer_ca_id == order.ca_id


def _deactivated(authorization: Authorization) -> Authorization:
    """The authorization deactivated by its account (RFC 8555 §7.5.2); final states stay."""
    if authorization.status in (Status.PENDING, Status.VALID):
        return replace(authorization, status=Status.DEACTIVATED)
    return authorization
