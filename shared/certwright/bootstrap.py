"""Composition root: builds clients, adapters and services once per Lambda container."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from certwright.adapters.acm import AcmCertificates
from certwright.adapters.dynamodb_acme import DynamoDbAcme
from certwright.adapters.dynamodb_associations import DynamoDbAssociations
from certwright.adapters.dynamodb_audit import DynamoDbAuditLog
from certwright.adapters.dynamodb_authorities import DynamoDbAuthorities
from certwright.adapters.dynamodb_ca_bundles import DynamoDbCaBundles
from certwright.adapters.dynamodb_crl import DynamoDbCrlStates
from certwright.adapters.dynamodb_deletion import DynamoDbDeletionStore
from certwright.adapters.dynamodb_grants import DynamoDbGrants
from certwright.adapters.dynamodb_images import decode_image
from certwright.adapters.dynamodb_lookup import DynamoDbCertificateLookup
from certwright.adapters.dynamodb_models import HOT_PATH, Row, bind
from certwright.adapters.dynamodb_poll import DynamoDbHostIndex
from certwright.adapters.dynamodb_reindex import DynamoDbReindex
from certwright.adapters.dynamodb_repair import DynamoDbRepairStore
from certwright.adapters.dynamodb_revocations import DynamoDbRevocations
from certwright.adapters.dynamodb_store import DynamoDbStore
from certwright.adapters.elbv2 import Elbv2Listeners
from certwright.adapters.eventbridge import EventBusPublisher
from certwright.adapters.idempotency import IdempotentRequests
from certwright.adapters.kms import KmsCaKeys, KmsKeyVault
from certwright.adapters.kms_eab import KmsEabSealer
from certwright.adapters.page_tokens import SealedPageTokens, TablePageTokenKey
from certwright.adapters.s3_objects import S3Objects
from certwright.adapters.sns import SnsAlertPublisher
from certwright.adapters.target_tags import AwsTargetTags
from certwright.authorization.decision import PolicyDecisionPoint, extra_policy_text
from certwright.authorization.enforcement import Authorizer
from certwright.authorization.entities import EntityBuilder
from certwright.authorization.grants import Grant
from certwright.config import Settings
from certwright.domain.association import Association
from certwright.ports import AssociationStore, GrantStore
from certwright.ports.acme_challenges import ChallengeChecker, ChallengeResult, ChallengeType
from certwright.ports.page_tokens import PageTokens
from certwright.services.acme_eab import EabKeyService
from certwright.services.acme_server import AcmeServer
from certwright.services.acme_validator import ChallengeValidator
from certwright.services.alerts import AlertNotifier
from certwright.services.associations import AssociationService
from certwright.services.audit import AuditService
from certwright.services.authorities import AuthorityService
from certwright.services.bundles import BundleService
from certwright.services.ca_bundles import CaBundleService
from certwright.services.certificates import CertificateService
from certwright.services.consent import ConsentService
from certwright.services.context import Runtime
from certwright.services.crl_publisher import CrlPublisher
from certwright.services.deletion import DeletionService
from certwright.services.deployment import DeploymentService
from certwright.services.deployment_events import DeploymentEvents
from certwright.services.grants import GrantService
from certwright.services.issuance import IssuanceService
from certwright.services.lookup import CertificateLookup
from certwright.services.outbox_publisher import OutboxPublisher
from certwright.services.poll import PollService
from certwright.services.probes import ProbeService
from certwright.services.reindex import ReindexPass
from certwright.services.repair import RepairPass
from certwright.services.revocation import RevocationService
from certwright.services.sweep import RenewalSweep
from certwright.x509.endpoint_checks import Observation

_RETRIES = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)
# KMS signs and seals on every issuance: the hot path's User-Agent, and no re-validation of parameters the
# adapter builds itself (PynamoDB's DynamoDB client skips it too).
_KMS = _RETRIES.merge(HOT_PATH).merge(Config(parameter_validation=False))
# Every other client: the same fixed User-Agent (botocore would rebuild its structured one for every call).
_CONFIGS = {"kms": _KMS}
_DEFAULT = _RETRIES.merge(HOT_PATH)


class _LazyClient:
    """A boto3 client made on its first use (an attribute read): a function that never calls a service never
    builds its client. The real client copies the session's event handlers when it is made, not at `build`."""

    __slots__ = ("_client", "_lock", "_make")

    def __init__(self, make: Callable[[], Any], lock: threading.Lock) -> None:
        self._make = make
        self._lock = lock
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        client = self._client
        if client is None:
            with self._lock:  # botocore client creation is not thread-safe
                if self._client is None:
                    self._client = self._make()
                client = self._client
        return getattr(client, name)


class _Clients:
    """One lazy client per AWS service for the whole container (the adapters that use a service share it)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._clients: dict[str, _LazyClient] = {}

    def __call__(self, service: str) -> Any:
        if service not in self._clients:
            config = _CONFIGS.get(service, _DEFAULT)
            self._clients[service] = _LazyClient(lambda: self._session.client(service, config=config), self._lock)
        return self._clients[service]


@dataclass(frozen=True)
class Container:
    settings: Settings
    store: DynamoDbStore
    authorities: AuthorityService
    issuance: IssuanceService
    certificates: CertificateService
    bundles: BundleService
    associations: AssociationService
    ca_bundles: CaBundleService
    idempotency: IdempotentRequests
    deployment: DeploymentService
    deployment_events: DeploymentEvents
    sweep: RenewalSweep
    deletion: DeletionService
    alerts: AlertNotifier
    audit: AuditService
    revocation: RevocationService
    crl_publisher: CrlPublisher
    outbox: OutboxPublisher
    consent: ConsentService
    # Authorization: the decision point with its entities (api.permissions applies it), grants and their store.
    authorizer: Authorizer
    grants: GrantService
    ca_bundle_store: DynamoDbCaBundles
    # Find by what a client sees: certificates by serial number or fingerprint (adapters/dynamodb_lookup.py).
    lookup: CertificateLookup
    # Hosts: the batch poll and the report of a deployment (services/poll.py).
    poll: PollService
    # Scheduled endpoint probes (functions/endpoint_prober; its TLS adapter is loaded on the first probe).
    probes: ProbeService
    # ACME (RFC 8555): the protocol server, the challenge validator and the EAB keys of the API.
    acme: AcmeServer
    acme_validator: ChallengeValidator
    eab_keys: EabKeyService
    page_tokens: PageTokens


class _TlsOnDemand:
    """The TLS adapter, imported when a probe runs: pyOpenSSL ships with functions/endpoint_prober only."""

    def observe(self, host: str, port: int, server_name: str) -> Observation | str:
        from certwright.adapters.tls_endpoint import TlsEndpoint

        return TlsEndpoint().observe(host, port, server_name)


class _AcceptAll:
    """A checker that finds every challenge valid: only for tests on the local runtime (acme_checker)."""

    def check(
        self, challenge_type: ChallengeType, identifier: str, token: str, key_authorization: str
    ) -> ChallengeResult:
        return ChallengeResult(True, detail="accept-all (local runtime)")


def challenge_checker(settings: Settings) -> ChallengeChecker:
    """The network checker (certwright.adapters.acme_challenges, imported on first use), or accept-all — which
    is refused unless the SDK talks to the embedded AWS on 127.0.0.1 (the local runtime)."""
    if settings.acme_checker == "accept-all":
        if not settings.aws_endpoint_url.startswith(("http://127.0.0.1:", "http://localhost:")):
            raise RuntimeError("CERTWRIGHT_ACME_CHECKER=accept-all is only for the local runtime")
        return _AcceptAll()
    if settings.acme_checker != "network":
        raise RuntimeError(f"CERTWRIGHT_ACME_CHECKER must be network or accept-all, not {settings.acme_checker!r}")
    return _NetworkOnDemand(settings)


class _NetworkOnDemand:
    """The network checker, built on the first check (its module and its dependencies load only then)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._checker: ChallengeChecker | None = None

    def check(
        self, challenge_type: ChallengeType, identifier: str, token: str, key_authorization: str
    ) -> ChallengeResult:
        if self._checker is None:
            from certwright.adapters import acme_challenges  # type: ignore[attr-defined,unused-ignore]

            self._checker = acme_challenges.NetworkChallengeChecker(self._settings)
        return self._checker.check(challenge_type, identifier, token, key_authorization)


def build(settings: Settings, session: Any | None = None, runtime: Runtime | None = None) -> Container:
    session = session or boto3.session.Session(region_name=settings.region)
    client = _Clients(session)
    kms = client("kms")
    # PynamoDB's own client (the table's, made now) resolves the endpoint as every client does (host None).
    connection = bind(settings.table_name, session, settings.region, None)
    # Services that need several aggregates get the composed store; the others only the port they use.
    store = DynamoDbStore(Row, connection)
    associations = DynamoDbAssociations(Row, connection)
    rt = runtime or Runtime()
    vault = KmsKeyVault(kms, settings.key_encryption_key_id)
    backdate = settings.not_before_backdate
    authorities = AuthorityService(store, KmsCaKeys(kms), rt, settings.publication, backdate=backdate)
    issuance = IssuanceService(store, authorities, vault, rt, settings.publication, backdate=backdate)
    certificates = CertificateService(store, issuance, rt)
    target_tags = AwsTargetTags(
        client("elbv2"),
        client("acm"),
        client("iam"),
    )
    # One notion of the stack's account for consent, key reads and authorization (settings.account).
    consent = ConsentService(target_tags, associations, settings.account)
    bundles = BundleService(store, certificates, vault, rt, settings.deployer_role_arn, consent)
    ca_bundle_store = DynamoDbCaBundles(Row, connection)
    ca_bundles = CaBundleService(ca_bundle_store, authorities, rt)
    grant_store = DynamoDbGrants(Row, connection)
    # Compiled and validated here, once per container: a broken policy fails the start (PolicyError).
    pdp = PolicyDecisionPoint.load(extra_policy_text(settings.extra_policies))
    entities = EntityBuilder(
        _EntitySource(grant_store, associations),
        account=settings.account,
        admins=settings.admin_principal_arns,
        deployer_role_arn=settings.deployer_role_arn,
    )
    deployment = DeploymentService(
        store,
        bundles,
        AcmCertificates(client("acm")),
        Elbv2Listeners(client("elbv2")),
        rt,
        settings.deployer_role_arn,
        time.sleep,
        consent,
    )
    crl_states = DynamoDbCrlStates(Row, settings.crl_policy)
    revocation = RevocationService(store, issuance, authorities, rt)
    authorizer = Authorizer(pdp, entities, DynamoDbAuditLog(Row, connection), rt)
    acme_store = DynamoDbAcme(Row, connection)
    eab_sealer = KmsEabSealer(kms, settings.key_encryption_key_id)
    crl_publisher = CrlPublisher(
        DynamoDbAuthorities(Row, connection),
        authorities.signer_for,
        DynamoDbRevocations(Row, connection),
        crl_states,
        S3Objects(client("s3"), settings.pki_bucket),
        rt,
        settings.crl_policy,
        settings.publication.crl_url,
        issued_count=crl_states.issued_count,
    )
    return Container(
        settings=settings,
        store=store,
        authorities=authorities,
        issuance=issuance,
        certificates=certificates,
        bundles=bundles,
        associations=AssociationService(store, certificates, rt, ca_bundles, consent),
        ca_bundles=ca_bundles,
        idempotency=IdempotentRequests(settings.idempotency_table_name, client("dynamodb")),
        deployment=deployment,
        deployment_events=DeploymentEvents(deployment),
        sweep=RenewalSweep(
            store,
            issuance,
            rt,
            repair=RepairPass(DynamoDbRepairStore(Row, connection), rt),
            reindex=ReindexPass(DynamoDbReindex(Row, connection)),
        ),
        deletion=DeletionService(
            DynamoDbDeletionStore(Row, connection),
            KmsCaKeys(kms),
            AcmCertificates(client("acm")),
            rt,
        ),
        alerts=AlertNotifier(SnsAlertPublisher(client("sns"), settings.alert_topic_arn)),
        audit=AuditService(store),
        revocation=revocation,
        crl_publisher=crl_publisher,
        outbox=OutboxPublisher(EventBusPublisher(client("events"), settings.event_bus_name), decode_image),
        consent=consent,
        authorizer=authorizer,
        grants=GrantService(grant_store, rt),
        ca_bundle_store=ca_bundle_store,
        lookup=CertificateLookup(store, DynamoDbCertificateLookup(Row)),
        poll=PollService(DynamoDbHostIndex(Row), store, rt),
        probes=ProbeService(store, _TlsOnDemand(), rt),
        acme=AcmeServer(
            acme_store,
            eab_sealer,
            store,
            DynamoDbCertificateLookup(Row),
            authorities,
            issuance,
            revocation,
            authorizer,
            rt,
            require_eab=settings.acme_require_eab,
            validity_duration=settings.acme_validity_duration or None,
        ),
        acme_validator=ChallengeValidator(acme_store, challenge_checker(settings), rt, time.sleep),
        eab_keys=EabKeyService(acme_store, eab_sealer, authorities, store, rt),
        page_tokens=SealedPageTokens(TablePageTokenKey(Row, kms, settings.key_encryption_key_id)),
    )


@dataclass(frozen=True)
class _EntitySource:
    grants: GrantStore
    associations: AssociationStore

    def grants_of(self, resource_id: str) -> list[Grant]:
        return self.grants.grants_of(resource_id)

    def associations_of(self, certificate_id: str) -> list[Association]:
        return self.associations.associations_of(certificate_id)


_installed: Container | None = None


def install(instance: Container | None) -> None:
    """Use `instance` instead of building from the environment (local runtime, tests, demo); None resets."""
    global _installed
    _installed = instance
    _from_env.cache_clear()


def container() -> Container:
    return _installed if _installed is not None else _from_env()


@lru_cache(maxsize=1)
def _from_env() -> Container:
    return build(Settings.from_env())
