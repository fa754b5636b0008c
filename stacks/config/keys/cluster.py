"""The cluster-level keys: which environment, how to reach Kubernetes, which namespaces."""

from __future__ import annotations

from typing import Any

from stacks.config.schema import Fixed, Flag, Free, Key, Label, PerEnv, Required, Text, Unset, Word

# Kubernetes minor versions this project renders and validates manifests for.
SUPPORTED_KUBERNETES = ("1.31", "1.32", "1.33", "1.34", "1.35")

ENVIRONMENT = Key(
    "environment",
    Word(("dev", "prod")),
    Required("the stack name, when it is `dev` or `prod`; otherwise required"),
    "`prod`",
    "Chooses the defaults below: small and single-replica in dev, highly available in prod.",
)
ENVIRONMENT_OVERRIDE = Key(
    "environmentOverride",
    Flag(),
    Fixed(False),
    "`true`",
    "Lets a stack named `dev` or `prod` take the other environment (`environment`): without it the two must "
    "agree, because the environment decides what is kept on destroy and how much runs.",
)
ALLOW_DATA_LOSS = Key(
    "allowDataLoss",
    Flag(),
    Fixed(False),
    "`true`",
    "When false, data volumes (NATS JetStream, etcd) are kept by `pulumi destroy` and replacements in prod. Set "
    "true only for throw-away stacks.",
)
STORAGE_CLASS = Key(
    "storageClass",
    Text("StorageClass name (DNS subdomain)"),
    PerEnv(lambda d: d.storage_class),
    "`gp3`",
    "The StorageClass of every persistent volume unless its section names another "
    "(`<section>.storage.storageClass`). On EKS it must exist (EBS CSI driver).",
)
KUBECONFIG = Key(
    "kubeconfig",
    Free("string"),
    Unset(),
    "`pulumi config set --secret dynamo-cluster:kubeconfig < kubeconfig.yaml`",
    "An inline kubeconfig, for CI. Excludes `kubernetes.kubeconfigPath`. Refused when stored in plain text.",
    secret=True,
)
KUBECONFIG_PATH = Key(
    "kubernetes.kubeconfigPath",
    Text("string"),
    Unset("dev: `~/.kube/config`; prod: required unless `kubeconfig` is set"),
    "`~/.kube/config`",
    "The kubeconfig file the stack's Kubernetes provider reads. The ambient `KUBECONFIG` is never used.",
)
CONTEXT = Key(
    "kubernetes.context",
    Text("string"),
    Unset("required with `kubernetes.kubeconfigPath`"),
    "`kind-dynamo`",
    "The context in that file; required so a changed current-context never points a stack at another cluster.",
)
KUBERNETES_VERSION = Key(
    "kubernetes.version",
    Word(SUPPORTED_KUBERNETES),
    Fixed("1.33"),
    '`"1.34"`',
    "The Kubernetes minor version the cluster runs. Manifests are validated against it; quote it in YAML.",
)
PLATFORM_NAMESPACE = Key(
    "namespaces.platform",
    Label("not `default` or `kube-*`"),
    Fixed("dynamo-system"),
    "`dynamo-system`",
    "Namespace of the Dynamo operator, NATS and etcd.",
)
MONITORING_NAMESPACE = Key(
    "namespaces.monitoring",
    Label(),
    Fixed("monitoring"),
    "`observability`",
    "Namespace of Prometheus, Alertmanager, Grafana, Tempo, Loki and the OpenTelemetry collector.",
)
WORKLOADS_NAMESPACE = Key(
    "namespaces.workloads",
    Label(),
    Fixed("dynamo"),
    "`inference`",
    "Namespace of the graph deployments, the model cache and their secrets.",
)

KEYS: tuple[Key[Any], ...] = (
    ENVIRONMENT,
    ENVIRONMENT_OVERRIDE,
    ALLOW_DATA_LOSS,
    STORAGE_CLASS,
    KUBECONFIG,
    KUBECONFIG_PATH,
    CONTEXT,
    KUBERNETES_VERSION,
    PLATFORM_NAMESPACE,
    MONITORING_NAMESPACE,
    WORKLOADS_NAMESPACE,
)
