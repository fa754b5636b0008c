"""Chart and image versions are config with pinned defaults: an upgrade is a config change, and
`pulumi preview` shows exactly the release or image that moves."""

import copy
from typing import Any

import pytest

from stacks.config.reader import ConfigError
from tests.harness import by_kind, parse, plan_config, plan_servers, servers_config

RELEASE = "kubernetes:helm.sh/v3:Release"


def versions(values: dict[str, Any] | None = None) -> dict[str, str]:
    registry = plan_servers("prod") if values is None else plan_config(values, "prod")
    out = {r.inputs["chart"]: r.inputs["version"] for r in registry.of_type(RELEASE)}
    [etcd] = by_kind(registry, "StatefulSet")
    out["etcd"] = etcd.inputs["spec"]["template"]["spec"]["containers"][0]["image"]
    [nats] = [r for r in registry.of_type(RELEASE) if r.inputs["chart"] == "nats"]
    out["nats-server"] = nats.inputs["values"]["container"]["image"]["tag"]
    out["images"] = ",".join(sorted({container["image"]
                                     for r in by_kind(registry, "DynamoGraphDeployment")
                                     for component in r.inputs["spec"]["components"]
                                     for container in component["podTemplate"]["spec"]["containers"]}))
    return out


def test_the_defaults_are_pinned() -> None:
    assert versions() == {
        "dynamo-platform": "1.4.2", "nats": "2.14.2", "kube-prometheus-stack": "88.5.3", "tempo": "2.2.4",
        "loki": "18.11.0", "opentelemetry-collector": "0.170.0", "gpu-operator": "v26.7.0",
        "aws-efa-k8s-device-plugin": "v0.5.30", "aws-load-balancer-controller": "3.5.0",
        "etcd": "registry.k8s.io/etcd:3.6.6-0", "nats-server": "2.14.2-alpine",
        # frontends run the runtime image, workers on EFA pools its -efa variant
        "images": ",".join(f"nvcr.io/nvidia/ai-dynamo/{b}-runtime:1.4.2{efa}" for b in ("sglang", "tensorrtllm", "vllm")
                           for efa in ("", "-efa"))}


def test_every_version_moves_with_its_key_alone() -> None:
    values = copy.deepcopy(servers_config("prod"))
    values["operator"]["version"] = "1.5.0"
    values["nats"] |= {"chartVersion": "2.14.3", "serverImageTag": "2.14.3-alpine"}
    values["etcd"]["image"] = "registry.k8s.io/etcd:3.6.7-0"
    values["observability"] |= {"kubePrometheusStackVersion": "88.6.0", "tempoVersion": "2.2.5",
                                "lokiVersion": "18.12.0", "collectorVersion": "0.171.0"}
    values["gpuPlatform"] |= {"gpuOperatorVersion": "v26.10.0", "efaPluginVersion": "v0.5.31"}
    values["loadBalancer"] |= {"version": "3.5.1"}
    assert versions(values) == {
        "dynamo-platform": "1.5.0", "nats": "2.14.3", "kube-prometheus-stack": "88.6.0", "tempo": "2.2.5",
        "loki": "18.12.0", "opentelemetry-collector": "0.171.0", "gpu-operator": "v26.10.0",
        "aws-efa-k8s-device-plugin": "v0.5.31", "aws-load-balancer-controller": "3.5.1",
        "etcd": "registry.k8s.io/etcd:3.6.7-0", "nats-server": "2.14.3-alpine",
        # graphs that do not pin an image follow the operator version
        # frontends run the runtime image, workers on EFA pools its -efa variant
        "images": ",".join(f"nvcr.io/nvidia/ai-dynamo/{b}-runtime:1.5.0{efa}" for b in ("sglang", "tensorrtllm", "vllm")
                           for efa in ("", "-efa"))}


def test_an_etcd_35_image_gets_35_flags() -> None:
    values = copy.deepcopy(servers_config("prod"))
    values.setdefault("etcd", {})["image"] = "quay.io/coreos/etcd:v3.5.21"
    [etcd] = by_kind(plan_config(values, "prod"), "StatefulSet")
    args = etcd.inputs["spec"]["template"]["spec"]["containers"][0]["command"]
    assert any(a.startswith("--experimental-") for a in args)


@pytest.mark.parametrize(("section", "key", "value"), [
    ("operator", "version", "latest"),
    ("nats", "chartVersion", "^2.14"),
    ("observability", "tempoVersion", "latest"),
    ("gpuPlatform", "gpuOperatorVersion", "26"),
    ("etcd", "image", "registry.k8s.io/etcd:latest"),
    ("etcd", "image", "registry.k8s.io/etcd:3.4.23"),
])
def test_unpinned_or_unsupported_versions_are_refused(section: str, key: str, value: str) -> None:
    values = copy.deepcopy(servers_config("prod"))
    values.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError) as error:
        parse(values, "prod")
    assert [p.key for p in error.value.problems] == [f"{section}.{key}"]
