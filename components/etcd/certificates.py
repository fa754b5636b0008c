"""etcd's CA and certificates, issued by the stack with pulumi-tls (docs/decisions.md says why not
cert-manager). Private keys live in the stack's state, encrypted as secrets, and are wrapped in
`pulumi.Output.secret` here as well: the provider marks them secret itself, but not every engine
(the offline plan's mocks) does, and a key must never reach a plan artifact or a diff in plain text.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from components.etcd.tls import CA_VALIDITY_HOURS, EARLY_RENEWAL_HOURS, LEAF_VALIDITY_HOURS, member_dns_names

if TYPE_CHECKING:
    from pulumi_tls import PrivateKey

ALGORITHM, CURVE = "ECDSA", "P256"
MEMBER_USES = ["digital_signature", "key_encipherment", "server_auth", "client_auth"]
CLIENT_USES = ["digital_signature", "key_encipherment", "client_auth"]


@dataclass(frozen=True)
class Pem:
    """A certificate and its key (the key always a secret Output)."""

    cert: pulumi.Output[str]
    key: pulumi.Output[str]

    @property
    def revision(self) -> pulumi.Output[str]:
        """A short digest of the certificate, which changes when it is renewed."""
        return self.cert.apply(lambda pem: hashlib.sha256(pem.encode()).hexdigest()[:16])


@dataclass(frozen=True)
class EtcdCertificates:
    ca: pulumi.Output[str]  # the CA certificate (public)
    member: Pem
    client: Pem


def _key(name: str, opts: pulumi.ResourceOptions) -> tuple[PrivateKey, pulumi.Output[str]]:
    from pulumi_tls import PrivateKey

    key = PrivateKey(name, algorithm=ALGORITHM, ecdsa_curve=CURVE, opts=opts)
    return key, pulumi.Output.secret(key.private_key_pem)


def issue(name: str, *, cluster: str, peer_service: str, namespace: pulumi.Input[str],
          opts: pulumi.ResourceOptions) -> EtcdCertificates:
    """A CA, one certificate for every member (client and peer traffic) and one client certificate."""
    from pulumi_tls import (
        CertRequest,
        CertRequestSubjectArgs,
        LocallySignedCert,
        SelfSignedCert,
        SelfSignedCertSubjectArgs,
    )

    _, ca_key = _key(f"{name}-ca-key", opts)
    ca = SelfSignedCert(f"{name}-ca", private_key_pem=ca_key, is_ca_certificate=True,
                        subject=SelfSignedCertSubjectArgs(common_name=f"{cluster} etcd CA",
                                                          organization="dynamo-cluster"),
                        validity_period_hours=CA_VALIDITY_HOURS,
                        allowed_uses=["cert_signing", "crl_signing", "digital_signature"], opts=opts)

    def signed(role: str, common_name: str, uses: list[str], dns_names: pulumi.Input[list[str]] | None,
               ip_addresses: list[str] | None) -> Pem:
        _, key = _key(f"{name}-{role}-key", opts)
        request = CertRequest(f"{name}-{role}-csr", private_key_pem=key, dns_names=dns_names,
                              ip_addresses=ip_addresses,
                              subject=CertRequestSubjectArgs(common_name=common_name, organization="dynamo-cluster"),
                              opts=opts)
        cert = LocallySignedCert(f"{name}-{role}-cert", cert_request_pem=request.cert_request_pem,
                                 ca_cert_pem=ca.cert_pem, ca_private_key_pem=ca_key,
                                 validity_period_hours=LEAF_VALIDITY_HOURS, early_renewal_hours=EARLY_RENEWAL_HOURS,
                                 allowed_uses=uses, opts=opts)
        return Pem(cert=cert.cert_pem, key=key)

    dns = pulumi.Output.from_input(namespace).apply(lambda ns: member_dns_names(cluster, peer_service, ns))
    member = signed("member", f"{cluster} member", MEMBER_USES, dns, ["127.0.0.1"])
    client = signed("client", f"{cluster} client", CLIENT_USES, None, None)
    return EtcdCertificates(ca=ca.cert_pem, member=member, client=client)
