"""The whole stack configuration as frozen, typed dataclasses.

`parse_config` is a pure function of the raw config (what `pulumi config` holds for the stack) and
returns a `StackConfig` or raises one `ConfigError` that lists every problem. The program reads the
raw config from the Pulumi runtime (`stacks.program.command`), the offline commands from the stack
file (`stacks.config.load`). The keys are documented in
docs/configuration.md; a test proves every key read here appears there.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from components.dynamo.capacity import WorkerDemand
from components.dynamo.datapath import runs_on_efa
from components.dynamo.transport import TransportPlan
from components.etcd.settings import EtcdSettings
from components.gpu_platform.values import GpuPlatformSettings
from components.ingress.settings import ControllerSettings, LoadBalancer
from components.kit.secret import SecretValue
from components.namespaces.manifests import NamespaceNames
from components.nats.settings import NatsSettings
from components.nodes.settings import NodePoolSettings
from components.nodes.shape import PoolShape
from components.observability.receivers import RECEIVER_KINDS, ReceiverKind
from components.observability.settings import ObservabilitySettings
from stacks.config import rules
from stacks.config.aws import AwsConfig, read_aws
from stacks.config.cluster import KubernetesConfig, read_environment, read_kubernetes, read_namespaces
from stacks.config.common import read_storage_class
from stacks.config.defaults import DEFAULTS, Environment, EnvironmentDefaults
from stacks.config.dynamo import DynamoConfig, read_dynamo
from stacks.config.endpoints import read_load_balancer
from stacks.config.etcd import read_etcd
from stacks.config.gpu_platform import read_gpu_platform
from stacks.config.keys import cluster as cluster_keys
from stacks.config.keys import sections
from stacks.config.model_cache import read_model_cache
from stacks.config.namespaces import check_foreign_keys
from stacks.config.nats import read_nats
from stacks.config.node_pools import read_node_pools
from stacks.config.observability import read_observability
from stacks.config.reader import NAMESPACE, Node, Problems
from stacks.config.receivers import RECEIVER_SECRETS

__all__ = ["SECRET_KEYS", "StackConfig", "decode_raw", "parse_config"]

# Top-level keys that hold credentials: accepted only as `pulumi config set --secret`.
SECRET_KEYS = tuple(key.path for key in sections.SECRET_KEYS)


@dataclass(frozen=True)
class StackConfig:
    stack: str
    environment: Environment
    kubernetes: KubernetesConfig
    namespaces: NamespaceNames
    allow_data_loss: bool
    storage_class: str
    nats: NatsSettings | None  # None: no plane uses NATS, and it is not deployed
    etcd: EtcdSettings | None  # None: discovery is Kubernetes, and no etcd is deployed
    observability: ObservabilitySettings | None
    aws: AwsConfig
    node_pools: tuple[NodePoolSettings, ...]
    gpu_platform: GpuPlatformSettings | None
    dynamo: DynamoConfig
    ngc_api_key: SecretValue | None
    hf_token: SecretValue | None
    # The credential of each Alertmanager receiver whose secret is set.
    receiver_secrets: Mapping[ReceiverKind, SecretValue] = field(default_factory=dict)
    # The AWS Load Balancer Controller's settings, when a graph's endpoint is a load balancer.
    load_balancer: ControllerSettings | None = None

    @property
    def installs_load_balancer_controller(self) -> bool:
        return self.load_balancer is not None and self.load_balancer.install

    @property
    def defaults(self) -> EnvironmentDefaults:
        """What the environment sets where config does not (`stacks.config.defaults`)."""
        return DEFAULTS[self.environment]

    @property
    def retain_data(self) -> bool:
        """Data volumes (and the namespaces holding them) survive destroy and replacement."""
        return self.defaults.keeps_data and not self.allow_data_loss

    @property
    def worker_demands(self) -> list[WorkerDemand]:
        return rules.worker_demands(self.dynamo.graphs, self.pool_shapes)

    @property
    def uses_aws(self) -> bool:
        """Whether the stack creates AWS resources (``eks`` node pools, a model cache on FSx or EFS, or
        the load balancer controller's IAM role)."""
        cache = self.dynamo.model_cache
        return (any(p.on_aws for p in self.node_pools) or (cache is not None and cache.on_aws)
                or self.installs_load_balancer_controller)

    @property
    def pool_shapes(self) -> dict[str, PoolShape]:
        """pool name -> shape: what the capacity check and graph builders read."""
        return {p.name: p.shape for p in self.node_pools}

    @property
    def efa_graphs(self) -> tuple[str, ...]:
        """Graphs with workers on EFA pools: their pods are privileged, as the EFA guide requires."""
        shapes = self.pool_shapes
        return tuple(g.name for g in self.dynamo.graphs if runs_on_efa(g, shapes))

    @property
    def transport(self) -> TransportPlan:
        return self.dynamo.transport

    def warnings(self) -> list[str]:
        """Things a reviewer of the plan should see, although the config is valid (`stacks.config.rules`)."""
        graphs = self.dynamo.graphs
        return (rules.data_loss_warnings(keeps_data=self.defaults.keeps_data, allow_data_loss=self.allow_data_loss)
                + rules.release_warnings(self.dynamo.release)
                + rules.grove_warnings(self.dynamo.operator, graphs)
                + rules.discovery_warnings(self.transport)
                + rules.credential_warnings(graphs, hf_token=self.hf_token, ngc_api_key=self.ngc_api_key,
                                            wants_pull_secret=self.defaults.wants_pull_secret)
                + rules.transport_warnings(self.transport, nats_deployed=self.nats is not None,
                                           etcd_deployed=self.etcd is not None)
                + rules.alerting_warnings(self.observability, self.receiver_secrets)
                + rules.model_cache_warnings(self.dynamo.model_cache, graphs, self.pool_shapes)
                + rules.capacity_warnings(graphs, self.pool_shapes))


def decode_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Our namespace's keys, without the namespace, with structured values decoded.

    The Pulumi CLI hands a program every value as a string; objects and lists are JSON text.
    """
    out: dict[str, Any] = {}
    prefix = NAMESPACE + ":"
    for key, value in raw.items():
        if not key.startswith(prefix):
            continue
        decoded = value
        if isinstance(value, str) and value[:1] in ("{", "["):
            # not JSON: left as a string, and the section that reads it reports the wrong type
            with contextlib.suppress(json.JSONDecodeError):
                decoded = json.loads(value)
        out[key[len(prefix):]] = decoded
    return out


def _secret(root: Node, name: str, secret_keys: Set[str]) -> SecretValue | None:
    value = root.secret(name)
    if value is None:
        return None
    if f"{NAMESPACE}:{name}" not in secret_keys:
        root.problem(name, "is stored in plain text",
                     f"a secret: `pulumi config set --secret {NAMESPACE}:{name} ...`")
    if not isinstance(value, str) or not value:
        root.problem(name, "expected a non-empty string", "a secret string")
        return None
    return SecretValue(name, value)


def declared_pool_names(root: Node) -> set[str]:
    """The names nodePools declares, valid or not (a graph naming an invalid one is not told again
    that the pool does not exist)."""
    items = root.value.get("nodePools")
    if not isinstance(items, list):
        return set()
    return {item["name"] for item in items if isinstance(item, Mapping) and isinstance(item.get("name"), str)}


def secret_paths_of(secret_keys: Set[str]) -> frozenset[str]:
    """The config paths that are secret when only whole keys are known to be (`secret_keys`, as the
    Pulumi runtime marks them): each such key with everything in it."""
    prefix = NAMESPACE + ":"
    return frozenset(k[len(prefix):] for k in secret_keys if k.startswith(prefix))


def parse_config(raw: Mapping[str, Any], secret_keys: Set[str], stack: str,
                 problems: Problems | None = None, secret_paths: Set[str] | None = None) -> StackConfig:
    """Validate and type the stack's config. Raises `ConfigError` listing every problem.
    `secret_paths`: the paths of the values set as secrets (``graphs[0].prefill.env.API_KEY``), when
    the stack file says which; otherwise every key in `secret_keys` is secret as a whole."""
    problems = problems if problems is not None else Problems()
    problems.secret_paths = frozenset(secret_paths) if secret_paths is not None else secret_paths_of(secret_keys)
    problems.declared = sections.DECLARED
    check_foreign_keys(raw, problems)
    root = Node("", decode_raw(raw), problems)
    secrets = {name: _secret(root, name, secret_keys) for name in SECRET_KEYS}
    environment = read_environment(root, stack)
    defaults = DEFAULTS[environment]
    problems.environment = defaults
    namespaces = read_namespaces(root)
    storage_class = read_storage_class(root, cluster_keys.STORAGE_CLASS, defaults.storage_class)
    aws, aws_node = read_aws(root)
    node_pools = read_node_pools(root, defaults.pool_kind, aws, aws_node)
    pools = {p.name: p.shape for p in node_pools}
    allow_data_loss = root.read(cluster_keys.ALLOW_DATA_LOSS)
    retain = defaults.keeps_data and not allow_data_loss
    broken_pools = declared_pool_names(root) - set(pools)
    cache = read_model_cache(root, retain=retain, aws=aws, aws_node=aws_node, pools=node_pools,
                             workloads_namespace=namespaces.workloads, broken_pools=broken_pools)
    dynamo = read_dynamo(root, defaults=defaults, cache=cache, pools=pools, hf_token=secrets["hfToken"] is not None,
                         broken_pools=broken_pools, on_eks=aws.cluster_name is not None)
    load_balancer = read_load_balancer(
        root, aws, aws_node,
        needed_by=[g.name for g in dynamo.graphs if isinstance(g.endpoint, LoadBalancer)])
    receiver_secrets = {kind: value for kind in RECEIVER_KINDS
                        if (value := secrets[RECEIVER_SECRETS[kind]]) is not None}
    config = StackConfig(
        stack=stack,
        environment=environment,
        kubernetes=read_kubernetes(root, secrets["kubeconfig"], defaults),
        namespaces=namespaces,
        allow_data_loss=allow_data_loss,
        storage_class=storage_class,
        observability=read_observability(root, namespaces, storage_class,
                                         graphs=dynamo.graphs, pools=pools,
                                         with_secret=set(receiver_secrets)),
        aws=aws,
        node_pools=node_pools,
        gpu_platform=read_gpu_platform(root, node_pools, namespaces),
        dynamo=dynamo,
        ngc_api_key=secrets["ngcApiKey"],
        hf_token=secrets["hfToken"],
        receiver_secrets=receiver_secrets,
        load_balancer=load_balancer,
        nats=read_nats(root, defaults.nats, storage_class, retain, transport=dynamo.transport),
        etcd=read_etcd(root, defaults.etcd, storage_class, retain,
                       transport=dynamo.transport),
    )
    rules.check_transport_services(root, config.transport, nats_enabled=config.nats is not None,
                                   etcd_enabled=config.etcd is not None)
    rules.check_graph_capacity(root, config.dynamo.graphs, pools)
    rules.check_pod_resources(root, config.dynamo.graphs, pools)
    root.close()
    problems.raise_if_any()
    return config
