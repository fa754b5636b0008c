"""The plan's files, from a registry."""

import json
import re

import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from components.kit.charts import ChartRef
from components.register.helm import helm_release
from components.register.kube import KubeObject
from stacks.plan import artifacts
from tests.harness import example_stacks, plan_stack, run_resources


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions, after: pulumi.Resource | None = None) -> None:
        super().__init__("dynamo-cluster:components:Box", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=[after] if after else None)
        self.obj = KubeObject(f"{name}-cm", {"apiVersion": "v1", "kind": "ConfigMap",
                                             "metadata": {"name": name, "namespace": "ns"},
                                             "data": {"z": "1", "a": "2"}}, child)
        self.register_outputs({})


def program() -> None:
    provider = k8s.Provider("kubernetes", kubeconfig="/dev/null", context="c")
    opts = pulumi.ResourceOptions(providers={"kubernetes": provider})
    a = Box("a", opts)
    Box("b", opts, after=a)
    helm_release("rel", chart=ChartRef("nats", "2.14.2", "https://nats-io.github.io/k8s/helm/charts/"),
                 release_name="nats", namespace="ns", values={"config": {"cluster": {"enabled": True}}},
                 opts=pulumi.ResourceOptions(provider=provider))
    helm_release("oci", chart=ChartRef("tempo", "2.2.4", "oci://ghcr.io/grafana-community/helm-charts"),
                 release_name="tempo", namespace="mon", values={}, opts=pulumi.ResourceOptions(provider=provider))


def test_manifests_are_the_objects_sent_with_stable_paths() -> None:
    files = artifacts.manifests(run_resources(program))
    assert list(files) == ["ns/configmap.core-a.yaml", "ns/configmap.core-b.yaml"]
    doc = yaml.safe_load(files["ns/configmap.core-a.yaml"])
    assert list(doc) == ["apiVersion", "kind", "metadata", "data"]
    assert doc["data"] == {"a": "2", "z": "1"}


def test_releases_name_chart_version_repository_values() -> None:
    rels = artifacts.releases(run_resources(program))
    assert rels == [
        {"name": "tempo", "namespace": "mon", "chart": "tempo", "version": "2.2.4",
         "repository": "oci://ghcr.io/grafana-community/helm-charts", "values": {}},
        {"name": "nats", "namespace": "ns", "chart": "nats", "version": "2.14.2",
         "repository": "https://nats-io.github.io/k8s/helm/charts/",
         "values": {"config": {"cluster": {"enabled": True}}}},
    ]


def test_resources_json_lists_every_resource_with_its_graph_fields() -> None:
    registry = run_resources(program)
    rows = json.loads(artifacts.resources_json(registry))
    assert len(rows) == len(registry.resources)
    assert {"urn", "type", "name", "parent", "dependencies", "inputs"} <= set(rows[0])
    b_cm = next(r for r in rows if r["name"] == "b-cm")
    a_cm = next(r for r in rows if r["name"] == "a-cm")
    assert b_cm["dependencies"] == [a_cm["urn"]]


def test_mermaid_rolls_dependencies_up_to_components() -> None:
    text = artifacts.mermaid(run_resources(program))
    assert text.splitlines()[2] == "flowchart LR"
    assert "n_a_dynamo_cluster_components_Box --> n_b_dynamo_cluster_components_Box" in text
    assert "n_kubernetes_pulumi_providers_kubernetes -.-> n_a_dynamo_cluster_components_Box" in text


def test_summary_counts_and_sections() -> None:
    text = artifacts.summary(run_resources(program), stack="s", environment="dev",
                             capacity=["cap"], warnings=["careful"])
    assert "| kubernetes:core/v1:ConfigMap | 2 |" in text
    assert "| nats | ns | nats | 2.14.2 |" in text
    assert "## GPU capacity\n\ncap\n" in text
    assert "- careful" in text


def test_unpinned_chart_is_refused() -> None:
    import pytest

    with pytest.raises(ValueError, match="pinned version"):
        ChartRef("x", "latest", "https://example.invalid")


class _StrictLoader(yaml.SafeLoader):
    """A reader with YAML 1.1's booleans `y` and `n` (kubectl's reader) and YAML 1.2's numbers that
    PyYAML's 1.1 resolver leaves strings (`0o17`, `1e3`, `.5`)."""


_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7]+$"), list("-+0"))
_StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float",
                                    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
                                    list("-+.0123456789"))


def test_plan_files_read_back_as_what_is_sent_by_stricter_yaml_readers() -> None:
    values = ["y", "Y", "n", "N", "yes", "no", "on", "off", "0o17", "0x10", "~", "null", "1e3", ".5", "12:30", "x"]

    def strings() -> None:
        provider = k8s.Provider("kubernetes", kubeconfig="/dev/null", context="c")
        KubeObject("cm", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "ns"},
                          "data": {f"k{i}": v for i, v in enumerate(values)}},
                   pulumi.ResourceOptions(provider=provider))

    files = artifacts.manifests(run_resources(strings))
    text = files["ns/configmap.core-cm.yaml"]
    assert yaml.load(text, Loader=_StrictLoader)["data"] == {f"k{i}": v for i, v in enumerate(values)}


@pytest.mark.parametrize("stack", ["dev", "prod", *example_stacks()])
def test_every_plan_file_reads_back_as_what_the_program_sends(stack: str) -> None:
    registry = plan_stack(stack)
    sent = {artifacts.manifest_path(r.inputs): dict(r.inputs) for r in registry.resources if artifacts.is_manifest(r)}
    files = artifacts.manifests(registry)
    assert set(files) == set(sent)
    for path, text in files.items():
        assert yaml.load(text, Loader=_StrictLoader) == json.loads(json.dumps(sent[path])), path
