"""What the demo's customer brings from outside Certwright: a CSR made on its own host, a third-party certificate,
and its own AWS resources (a load balancer with an HTTPS listener, the consent tag its owner sets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from certwright.services.consent import CONSENT_TAG, consented_certificates
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from infra.demo_story import Story


def customer_csr(common_name: str) -> tuple[str, str]:
    """What a customer does on their own host: make a key that never leaves it, and a CSR."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return csr.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def third_party_certificate(common_name: str) -> tuple[str, str, str]:
    """A certificate from someone else's CA, to import: (root PEM, leaf PEM, leaf key PEM)."""
    now = datetime.now(UTC)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Third-Party Root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(root_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(common_name)]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    return root.public_bytes(pem).decode(), leaf.public_bytes(pem).decode(), key_pem


def make_load_balancer(story: Story) -> tuple[str, str]:
    """An application load balancer with one HTTPS listener, serving a placeholder certificate put there by hand."""
    ec2, elbv2, acm = (story.session.client(name) for name in ("ec2", "elbv2", "acm"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    lb = elbv2.create_load_balancer(Name="payments", Subnets=subnets, Type="application")["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="payments-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    _, placeholder_pem, placeholder_key = third_party_certificate("placeholder.acme.example")
    placeholder = acm.import_certificate(Certificate=placeholder_pem.encode(), PrivateKey=placeholder_key.encode())
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": placeholder["CertificateArn"]}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )["Listeners"][0]["ListenerArn"]
    return listener, placeholder["CertificateArn"]


def consent_by_tag(story: Story, listener: str, certificate_id: str) -> None:
    """What the listener's owner does to consent: name the certificate in the listener's certwright:consent tag."""
    elbv2 = story.session.client("elbv2")
    (described,) = elbv2.describe_tags(ResourceArns=[listener])["TagDescriptions"]
    tags = {t["Key"]: t["Value"] for t in described["Tags"]}
    ids = consented_certificates(tags) | {certificate_id}
    elbv2.add_tags(ResourceArns=[listener], Tags=[{"Key": CONSENT_TAG, "Value": " ".join(sorted(ids))}])


def listener_serials(story: Story, listener: str) -> tuple[str, list[str]]:
    """The serials ELBv2 + ACM serve on the listener: (default, [SNI...]), as lower-case hex."""
    elbv2, acm = story.session.client("elbv2"), story.session.client("acm")

    def serial(arn: str) -> str:
        return str(acm.describe_certificate(CertificateArn=arn)["Certificate"]["Serial"]).replace(":", "").lstrip("0")

    default = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"][0]["Certificates"][0]["CertificateArn"]
    sni = [
        c["CertificateArn"]
        for c in elbv2.describe_listener_certificates(ListenerArn=listener)["Certificates"]
        if not c.get("IsDefault")
    ]
    return serial(default), [serial(arn) for arn in sni]
