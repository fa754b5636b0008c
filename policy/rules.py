"""The policy pack's rules, as pure functions over plain data.

Each rule takes a resource's type token and its properties (plain dicts, lists and scalars, as
`policy.pack.to_plain` makes them from what the Pulumi policy SDK hands over) and returns what is
wrong, one message per problem, each naming the property path and the fix. Two markers stand for
what plain data cannot say by itself:

- `Secret` wraps a value the engine marks secret. The policy SDK (pulumi-policy 1.21) keeps these
  marks only for remediations; validations receive every secret already decrypted and unmarked.
- `Unknown` stands for a value not known until the update runs (an output of a resource that does
  not exist yet, during preview). Rules never report a problem they cannot see.

Kubernetes objects are matched by the pulumi-kubernetes type tokens (`kubernetes:apps/v1:StatefulSet`,
`kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment`, ...); Helm releases by
`kubernetes:helm.sh/v3:Release` (and the v4 `Chart` component, which takes the same inputs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.dynamo.backends import gpu_frameworks

HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})
SECRET_TYPE = "kubernetes:core/v1:Secret"
STATEFULSET_TYPE = "kubernetes:apps/v1:StatefulSet"
PDB_TYPE = "kubernetes:policy/v1:PodDisruptionBudget"
DGD_TYPE = "kubernetes:nvidia.com/v1beta1:DynamoGraphDeployment"
# DynamoGraphDeployment component types whose pods run the backend engine.
WORKER_TYPES = frozenset({"worker", "prefill", "decode"})

GPU_RESOURCE = "nvidia.com/gpu"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
# Node labels GPU Feature Discovery and the GPU operator put on GPU nodes all start with this.
GPU_LABEL_PREFIX = "nvidia.com/gpu"

SECRET_FIELDS = ("data", "stringData")
# Names (lower-cased, separators dropped) that hold a credential when they end like this.
CREDENTIAL_SUFFIXES = ("password", "passwd", "token", "apikey", "secretkey", "secretaccesskey",
                       "clientsecret", "privatekey")

_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
                     r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")


@dataclass(frozen=True)
class Secret:
    """A value the engine treats as secret (encrypted in state, masked in output)."""

    value: Any


@dataclass(frozen=True)
class Unknown:
    """A value that is not known yet; `token` is the SDK's sentinel, kept to hand it back."""

    token: str = ""


@dataclass(frozen=True)
class StackResource:
    """One resource of the stack, as a stack policy sees it (its outputs, or planned inputs)."""

    urn: str
    resource_type: str
    props: Mapping[str, Any]


# --- walking plain data ---------------------------------------------------------------------


def reveal(value: Any) -> Any:
    """The value inside any `Secret` wrappers."""
    while isinstance(value, Secret):
        value = value.value
    return value


def _child(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any, Any, Mapping[str, Any]]]:
    """Every mapping entry at any depth, as (path of the value, key, value, the mapping holding it).
    Secret values are looked into, unknown ones are not."""
    node = reveal(node)
    if isinstance(node, Mapping):
        for key, raw in node.items():
            value = reveal(raw)
            child = _child(path, key)
            yield child, key, value, node
            yield from walk(value, child)
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            yield from walk(item, _child(path, index))


def _get(node: Any, *keys: str) -> Any:
    """node[k1][k2]... through mappings (and secrets), or None where a key is missing."""
    for key in keys:
        node = reveal(node)
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return reveal(node)


def _list(value: Any) -> list[Any]:
    """A list property's items; nothing when it is missing, unknown or not a list."""
    value = reveal(value)
    return list(value) if isinstance(value, list | tuple) else []


def _is_kubernetes_object(resource_type: str) -> bool:
    return resource_type.startswith("kubernetes:") and resource_type not in HELM_TYPES


def _known(value: Any) -> bool:
    return not isinstance(value, Unknown)


# --- images ------------------------------------------------------------------------------------


def image_problem(ref: str) -> str | None:
    """Why an image reference is not pinned (None when it is): a digest pins it; otherwise it needs
    a tag, and `latest` is not one."""
    ref = ref.strip()
    if not ref:
        return "is empty"
    name, _, digest = ref.partition("@")
    if digest:
        return None
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "has no tag, so it pulls :latest"
    tag = last.rsplit(":", 1)[1]
    if not tag:
        return "has an empty tag"
    if tag.lower() == "latest":
        return "uses the moving tag :latest"
    return None


def _is_image_key(key: Any) -> bool:
    return isinstance(key, str) and key.lower().endswith("image")


def image_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No `:latest` or untagged images.

    In a Kubernetes object (custom resources included, e.g. a DynamoGraphDeployment's
    `extraPodSpec.mainContainer.image`) every string under a key named `image` must be pinned by a
    tag or digest. In Helm values, where charts split repository and tag, a `tag`/`imageTag` of
    `latest` beside image settings, or an image string tagged `latest`, is refused.
    """
    problems: list[str] = []
    if resource_type in HELM_TYPES:
        for path, key, value, parent in walk(props.get("values"), "values"):
            if not isinstance(value, str):
                continue
            lowered = str(key).lower()
            image_context = "image" in path.lower() or any(k in parent for k in ("repository", "registry"))
            if lowered in ("tag", "imagetag") and image_context and value.strip().lower() == "latest":
                problems.append(f"{path} is 'latest': pin the image tag (or leave it empty for the chart's default)")
            elif _is_image_key(key) and image_problem(value) == "uses the moving tag :latest":
                problems.append(f"{path} {value!r} uses the moving tag :latest: pin a version tag or a digest")
    elif _is_kubernetes_object(resource_type):
        for path, key, value, _ in walk(props):
            if key == "image" and isinstance(value, str):
                problem = image_problem(value)
                if problem:
                    problems.append(f"{path} {value!r} {problem}: pin a version tag or a digest")
    return problems


# --- GPU limits --------------------------------------------------------------------------------


def _whole_number(value: Any) -> int | Unknown | None:
    """A resource quantity as a whole number; None when absent or not a whole number."""
    value = reveal(value)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _gpu_quantity(resources: Any, kind: str) -> tuple[bool, int | Unknown | None]:
    """Whether `resources.<kind>` names nvidia.com/gpu, and its amount."""
    amounts = _get(resources, kind)
    if not isinstance(amounts, Mapping) or GPU_RESOURCE not in amounts:
        return False, None
    return True, _whole_number(amounts[GPU_RESOURCE])


def _positive(amount: int | Unknown | None) -> bool:
    return isinstance(amount, Unknown) or (isinstance(amount, int) and amount > 0)


def gpu_placement(pod: Mapping[str, Any]) -> str | None:
    """How a pod spec aims at GPU nodes (toleration, node selector or required node affinity on
    `nvidia.com/gpu*`), or None."""
    for index, toleration in enumerate(_list(_get(pod, "tolerations"))):
        if _get(toleration, "key") == GPU_RESOURCE:
            return f"tolerates the {GPU_RESOURCE} taint (tolerations[{index}])"
    selector = _get(pod, "nodeSelector")
    if isinstance(selector, Mapping):
        for key, value in selector.items():
            if str(key).startswith(GPU_LABEL_PREFIX) and str(reveal(value)).lower() != "false":
                return f"selects GPU nodes (nodeSelector {key})"
    terms = _get(pod, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution",
                 "nodeSelectorTerms")
    for term in _list(terms):
        for expression in _list(_get(term, "matchExpressions")):
            key, operator = _get(expression, "key"), _get(expression, "operator")
            if isinstance(key, str) and key.startswith(GPU_LABEL_PREFIX) and operator in ("In", "Exists", "Gt"):
                return f"requires GPU nodes (node affinity on {key})"
    return None


def _pod_specs(node: Any, path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every pod spec in an object: a mapping with a `containers` list (a Pod's spec, a workload's
    `template.spec`, a CronJob's `jobTemplate.spec.template.spec`, a custom resource's templates)."""
    node = reveal(node)
    if isinstance(node, Mapping) and isinstance(reveal(node.get("containers")), list):
        yield path, node
        return
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _pod_specs(value, _child(path, key))
    elif isinstance(node, list | tuple):
        for index, item in enumerate(node):
            yield from _pod_specs(item, _child(path, index))


def _pod_gpu_problems(path: str, pod: Mapping[str, Any], node_agent: bool) -> list[str]:
    problems: list[str] = []
    has_limit = False
    requested = False
    for field in ("initContainers", "containers"):
        for index, container in enumerate(_list(_get(pod, field))):
            where = f"{path}.{field}[{index}]"
            resources = _get(container, "resources")
            has_request, request = _gpu_quantity(resources, "requests")
            has_lim, limit = _gpu_quantity(resources, "limits")
            requested = requested or has_request
            has_limit = has_limit or (has_lim and _positive(limit))
            if has_request and not has_lim:
                problems.append(f"{where} requests {GPU_RESOURCE} without a limit: set resources.limits "
                                f"{GPU_RESOURCE} (equal to the request)")
            elif has_request and isinstance(request, int) and isinstance(limit, int) and request != limit:
                problems.append(f"{where} requests {request} {GPU_RESOURCE} but limits {limit}: "
                                "extended resources need the request equal to the limit")
    placement = None if node_agent else gpu_placement(pod)
    if placement and not requested and not has_limit:
        problems.append(f"{path or 'pod'} {placement} but no container sets a resources.limits "
                        f"{GPU_RESOURCE}: GPU workloads must say how many GPUs they use")
    return problems


def _dgd_gpu_problems(props: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    backend = _get(props, "spec", "backendFramework")
    for index, raw in enumerate(_list(_get(props, "spec", "components"))):
        component = reveal(raw)
        where = f"spec.components[{index}]"
        pod = reveal(_get(component, "podTemplate", "spec"))
        if not isinstance(pod, Mapping):
            continue
        found = _pod_gpu_problems(f"{where}.podTemplate.spec", pod, node_agent=False)
        problems += found
        kind = _get(component, "type")
        if found or kind not in WORKER_TYPES or backend not in gpu_frameworks():
            continue
        limits = [_gpu_quantity(_get(c, "resources"), "limits")[1] for c in _list(_get(pod, "containers"))]
        if not any(_positive(amount) for amount in limits):
            problems.append(f"{where} ({_get(component, 'name')}) is a {backend} {kind} but no container sets "
                            f"resources.limits {GPU_RESOURCE}: give each worker pod its number of GPUs")
    return problems


def gpu_limit_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """GPU workloads have GPU limits.

    A pod template that requests `nvidia.com/gpu`, tolerates the `nvidia.com/gpu` taint or selects
    GPU nodes must set an `nvidia.com/gpu` limit (a request needs an equal limit). DaemonSets are
    node agents (device plugins, exporters): aiming at GPU nodes does not make them GPU consumers,
    so only their requests are checked. A DynamoGraphDeployment's worker components (worker,
    prefill, decode) of a backend whose workers need GPUs (its profile says so,
    `components.dynamo.backends`) must set an `nvidia.com/gpu` limit, and its pod templates are
    checked like any other.
    """
    if resource_type == DGD_TYPE:
        return _dgd_gpu_problems(props)
    if not _is_kubernetes_object(resource_type):
        return []
    node_agent = props.get("kind") == "DaemonSet"
    problems: list[str] = []
    for path, pod in _pod_specs(props):
        problems.extend(_pod_gpu_problems(path, pod, node_agent))
    return problems


# --- privileged containers ---------------------------------------------------------------------


def _requests_efa(container: Any) -> bool:
    """Whether a container asks for EFA interfaces (a positive or unknown amount)."""
    for kind in ("limits", "requests"):
        amounts = _get(container, "resources", kind)
        if isinstance(amounts, Mapping) and EFA_RESOURCE in amounts and _positive(
                _whole_number(amounts[EFA_RESOURCE])):
            return True
    return False


def privileged_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Privileged containers only where EFA needs them.

    A container with `securityContext.privileged: true` must request `vpc.amazonaws.com/efa`: Dynamo's
    EFA guide requires privileged workers (NIXL registers GPU memory with the EFA NIC, which IPC_LOCK
    alone does not allow), and nothing else this project deploys as a Kubernetes object needs it.
    Node agents that do (the GPU operator's, the node exporter) come from Helm charts, which this rule
    does not look into. An unknown `privileged` is given the benefit of the doubt.
    """
    if not _is_kubernetes_object(resource_type):
        return []
    problems: list[str] = []
    for path, pod in _pod_specs(props):
        for field in ("initContainers", "containers"):
            for index, container in enumerate(_list(_get(pod, field))):
                if _get(container, "securityContext", "privileged") is True and not _requests_efa(container):
                    name = _get(container, "name")
                    problems.append(
                        f"{path}.{field}[{index}] ({name}) is privileged but requests no {EFA_RESOURCE}: only "
                        "EFA workers may be privileged (NIXL registers GPU memory with the EFA NIC); drop "
                        "privileged, or add only the capabilities the container needs")
    return problems


# --- Jobs ------------------------------------------------------------------------------------------
JOB_TYPES = frozenset({"kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob"})
# What a root init container of a Job may add: taking ownership of files (the model download's step
# that hands its directories to the download's user).
ROOT_STEP_CAPABILITIES = frozenset({"CHOWN"})


def _container_problems(where: str, container: Any, init: bool) -> list[str]:
    problems: list[str] = []
    security = _get(container, "securityContext")
    if not _known(security):
        return []
    if _get(container, "securityContext", "allowPrivilegeEscalation") is not False:
        problems.append(f"{where}: set securityContext.allowPrivilegeEscalation: false")
    if _get(container, "securityContext", "readOnlyRootFilesystem") is not True:
        problems.append(f"{where}: set securityContext.readOnlyRootFilesystem: true (scratch on an emptyDir)")
    dropped = _get(container, "securityContext", "capabilities", "drop")
    if _known(dropped) and "ALL" not in _list(dropped):
        problems.append(f"{where}: drop all capabilities (securityContext.capabilities.drop: [ALL])")
    added = {str(c) for c in _list(_get(container, "securityContext", "capabilities", "add"))}
    root = _get(container, "securityContext", "runAsUser") == 0
    if root and not (init and added <= ROOT_STEP_CAPABILITIES):
        problems.append(f"{where}: runs as root; only an init container that adds nothing but "
                        f"{', '.join(sorted(ROOT_STEP_CAPABILITIES))} may")
    elif added and not root:
        problems.append(f"{where}: adds capabilities {', '.join(sorted(added))}; a Job's container needs none")
    return problems


def job_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """A Job's pods run unprivileged: no service-account token, non-root, no privilege escalation, a
    read-only root file system, no capabilities. The one exception is a root init container whose only
    capability is CHOWN (it hands a shared volume's directories to the Job's user). Jobs run code that
    fetches from outside (model downloads, benchmarks) and hold tokens: they get nothing else."""
    if resource_type not in JOB_TYPES:
        return []
    problems: list[str] = []
    for path, pod in _pod_specs(props):
        if _known(pod.get("automountServiceAccountToken")) and pod.get("automountServiceAccountToken") is not False:
            problems.append(f"{path}: set automountServiceAccountToken: false")
        if _get(pod, "securityContext", "runAsNonRoot") is not True and _known(_get(pod, "securityContext")):
            problems.append(f"{path}: set securityContext.runAsNonRoot: true")
        for field in ("initContainers", "containers"):
            for index, container in enumerate(_list(_get(pod, field))):
                where = f"{path}.{field}[{index}] ({_get(container, 'name')})"
                problems += _container_problems(where, container, init=field == "initContainers")
    return problems


# --- Helm versions -----------------------------------------------------------------------------


def release_version_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every Helm release names one exact chart version (SemVer, as Helm requires of charts): not
    unset, not `latest`, not a range such as `^1.2`, `~1.2.0`, `>=1` or `1.x`."""
    if resource_type not in HELM_TYPES:
        return []
    chart = reveal(props.get("chart"))
    label = f"chart {chart!r}" if isinstance(chart, str) else "the chart"
    version = reveal(props.get("version"))
    if isinstance(version, Unknown):
        return []
    if version is None or (isinstance(version, str) and not version.strip()):
        return [f"version is not set: pin {label} to an exact version, or every install may get another one"]
    if not isinstance(version, str) or not _SEMVER.match(version.strip()):
        return [f"version {version!r} of {label} is not one exact version: use e.g. '1.2.3', "
                "not a range or 'latest'"]
    return []


# --- StatefulSets and PodDisruptionBudgets -----------------------------------------------------


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Whether a label selector selects pods with `labels` (policy/v1 semantics: an empty selector
    selects every pod, a missing one none). Unknown parts are given the benefit of the doubt."""
    selector = reveal(selector)
    if isinstance(selector, Unknown):
        return True
    if not isinstance(selector, Mapping):
        return False
    match_labels = reveal(selector.get("matchLabels"))
    if isinstance(match_labels, Unknown):
        return True
    for key, want in (match_labels.items() if isinstance(match_labels, Mapping) else ()):
        have = reveal(labels.get(key))
        if _known(want) and _known(have) and have != reveal(want):
            return False
    for raw in _list(selector.get("matchExpressions")):
        expression = reveal(raw)
        if isinstance(expression, Mapping) and not _expression_matches(expression, labels):
            return False
    return True


def _expression_matches(expression: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    key = reveal(expression.get("key"))
    operator = reveal(expression.get("operator"))
    values = [reveal(v) for v in _list(expression.get("values"))]
    value = reveal(labels.get(key)) if isinstance(key, str) else None
    if not (_known(key) and _known(operator) and _known(value) and all(_known(v) for v in values)):
        return True
    present = key in labels
    outcomes = {
        "Exists": present,
        "DoesNotExist": not present,
        "In": present and value in values,
        "NotIn": not present or value not in values,
    }
    return outcomes.get(str(operator), False)


def _namespace(props: Mapping[str, Any]) -> Any:
    return _get(props, "metadata", "namespace") or "default"


def _same_namespace(a: Any, b: Any) -> bool:
    return not (_known(a) and _known(b)) or a == b


def statefulsets_without_pdb(resources: Sequence[StackResource]) -> list[tuple[str, str]]:
    """StatefulSets have PodDisruptionBudgets: each StatefulSet of more than one replica needs a
    policy/v1 PDB in its namespace whose selector matches its pod template's labels. A single
    replica is exempt: a budget that kept it would block every node drain, and one that did not
    would protect nothing. Returns (urn, message) pairs."""
    budgets = [r for r in resources if r.resource_type == PDB_TYPE]
    problems: list[tuple[str, str]] = []
    for sts in resources:
        if sts.resource_type != STATEFULSET_TYPE:
            continue
        replicas = reveal(_get(sts.props, "spec", "replicas"))
        if isinstance(replicas, int) and replicas <= 1:
            continue
        labels = _get(sts.props, "spec", "template", "metadata", "labels")
        if isinstance(labels, Unknown):
            continue
        labels = labels if isinstance(labels, Mapping) else {}
        namespace = _namespace(sts.props)
        if any(_same_namespace(namespace, _namespace(pdb.props))
               and selector_matches(_get(pdb.props, "spec", "selector"), labels) for pdb in budgets):
            continue
        name = _get(sts.props, "metadata", "name")
        name = name if isinstance(name, str) else sts.urn.rsplit("::", 1)[-1]
        shown = {key: reveal(value) for key, value in sorted(labels.items())}
        where = namespace if _known(namespace) else "(not known yet)"
        problems.append((sts.urn, f"StatefulSet {name} in namespace {where} has no PodDisruptionBudget "
                                  f"selecting its pods {shown}: add one (e.g. maxUnavailable: 1) so that "
                                  "node drains keep its quorum"))
    return problems


# --- secrets -----------------------------------------------------------------------------------


def plaintext_secret_fields(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """The entries of a Kubernetes Secret's `data`/`stringData` that are not marked secret."""
    if resource_type != SECRET_TYPE:
        return []
    fields: list[str] = []
    for field in SECRET_FIELDS:
        value = props.get(field)
        if value is None or isinstance(value, Secret | Unknown):
            continue
        if isinstance(value, Mapping):
            fields.extend(f"{field}.{key}" for key, item in sorted(value.items())
                          if not isinstance(item, Secret | Unknown))
        else:
            fields.append(field)
    return fields


def _without_secret_marks(value: Any) -> Any:
    value = reveal(value)
    if isinstance(value, Mapping):
        return {key: _without_secret_marks(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_secret_marks(item) for item in value]
    return value


def seal_secret_fields(resource_type: str, props: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Secret's properties with `data` and `stringData` marked secret as a whole, or None when
    nothing in them is plain text (the remediation then changes nothing)."""
    if not plaintext_secret_fields(resource_type, props):
        return None
    sealed = dict(props)
    for field in SECRET_FIELDS:
        if field in sealed and not isinstance(sealed[field], Unknown):
            sealed[field] = Secret(_without_secret_marks(sealed[field]))
    return sealed


def looks_like_credential(name: Any) -> bool:
    """Whether a key or variable name says it holds a credential (`adminPassword`, `HF_TOKEN`,
    `secret_key`, ...)."""
    if not isinstance(name, str):
        return False
    return re.sub(r"[^a-z0-9]", "", name.lower()).endswith(CREDENTIAL_SUFFIXES)


# A reference to an environment variable, resolved where the value is used: `$NAME`, `${NAME}`, or
# NATS's configuration form `<< $NAME >>` (the server reads the credential from its environment).
_VARIABLE_REFERENCE = re.compile(r"^(<<\s*)?\$(\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)(\s*>>)?$")


def _literal(value: Any) -> bool:
    """A non-empty string that is not just a number, a boolean word (those are settings) or a
    reference to an environment variable."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return (bool(text) and not text.isdigit() and text.lower() not in ("true", "false")
            and _VARIABLE_REFERENCE.match(text) is None)


def _env_problems(path: str, entries: Any) -> list[str]:
    problems: list[str] = []
    for index, raw in enumerate(_list(entries)):
        entry = reveal(raw)
        if not isinstance(entry, Mapping):
            continue
        name, value = reveal(entry.get("name")), reveal(entry.get("value"))
        if looks_like_credential(name) and _literal(value):
            problems.append(f"{path}[{index}] sets {name} to a literal value: take it from a Secret "
                            "(valueFrom.secretKeyRef, envFrom or the chart's existingSecret)")
    return problems


def credential_literal_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """No plain-text credentials in workload specs or Helm values.

    Environment variables named like credentials (`*_PASSWORD`, `*_TOKEN`, `*_API_KEY`, ...) must
    come from a Secret, not a literal `value`; in Helm values, keys named like credentials
    (`adminPassword`, `token`, `secret_key`, ...) must not hold literals: the values of a release
    are stored in the cluster and shown by `helm get values`. Secrets themselves are the place for
    credentials and are left to the `kubernetes-secret-data-is-secret` remediation.
    """
    problems: list[str] = []
    if resource_type in HELM_TYPES:
        for path, key, value, _ in walk(props.get("values"), "values"):
            if key in ("env", "envs", "extraEnv", "extraEnvs"):
                problems.extend(_env_problems(path, value))
            elif looks_like_credential(key) and _literal(value):
                problems.append(f"{path} holds a literal credential: create a Secret and point the chart "
                                "at it (its existingSecret-style setting)")
    elif _is_kubernetes_object(resource_type) and resource_type != SECRET_TYPE:
        for path, key, value, _ in walk(props):
            if key in ("env", "envs"):
                problems.extend(_env_problems(path, value))
    return problems
