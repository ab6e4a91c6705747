"""Fixtures for the lifecycle tests: real ALBs with HTTPS listeners in the embedded AWS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import Aws
from tests.lifecycle.faults import container_with_faults, faults  # noqa: F401 - fixtures
from tests.lifecycle.table_stream import TableStream


def placeholder_certificate(common_name: str = "placeholder.invalid") -> tuple[str, str]:
    """A self-signed certificate a listener starts with, as an operator would have put there by hand."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


@dataclass
class LoadBalancer:
    arn: str
    listeners: list[str]
    placeholder_arn: str
    elbv2: Any
    acm: Any

    def served(self, listener: str) -> tuple[str | None, list[str]]:
        """(default certificate ARN, SNI certificate ARNs) as ELBv2 reports them."""
        default = self.elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["Certificates"][0][
            "CertificateArn"
        ]
        all_certs = self.elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
        return default, [c["CertificateArn"] for c in all_certs if not c.get("IsDefault")]

    def serial(self, certificate_arn: str) -> str:
        serial = self.acm.describe_certificate(CertificateArn=certificate_arn)["Certificate"]["Serial"]
        return str(serial).replace(":", "").lower().lstrip("0")


def make_load_balancer(aws: Aws, listeners: int = 1, name: str = "web") -> LoadBalancer:
    session = aws.session
    ec2, elbv2, acm = session.client("ec2"), session.client("elbv2"), session.client("acm")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="application")["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    group = elbv2.create_target_group(Name=f"{name}-tg", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    cert_pem, key_pem = placeholder_certificate()
    placeholder = acm.import_certificate(Certificate=cert_pem.encode(), PrivateKey=key_pem.encode())["CertificateArn"]
    arns = [
        elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTPS",
            Port=443 + i,
            Certificates=[{"CertificateArn": placeholder}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )["Listeners"][0]["ListenerArn"]
        for i in range(listeners)
    ]
    return LoadBalancer(lb, arns, placeholder, elbv2, acm)


@pytest.fixture
def load_balancer(aws: Aws) -> LoadBalancer:
    return make_load_balancer(aws, listeners=3)


@pytest.fixture
def stream(aws: Aws) -> TableStream:
    return TableStream(aws)
