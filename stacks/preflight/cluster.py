"""Cluster preflight: before `pulumi up`, ask the Kubernetes API whether the cluster is what the stack
takes for granted. Checks, each a `Finding` (see `stacks.preflight.report`):

- the API answers at the stack's kubeconfig and context (when it does not, nothing else is asked), and
  its version is one this project supports and the one ``kubernetes.version`` says;
- the StorageClasses (`stacks.preflight.storage`);
- the model cache's CSI driver and whether the models fit in it (`stacks.preflight.model_cache`);
- the node pools, their GPUs and EFA interfaces, and the device plugins (`stacks.preflight.nodes`);
- enough untainted nodes for NATS and etcd, one per server or member in prod (`stacks.preflight.platform`);
- no Dynamo operator, and no Dynamo CRDs, that another install owns: the stack's own release is the
  one whose Helm annotations name ``operator.releaseName`` in the platform namespace;
- an engine enforces the stack's NetworkPolicies (`stacks.preflight.network_policy`);
- the Secrets: the stack creates every one it references (`created_secrets`), so none has to exist
  before `pulumi up`; `check_existing_secrets` checks Secrets that a config section names without
  creating them (none does today).

Every check is a pure function of `stacks.ops.cluster_view` values, read through a `ClusterView`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from components.etcd.tls import server_secret_name
from components.observability.settings import GRAFANA_ADMIN_SECRET
from stacks.config.cluster import SUPPORTED_KUBERNETES
from stacks.config.stack import StackConfig
from stacks.ops.cluster_view import ClusterReadError, ClusterView, CrdInfo, ServerVersion, WorkloadInfo, image_tag
from stacks.ops.report import Finding
from stacks.ops.target import ClusterConnectError
from stacks.outputs import ETCD_CLIENT_SECRET, ETCD_CLUSTER, NATS_AUTH_SECRET, NATS_VERIFY_SECRET
from stacks.preflight.model_cache import model_cache_checks
from stacks.preflight.network_policy import check_enforcement
from stacks.preflight.nodes import node_checks
from stacks.preflight.platform import check_platform_nodes, platform_services
from stacks.preflight.storage import check_default_class, check_named_classes, storage_class_uses

DYNAMO_GROUP = "nvidia.com"
OPERATOR_PART_OF = "dynamo-operator"
OPERATOR_IMAGE = "ai-dynamo/kubernetes-operator"
READ_FIX = ("run preflight with credentials that may read it (it reads the server version, StorageClasses, "
            "CSIDrivers, Nodes, DaemonSets, Deployments, CustomResourceDefinitions, the Secrets the stack references, "
            "the pods of its model download Jobs and the network plugins' ConfigMaps in kube-system)")


def network_policies(config: StackConfig) -> list[str]:
    """The NetworkPolicies the stack creates, by what they protect."""
    return [name for name, present in (("nats", config.nats is not None), ("etcd", config.etcd is not None),
                                       ("monitoring", config.observability is not None)) if present]


# -- the API and its version ----------------------------------------------------------------------
def check_version(server: ServerVersion, configured: str) -> Finding:
    name, release = "kubernetes version", server.release
    if release not in SUPPORTED_KUBERNETES:
        return Finding.failed(name, f"the server runs Kubernetes {release} ({server.git_version}), which this "
                                        f"project does not support",
                                  f"upgrade the cluster to one of {', '.join(SUPPORTED_KUBERNETES)}")
    if release != configured:
        return Finding.failed(
            name, f"the server runs Kubernetes {release} ({server.git_version}), but dynamo-cluster:kubernetes.version "
                  f"is {configured}",
            f"set kubernetes.version to \"{release}\" (manifests are validated for it), or upgrade the cluster")
    return Finding.passed(name, f"{release} ({server.git_version}), as kubernetes.version says")


# -- the Dynamo operator and its CRDs -------------------------------------------------------------
def is_dynamo_operator(deployment: WorkloadInfo) -> bool:
    return deployment.labels.get("app.kubernetes.io/part-of") == OPERATOR_PART_OF or \
        any(OPERATOR_IMAGE in image for image in deployment.images)


def _owner(release: tuple[str, str] | None) -> str:
    return f"Helm release {release[0]} in {release[1]}" if release else "not installed by Helm"


def _operator_text(d: WorkloadInfo) -> str:
    facts = [_owner(d.helm_release)]
    if "helm.sh/chart" in d.labels:
        facts.append(f"chart {d.labels['helm.sh/chart']}")
    tags = sorted({t for t in map(image_tag, d.images) if t})
    if tags:
        facts.append(f"image {', '.join(tags)}")
    return f"{d.ref} ({'; '.join(facts)})"


def check_dynamo(deployments: Sequence[WorkloadInfo], crds: Sequence[CrdInfo], *, release: str, namespace: str,
                 chart_version: str) -> list[Finding]:
    ours = (release, namespace)
    operators = [d for d in deployments if is_dynamo_operator(d)]
    foreign = [d for d in operators if d.helm_release != ours]
    mine = [d for d in operators if d.helm_release == ours]
    installs = f"dynamo-platform {chart_version} as release {release} in {namespace}"
    results: list[Finding] = []
    if foreign:
        first = foreign[0].helm_release
        remove = f"helm uninstall {first[0]} -n {first[1]}" if first else \
            f"kubectl -n {foreign[0].namespace} delete deployment {foreign[0].name}"
        results.append(Finding.failed(
            "dynamo operator", f"another install runs one: {', '.join(_operator_text(d) for d in foreign)}; with "
                               f"{installs}, two operators would reconcile the same graphs",
            f"uninstall it before `pulumi up` ({remove}), or use another cluster"))
    elif mine:
        results.append(Finding.passed("dynamo operator", f"this stack's: {_operator_text(mine[0])}; `pulumi up` "
                                                             f"sets it to dynamo-platform {chart_version}"))
    else:
        results.append(Finding.passed("dynamo operator", f"none runs; `pulumi up` installs {installs}"))
    dynamo_crds = sorted((c for c in crds if c.group == DYNAMO_GROUP and c.kind.startswith("Dynamo")),
                         key=lambda c: c.name)
    # The operator applies its CRDs itself (a hook job, no Helm annotations): with our operator running,
    # unannotated ones are its.
    theirs = [c for c in dynamo_crds if c.helm_release != ours and (c.helm_release is not None or not mine)]
    if theirs:
        owners = sorted({_owner(c.helm_release) + (f", chart {c.labels['helm.sh/chart']}"
                                                   if "helm.sh/chart" in c.labels else "") for c in theirs})
        listed = ", ".join(f"{c.name} ({'/'.join(c.versions) or 'no served version'})" for c in theirs)
        results.append(Finding.failed(
            "dynamo crds", f"{len(theirs)} Dynamo CRDs this stack did not install are present: {listed}; "
                           f"{'; '.join(owners)}" + ("" if mine else "; no operator of this stack runs"),
            "if an uninstalled Dynamo left them, delete them once no custom resource uses them (kubectl get "
            "dynamographdeployments -A; kubectl delete crd NAME); if another install owns them, uninstall it or "
            "use another cluster"))
    elif dynamo_crds:
        results.append(Finding.passed("dynamo crds", f"{len(dynamo_crds)}, applied by this stack's operator"))
    else:
        results.append(Finding.passed("dynamo crds", "none installed; the operator applies them with `pulumi up`"))
    return results


# -- Secrets --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CreatedSecret:
    """A Secret the stack creates (from its own config and generated passwords), in each namespace
    whose pods read it."""

    name: str
    namespaces: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({', '.join(self.namespaces)})"


def created_secrets(config: StackConfig) -> list[CreatedSecret]:
    """Every Secret the program creates, where: what the stack's own pods and releases reference."""
    ns = config.namespaces
    out = []
    if config.nats is not None:
        out.append(CreatedSecret(NATS_AUTH_SECRET, (ns.platform, ns.workloads)))
        out.append(CreatedSecret(NATS_VERIFY_SECRET, (ns.platform,)))
    if config.etcd is not None:
        out.append(CreatedSecret(server_secret_name(ETCD_CLUSTER), (ns.platform,)))
        out.append(CreatedSecret(ETCD_CLIENT_SECRET, (ns.platform, ns.workloads)))
    if config.observability is not None:
        out.append(CreatedSecret(GRAFANA_ADMIN_SECRET, (ns.monitoring,)))
    if config.hf_token is not None:
        out.append(CreatedSecret(config.dynamo.hf_secret_name, (ns.workloads,)))
    if config.ngc_api_key is not None:
        out.append(CreatedSecret(config.dynamo.pull_secret_name, (ns.platform, ns.workloads)))
    return out


def check_created_secrets(created: Sequence[CreatedSecret]) -> Finding:
    return Finding.passed("secrets", f"the stack creates every Secret it references: "
                                         f"{', '.join(map(str, created))}; none has to exist before `pulumi up`")


@dataclass(frozen=True)
class SecretRef:
    """A Secret the stack would reference but not create: it must exist, in the namespace of the pods
    that read it, with the keys they read."""

    namespace: str
    name: str
    key: str  # the config key that names it
    data_keys: tuple[str, ...] = ()  # keys the stack reads from it


def check_existing_secrets(refs: Sequence[SecretRef],
                           secret_keys: Callable[[str, str], frozenset[str] | None]) -> list[Finding]:
    """One result per referenced Secret. `secret_keys(namespace, name)` is `ClusterView.secret_keys`.

    No config key names a Secret the stack does not create today; a section that comes to take one
    builds its `SecretRef`s and `cluster_checks` adds this check for them."""
    results = []
    for ref in refs:
        name = f"secret {ref.namespace}/{ref.name}"
        keys = secret_keys(ref.namespace, ref.name)
        if keys is None:
            results.append(Finding.failed(
                name, f"does not exist; {ref.key} names it",
                f"create it (kubectl -n {ref.namespace} create secret generic {ref.name} "
                + " ".join(f"--from-literal={k}=..." for k in ref.data_keys) + f"), or set {ref.key} to one that "
                f"exists"))
            continue
        missing = [k for k in ref.data_keys if k not in keys]
        if missing:
            results.append(Finding.failed(name, f"has no key {', '.join(missing)}; {ref.key} names it",
                                              f"add {', '.join(missing)} to it"))
        else:
            with_keys = f" with key{'s' if len(ref.data_keys) > 1 else ''} {', '.join(ref.data_keys)}" \
                if ref.data_keys else ""
            results.append(Finding.passed(name, f"exists{with_keys}, named by {ref.key}"))
    return results


# -- all of them ----------------------------------------------------------------------------------
def _guard(name: str, checks: Callable[[], list[Finding]]) -> list[Finding]:
    """The checks' results, or one failure when a read they need is refused."""
    try:
        return checks()
    except ClusterReadError as error:
        return [Finding.failed(name, f"not checked: {error}", READ_FIX)]


def cluster_checks(config: StackConfig, connect_to: Callable[[], ClusterView], where: str) -> list[Finding]:
    """Every cluster check, in a stable order. `where` says which kubeconfig and context, for messages."""
    api = "kubernetes api"
    fix = (f"check that the cluster is up and reachable from here, and that {where} holds working credentials "
           f"(kubectl version shows the same)")
    try:
        view = connect_to()
        server = view.version()
    except ClusterConnectError as error:
        return [Finding.failed(api, str(error), error.fix or (
            "set dynamo-cluster:kubernetes.kubeconfigPath and kubernetes.context to a kubeconfig file and a context "
            "in it, or the secret dynamo-cluster:kubeconfig"))]
    except ClusterReadError as error:
        return [Finding.failed(api, f"{where} does not answer: {error}", fix)]
    results = [Finding.passed(api, f"{where} answers"), check_version(server, config.kubernetes.version)]

    def storage() -> list[Finding]:
        classes = view.storage_classes()
        return [check_default_class(classes, config.storage_class),
                *check_named_classes(classes, storage_class_uses(config))]

    results += _guard("storage classes", storage)
    results += _guard("model cache", lambda: model_cache_checks(config, view))
    gpu_namespace = config.gpu_platform.namespace if config.gpu_platform is not None else None
    daemons = cache(view.daemon_sets)
    nodes = cache(view.nodes)  # two checks read them: one request (a refused one is asked again, and fails again)
    results += _guard("node pools", lambda: node_checks(config.node_pools, config.pool_shapes, config.worker_demands,
                                                        nodes(), daemons(),
                                                        gpu_platform_namespace=gpu_namespace))
    results += _guard("platform nodes", lambda: check_platform_nodes(platform_services(config), nodes()))
    results += _guard("network policy enforcement", lambda: [check_enforcement(
        daemons(), view.config_map, policies=network_policies(config))])
    operator = config.dynamo.operator
    results += _guard("dynamo operator", lambda: check_dynamo(
        view.deployments(), view.custom_resource_definitions(), release=operator.release_name,
        namespace=config.namespaces.platform, chart_version=operator.chart.version))
    results.append(check_created_secrets(created_secrets(config)))
    return results
