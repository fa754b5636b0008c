"""preflight --aws against moto's server behind a fault-injecting HTTP proxy: for each kind of answer
that cannot be used (not XML, not UTF-8, a missing list, a 5xx with Retry-After, throttling, no
answer at all) the check that asked fails naming the call, nothing raises, and the run ends in
bounded time; the FSx and EFS listings included."""

from __future__ import annotations

import http.client
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from stacks.ops.aws import AwsClients, bounded_client
from stacks.ops.report import Finding
from stacks.preflight.aws import aws_checks
from tests.harness import parse, stack_config
from tests.integration.servers import free_ports

REGION = "us-east-1"
CLUSTER = "dynamo-prod"
ERROR_XML = ("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
             "<RequestID>fault</RequestID></Response>")


@dataclass
class Proxy:
    """Forwards to moto; answers the operations in `faults` with the fault named instead."""

    upstream: int
    faults: dict[str, str] = field(default_factory=dict)
    served: list[tuple[str, float]] = field(default_factory=list)  # (fault, when) of each faulty answer
    server: ThreadingHTTPServer | None = None

    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def _operation(headers: Any, body: bytes, method: str = "", path: str = "") -> str:
    target = headers.get("X-Amz-Target")
    if target:
        return str(target).rsplit(".", 1)[-1]
    if method == "GET" and urllib.parse.urlsplit(path).path == "/2015-02-01/file-systems":
        return "EfsDescribeFileSystems"  # EFS's REST API: the listing has no action name on the wire
    return urllib.parse.parse_qs(body.decode(errors="replace")).get("Action", [""])[0]


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            kept = {k: v for k, v in answer.getheaders() if k.lower() not in ("content-length", "transfer-encoding")}
            upstream.close()
            return answer.status, kept, data

        def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = proxy.faults.get(_operation(self.headers, body, self.command, self.path))
            if fault is not None:
                proxy.served.append((fault, time.monotonic()))
            xml = {"Content-Type": "text/xml"}
            if fault == "html":
                self._send(200, {"Content-Type": "text/html"}, b"<html><body>502 Bad Gateway</body></html>")
            elif fault == "not-utf8":
                self._send(200, xml, b"<?xml version='1.0'?><Response>\xff\xfe\xfa</Response>")
            elif fault == "server-error":
                self._send(503, {**xml, "Retry-After": "1"},
                           ERROR_XML.format(code="ServiceUnavailable", message="busy").encode())
            elif fault == "throttled":
                self._send(400, xml, ERROR_XML.format(code="RequestLimitExceeded", message="slow down").encode())
            elif fault == "silent":
                time.sleep(3)  # longer than the clients' read timeout; then hang up without an answer
                self.close_connection = True
            else:
                status, headers, data = self._forward(body)
                if fault == "missing":
                    data = re.sub(rb"<subnetSet>.*</subnetSet>", b"", data, flags=re.S)
                    if data.startswith(b"{"):
                        data = json.dumps({k: v for k, v in json.loads(data).items() if k != "FileSystems"}).encode()
                self._send(status, headers, data)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    return Handler


@pytest.fixture(scope="module")
def moto_server() -> Iterator[int]:
    from moto.server import ThreadedMotoServer

    [port] = free_ports(1)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield port
    finally:
        server.stop()


@pytest.fixture
def proxy(moto_server: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    found = Proxy(upstream=moto_server)
    found.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


def _clients(url: str) -> AwsClients:
    """Clients through the proxy, bounded as preflight's are but with a one-second read timeout."""
    session = boto3.Session(region_name=REGION)

    def client(name: str) -> Any:
        return bounded_client(session, name, endpoint_url=url, read_timeout=1)

    return AwsClients(sts=client("sts"), eks=client("eks"), ec2=client("ec2"), quotas=client("service-quotas"),
                      fsx=client("fsx"), efs=client("efs"), acm=client("acm"))


@dataclass
class Setup:
    values: dict[str, Any]
    subnet: str


@pytest.fixture
def setup(proxy: Proxy) -> Setup:
    """A VPC, two subnets, a security group and the EKS cluster, made on moto's server; prod's config
    with one EFA pool in the first subnet and an FSx for Lustre cache."""
    direct = f"http://127.0.0.1:{proxy.upstream}"
    session = boto3.Session(region_name=REGION)
    ec2 = session.client("ec2", endpoint_url=direct)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")
               ["Subnet"]["SubnetId"] for i, zone in enumerate("ab")]
    group = ec2.create_security_group(GroupName=f"c-{vpc}", Description="cluster", VpcId=vpc)["GroupId"]
    eks = session.client("eks", endpoint_url=direct)
    if CLUSTER not in eks.list_clusters()["clusters"]:
        eks.create_cluster(name=CLUSTER, roleArn="arn:aws:iam::123456789012:role/eks", version="1.33",
                           resourcesVpcConfig={"subnetIds": subnets})
    pool = {"name": "h100", "kind": "eks", "instanceType": "p5.48xlarge", "efa": True,
            "availabilityZone": f"{REGION}a", "subnetIds": [subnets[0]], "maxNodes": 2}
    values = stack_config("prod") | {
        "aws": {"region": REGION, "clusterName": CLUSTER, "vpcId": vpc, "clusterSecurityGroupId": group},
        "nodePools": [pool], "graphs": [],
        "modelCache": {"enabled": True, "kind": "fsx-lustre", "fsx": {"storageCapacityGiB": 2400}}}
    values.pop("loadBalancer", None)
    return Setup(values=values, subnet=subnets[0])


def _run(proxy: Proxy, setup: Setup) -> tuple[list[Finding], float]:
    clients = _clients(proxy.url())
    start = time.monotonic()
    results = aws_checks(parse(setup.values, "prod"), lambda _: clients)
    return results, time.monotonic() - start


def _named(results: list[Finding], name: str) -> Finding:
    found = [r for r in results if r.check == name]
    assert found, [r.check for r in results]
    return found[0]


@pytest.mark.parametrize(("fault", "said"), [
    ("html", "ec2:DescribeSubnets failed with an unreadable answer"),
    ("not-utf8", "ec2:DescribeSubnets failed with an unreadable answer"),
    ("missing", "ec2:DescribeSubnets"),
    ("server-error", "ec2:DescribeSubnets failed with ServiceUnavailable"),
    ("throttled", "ec2:DescribeSubnets failed with RequestLimitExceeded"),
    ("silent", "ec2:DescribeSubnets failed with"),
])
def test_each_unusable_answer_fails_the_check_that_asked_in_bounded_time(
        proxy: Proxy, setup: Setup, fault: str, said: str) -> None:
    proxy.faults = {"DescribeSubnets": fault}
    results, elapsed = _run(proxy, setup)
    subnet = _named(results, f"pool h100 subnet {setup.subnet}")
    assert not subnet.ok
    assert said in subnet.detail
    assert subnet.fix
    assert elapsed < 60, elapsed
    if fault == "server-error":
        assert "server error" in subnet.fix
    if fault == "throttled":
        assert "throttled" in subnet.fix


def _file_system_check(results: list[Finding]) -> Finding:
    return _named(results, "model cache file system")


# (the cache's kind, the operation the proxy faults, the call the check must name)
LISTINGS = [("fsx-lustre", "DescribeFileSystems", "fsx:DescribeFileSystems"),
            ("efs", "EfsDescribeFileSystems", "elasticfilesystem:DescribeFileSystems")]


@pytest.mark.parametrize("listed", LISTINGS)
@pytest.mark.parametrize("fault", ["missing", "html", "server-error"])
def test_an_unusable_file_system_listing_fails_and_is_never_read_as_no_file_system(
        proxy: Proxy, setup: Setup, fault: str, listed: tuple[str, str, str]) -> None:
    kind, operation, call = listed
    if kind == "efs":
        setup.values["modelCache"] = {"enabled": True, "kind": "efs"}
    proxy.faults = {operation: fault}
    results, elapsed = _run(proxy, setup)
    listing = _file_system_check(results)
    assert not listing.ok
    assert call in listing.detail
    assert "none yet" not in listing.detail
    assert elapsed < 60, elapsed
    proxy.faults = {}
    assert _file_system_check(_run(proxy, setup)[0]).ok


def test_without_faults_the_same_checks_pass(proxy: Proxy, setup: Setup) -> None:
    proxy.faults = {}
    results, _ = _run(proxy, setup)
    assert _named(results, f"pool h100 subnet {setup.subnet}").ok
    assert _file_system_check(results).ok


def test_a_retry_after_is_honoured_within_the_attempts(proxy: Proxy, setup: Setup) -> None:
    """The 503 says Retry-After: 1; each of the three attempts waits at least that long after the last."""
    proxy.faults = {"DescribeSubnets": "server-error"}
    _run(proxy, setup)
    times = [when for fault, when in proxy.served if fault == "server-error"]
    per_call = 3  # ATTEMPTS: the subnet check asks DescribeSubnets once per pool subnet
    assert len(times) % per_call == 0
    first = times[:per_call]
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(first)), first
