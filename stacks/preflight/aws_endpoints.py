"""The AWS side of the graphs' load balancer endpoints, before `pulumi up` makes them: the subnets
the load balancers go into exist in the cluster's VPC with the CIDRs the NetworkPolicies admit and
span two zones; each endpoint's certificate is issued, in the stack's region, for its host name;
and the cluster can hand the controller its IAM role (the Pod Identity agent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.ingress.settings import ControllerSettings, LoadBalancer
from stacks.config.aws import AwsConfig
from stacks.config.stack import StackConfig
from stacks.ops.aws import AwsCallError, Caller, ask, need, need_list, not_checked
from stacks.ops.report import Finding
from stacks.preflight.aws_cache import check_pod_identity_agent

if TYPE_CHECKING:
    from mypy_boto3_acm import ACMClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient

CONTROLLER = "the AWS Load Balancer Controller"


def check_load_balancer_subnets(settings: ControllerSettings, aws: AwsConfig, ec2: EC2Client,
                                caller: Caller) -> Finding:
    name = "load balancer subnets"
    ids = list(dict.fromkeys(s.id for s in settings.subnets))
    try:
        found = need_list("ec2:DescribeSubnets", ask("ec2:DescribeSubnets", lambda: ec2.describe_subnets(
            SubnetIds=ids)), "Subnets")
    except AwsCallError as failure:
        if failure.code == "InvalidSubnetID.NotFound":
            return Finding.failed(name, f"not found in {aws.region}: {failure.describe()}",
                                  "list subnets of the cluster's VPC in loadBalancer.subnets")
        return not_checked(name, failure, caller)
    by_id = {s.get("SubnetId", ""): s for s in found}
    wrong: list[str] = []
    for subnet in settings.subnets:
        answer = by_id.get(subnet.id)
        if answer is None:
            wrong.append(f"{subnet.id} is not in the answer")
            continue
        if aws.vpc_id and answer.get("VpcId") != aws.vpc_id:
            wrong.append(f"{subnet.id} is in {answer.get('VpcId')}, not the cluster's VPC {aws.vpc_id}")
        if answer.get("CidrBlock") != subnet.cidr:
            wrong.append(f"{subnet.id} has CIDR {answer.get('CidrBlock')}, not {subnet.cidr} (the frontends' "
                         "NetworkPolicies would admit the wrong addresses)")
    zones = sorted({str(s.get("AvailabilityZone", "")) for s in found})
    if len(zones) < 2:
        wrong.append(f"they span {len(zones)} zone(s) ({', '.join(zones)}); an Application Load Balancer needs two")
    if wrong:
        return Finding.failed(name, "; ".join(wrong), "set loadBalancer.subnets to the ids and CIDRs "
                              "`aws ec2 describe-subnets` shows, in two zones of the cluster's VPC")
    return Finding.passed(name, f"{', '.join(ids)} in {aws.vpc_id or 'the VPC'}, zones {', '.join(zones)}")


def _covers(pattern: str, host: str) -> bool:
    """Whether a certificate name (possibly `*.example.com`) covers `host`."""
    pattern, host = pattern.lower(), host.lower()
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def check_certificate(graph: str, endpoint: LoadBalancer, aws: AwsConfig, acm: ACMClient,
                      caller: Caller) -> Finding:
    name = f"graph {graph}: certificate"
    arn = endpoint.certificate_arn
    region = arn.split(":")[3] if arn.count(":") >= 5 else ""
    if region != aws.region:
        return Finding.failed(name, f"{arn} is in {region or 'no region'}, not the stack's region {aws.region}",
                              "an ACM certificate in the load balancer's region")
    try:
        certificate = need("acm:DescribeCertificate", ask(
            "acm:DescribeCertificate", lambda: acm.describe_certificate(CertificateArn=arn)), "Certificate")
    except AwsCallError as failure:
        if failure.code == "ResourceNotFoundException":
            return Finding.failed(name, f"{arn} does not exist", "request or import the certificate in ACM")
        return not_checked(name, failure, caller)
    status = certificate.get("Status", "")
    if status != "ISSUED":
        return Finding.failed(name, f"is {status}, not ISSUED", "complete the certificate's validation in ACM")
    names = [certificate.get("DomainName", ""), *certificate.get("SubjectAlternativeNames", [])]
    if endpoint.hostname and not any(_covers(n, endpoint.hostname) for n in names if n):
        return Finding.failed(name, f"covers {', '.join(sorted(set(names)))}, not {endpoint.hostname}",
                              "a certificate for graphs[].endpoint.hostname")
    return Finding.passed(name, f"ISSUED for {certificate.get('DomainName', '')}")


def endpoint_aws_checks(config: StackConfig, *, ec2: EC2Client, eks: EKSClient, acm: ACMClient | None,
                        caller: Caller) -> list[Finding]:
    settings = config.load_balancer
    if settings is None:
        return []
    results = [check_load_balancer_subnets(settings, config.aws, ec2, caller)]
    for graph in config.dynamo.graphs:
        if isinstance(graph.endpoint, LoadBalancer):
            if acm is None:
                results.append(Finding.failed(f"graph {graph.name}: certificate", "not checked: no ACM client",
                                              "run preflight with AWS credentials for the stack's region"))
            else:
                results.append(check_certificate(graph.name, graph.endpoint, config.aws, acm, caller))
    if settings.install:
        results.append(check_pod_identity_agent(settings.cluster_name, CONTROLLER, eks, caller))
    return results
