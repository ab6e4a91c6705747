"""An HTTPS load-balancer listener on the embedded AWS, serving a placeholder certificate: what the wiring, CLI and
console tests associate certificates with."""

from __future__ import annotations

from typing import Any

from infra.demo import third_party_certificate


def https_listener(session: Any, name: str, octet: int, placeholder_name: str) -> str:
    """A new application load balancer `name` (in VPC 10.<octet>.0.0/16) with one HTTPS listener on 443."""
    ec2, elbv2, acm = (session.client(service) for service in ("ec2", "elbv2", "acm"))
    vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, Type="application")
    group = elbv2.create_target_group(Name=name, Protocol="HTTP", Port=80, VpcId=vpc)
    _, pem, key = third_party_certificate(placeholder_name)
    placeholder = acm.import_certificate(Certificate=pem.encode(), PrivateKey=key.encode())["CertificateArn"]
    return str(
        elbv2.create_listener(
            LoadBalancerArn=lb["LoadBalancers"][0]["LoadBalancerArn"],
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": placeholder}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}],
        )["Listeners"][0]["ListenerArn"]
    )
