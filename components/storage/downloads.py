"""One download per model: which models the graphs need in the shared cache, the Job that downloads
each one once, and the init container that makes worker pods wait for it. Pure builders.

A graph whose model is a Hugging Face repository id (``org/name``) and that mounts the cache needs
that repository at its revision (`GraphSpec.model_revision`) in the cache. Graphs that need the same
model and revision share one `DownloadPlan`, hence one Job; a graph whose model is a path (in the
cache or baked into its image) needs none. The Job runs `components/dynamo/hf_download.py` (shipped
in a ConfigMap) in a small Python image, with the Hugging Face token from the stack's Secret, and
writes a completion marker (`marker_path`); every pod of a graph that mounts the cache waits for the
marker in an init container (`wait_init_container`) and starts the engine only then, so no pod
downloads and none starts with half a model. The Job's name derives from a hash of the model and
revision: a changed model or revision is a new Job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from components.kit.kube import labels, secret_env_var
from components.kit.ref import Ref
from components.kit.resources import Resources

# The label every download Job and its pods carry (value: the hash of model and revision); preflight
# finds the pods by it and reads their termination messages (the model's size).
DOWNLOAD_LABEL = "dynamo-cluster/model-download"
MODEL_ANNOTATION = "dynamo-cluster/model"
REVISION_ANNOTATION = "dynamo-cluster/model-revision"
SCRIPT_KEY = "hf_download.py"
SCRIPT_DIR = "/opt/dynamo-cluster"
SCRIPT_VOLUME = "download-script"
CACHE_VOLUME = "model-cache"
WAIT_CONTAINER = "wait-for-model"
# The image upstream's model-caching guide runs its download Job in (Python, no engine: its
# python:3.12-slim), pinned to one patch release and by digest.
DEFAULT_IMAGE = ("python:3.12.12-slim-bookworm@sha256:"
                 "593bd06efe90efa80dc4eee3948be7c0fde4134606dd40d8dd8dbcade98e669c")
# The user the download runs as: high enough to be no user of the node (the files it writes are
# readable by every user: the engines read them).
DOWNLOAD_UID = 10001
OWN_CONTAINER = "own-model-dirs"
# The scanner's rule against added capabilities, and why the ownership step is the exception
# (docs/decisions.md, "Model storage and loading").
CHECKOV_SKIP = "checkov.io/skip1"
OWN_DIRS_EXCEPTION = ("CKV_K8S_25=the own-model-dirs init container adds CHOWN only, to hand the shared cache's "
                      "directories to the unprivileged download")
SCRATCH_VOLUME = "scratch"
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
# Job names stay short enough for the pods' names (the Job's name and a suffix) and the job-name label.
_JOB_NAME_MAX = 52


@dataclass(frozen=True)
class DownloadSettings:
    """How the download Jobs run (`modelCache.download`)."""

    enabled: bool = True
    image: str = DEFAULT_IMAGE
    timeout_minutes: int = 240     # the Job's activeDeadlineSeconds; also how long pods wait
    backoff_limit: int = 6         # pod retries, each resuming where the last stopped
    workers: int = 8               # files downloaded at a time
    exclude: tuple[str, ...] = ()  # globs of repository files not to download
    resources: Resources = field(default_factory=lambda: Resources(cpu="1", memory="2Gi", cpu_limit="4"))

    @property
    def timeout_seconds(self) -> int:
        return self.timeout_minutes * 60


@dataclass(frozen=True)
class ModelRef:
    """A model repository at a revision."""

    repo: str
    revision: str

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.repo}@{self.revision}".encode()).hexdigest()[:10]

    def __str__(self) -> str:
        return f"{self.repo}@{self.revision}"


@dataclass(frozen=True)
class DownloadPlan:
    """One download Job: a model at a revision, and the graphs that wait for it."""

    ref: ModelRef
    graphs: tuple[str, ...]
    size_gib: int | None = None  # the largest size a graph of this model declares (modelSizeGiB)

    @property
    def job_name(self) -> str:
        return job_name(self.ref)


def is_repo_id(model: str) -> bool:
    """Whether `model` names a Hugging Face repository (``org/name`` or a bare legacy name), not a path."""
    return bool(_REPO.match(model))


def is_commit(revision: str) -> bool:
    return bool(_COMMIT.match(revision))


class NeedsModel(Protocol):
    """What a download plan reads of a graph (`components.dynamo.spec.GraphSpec` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def model_revision(self) -> str: ...
    @property
    def model_size_gib(self) -> int | None: ...
    @property
    def use_model_cache(self) -> bool: ...


def model_ref(spec: NeedsModel) -> ModelRef | None:
    """The repository a graph needs in the cache, or None (its model is a path, or it mounts no cache)."""
    if not spec.use_model_cache or not is_repo_id(spec.model):
        return None
    return ModelRef(spec.model, spec.model_revision)


def download_plans(graphs: Iterable[NeedsModel]) -> list[DownloadPlan]:
    """One plan per distinct model and revision the graphs need, in the order graphs first name them."""
    by_ref: dict[ModelRef, list[NeedsModel]] = {}
    for spec in graphs:
        ref = model_ref(spec)
        if ref is not None:
            by_ref.setdefault(ref, []).append(spec)
    plans = []
    for ref, specs in by_ref.items():
        sizes = [s.model_size_gib for s in specs if s.model_size_gib is not None]
        plans.append(DownloadPlan(ref, tuple(s.name for s in specs), max(sizes) if sizes else None))
    return plans


def job_name(ref: ModelRef) -> str:
    """``model-<name>-<hash>``: readable, a DNS label, and different for every model and revision."""
    slug = re.sub(r"[^a-z0-9]+", "-", ref.repo.rsplit("/", 1)[-1].lower()).strip("-") or "model"
    room = _JOB_NAME_MAX - len("model--") - len(ref.digest)
    return f"model-{slug[:room].rstrip('-')}-{ref.digest}"


# The cache layout the script writes (`hf_download.marker_path`, `hf_download.snapshot_path`), spelt
# again here so that the offline plan does not import the script (a few milliseconds of its budget);
# tests/unit/test_model_download.py holds the two to the same answers.
def marker_path(mount_path: str, ref: ModelRef) -> str:
    """Where the script writes the completion marker of `ref`, and the pods look for it."""
    return f"{mount_path.rstrip('/')}/dynamo-cluster/downloads/{ref.repo.replace('/', '--')}/{ref.revision}.json"


def snapshot_path(mount_path: str, repo: str, commit: str) -> str:
    """The directory of a downloaded commit in the cache (what a graph pinned to a commit loads)."""
    return f"{mount_path.rstrip('/')}/hub/models--{repo.replace('/', '--')}/snapshots/{commit}"


def script_source() -> str:
    """The download script, as the ConfigMap ships it (the file, read without importing it)."""
    return (Path(__file__).parent / SCRIPT_KEY).read_text()


def script_configmap(name: str, namespace: Ref) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "model-download")},
            "data": {SCRIPT_KEY: script_source()}}


def download_args(plan: DownloadPlan, settings: DownloadSettings, mount_path: str) -> list[str]:
    args = ["--repo", plan.ref.repo, "--revision", plan.ref.revision, "--cache", mount_path,
            "--workers", str(settings.workers), "--termination-log", "/dev/termination-log"]
    for pattern in settings.exclude:
        args += ["--exclude", pattern]
    return args


def repo_dir(mount_path: str, repo: str) -> str:
    """The directory of one repository in the cache (its snapshots, refs and the script's lock)."""
    return f"{mount_path.rstrip('/')}/hub/models--{repo.replace('/', '--')}"


def own_dirs_container(plan: DownloadPlan, settings: DownloadSettings, mount_path: str) -> dict[str, Any]:
    """Gives the download's user the two directories it writes: the model's own in ``hub/`` (whole:
    a download an earlier version of this project ran as root resumes there) and the markers'. It is
    the only part that runs as root, with no capability but CHOWN (it creates the directories as the
    owner of the cache's root, and changes their owner), no privilege escalation, a read-only root."""
    markers = marker_path(mount_path, plan.ref).rsplit("/", 1)[0]
    model = repo_dir(mount_path, plan.ref.repo)
    owner = f"{DOWNLOAD_UID}:{DOWNLOAD_UID}"
    return {
        "name": OWN_CONTAINER,
        "image": settings.image,
        "command": ["sh", "-c", 'mkdir -p "$1" "$2" && chown -R "$3" "$1" && chown "$3" "$2"', "own-model-dirs",
                    model, markers, owner],
        "resources": Resources(cpu="50m", memory="64Mi", cpu_limit="200m").to_k8s(),
        "volumeMounts": [{"name": CACHE_VOLUME, "mountPath": mount_path}],
        "securityContext": {"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": False, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"], "add": ["CHOWN"]}},
    }


def download_job(plan: DownloadPlan, settings: DownloadSettings, *, namespace: Ref,
                 claim: Ref, mount_path: str, script_configmap_name: Ref,
                 token_secret: Ref | None, token_key: str, own_dirs: bool = True) -> dict[str, Any]:
    """The Job that downloads one model into the cache. It runs on nodes without taints (no GPU
    node: it asks for no GPU), retries its pod `backoff_limit` times (each resumes), gives up after
    `timeout_minutes`, and replaces a pod only once the last one is gone (two writers would race
    on the same partial files).

    The download runs as an unprivileged user (`DOWNLOAD_UID`), with no capability, no service-account
    token and a read-only root file system (scratch and HOME on an emptyDir); only its network
    policy's egress (`download_network_policy`). `own_dirs`: an init container first hands that user
    the directories it writes (`own_dirs_container`); not needed where the file system maps every
    client to one user of its own (an EFS access point)."""
    name = plan.job_name
    meta_labels = labels(name, "model-download", {DOWNLOAD_LABEL: plan.ref.digest})
    env: list[dict[str, Any]] = [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "HOME", "value": "/tmp"},
                                 {"name": "TMPDIR", "value": "/tmp"}]
    if token_secret is not None:
        env.insert(0, secret_env_var("HF_TOKEN", token_secret, token_key))
    container = {
        "name": "download",
        "image": settings.image,
        "command": ["python3", f"{SCRIPT_DIR}/{SCRIPT_KEY}"],
        "args": download_args(plan, settings, mount_path),
        "env": env,
        "resources": settings.resources.to_k8s(),
        "volumeMounts": [{"name": CACHE_VOLUME, "mountPath": mount_path},
                         {"name": SCRIPT_VOLUME, "mountPath": SCRIPT_DIR, "readOnly": True},
                         {"name": SCRATCH_VOLUME, "mountPath": "/tmp"}],
        # The last lines of the log become the termination message when the pod fails without one.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsUser": DOWNLOAD_UID, "runAsGroup": DOWNLOAD_UID, "runAsNonRoot": True,
                            "fsGroup": DOWNLOAD_UID, "fsGroupChangePolicy": "OnRootMismatch",
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": CACHE_VOLUME, "persistentVolumeClaim": {"claimName": claim}},
                    {"name": SCRIPT_VOLUME, "configMap": {"name": script_configmap_name}},
                    {"name": SCRATCH_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}}],
    }
    if own_dirs:
        pod["initContainers"] = [own_dirs_container(plan, settings, mount_path)]
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": name, "namespace": namespace, "labels": meta_labels,
            "annotations": {
                MODEL_ANNOTATION: plan.ref.repo, REVISION_ANNOTATION: plan.ref.revision,
                **({CHECKOV_SKIP: OWN_DIRS_EXCEPTION} if own_dirs else {}),
                # A Job that failed (the download did) is replaced by the next `pulumi up`, not awaited again.
                "pulumi.com/replaceUnready": "true",
            },
        },
        "spec": {
            "backoffLimit": settings.backoff_limit,
            "activeDeadlineSeconds": settings.timeout_seconds,
            "podReplacementPolicy": "Failed",
            "template": {"metadata": {"labels": meta_labels}, "spec": pod},
        },
    }


def download_network_policy(name: str, namespace: Ref) -> dict[str, Any]:
    """The download pods may reach DNS (the cluster's kube-dns pods) and HTTPS anywhere but the
    instance metadata service (the Hub and the CDN it redirects to), and nothing may reach them."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(name, "model-download")},
        "spec": {
            "podSelector": {"matchExpressions": [{"key": DOWNLOAD_LABEL, "operator": "Exists"}]},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}],
                 "ports": [{"protocol": "TCP", "port": 443}]},
            ],
        },
    }


_WAIT_SCRIPT = """\
waited=0
while [ ! -f "$MODEL_MARKER" ]; do
  if [ "$waited" -ge "$WAIT_SECONDS" ]; then
    echo "model $MODEL (revision $MODEL_REVISION) is not in the cache after ${WAIT_SECONDS}s: its download Job \
$DOWNLOAD_JOB has not finished; see kubectl -n $POD_NAMESPACE logs job/$DOWNLOAD_JOB" >&2
    exit 1
  fi
  if [ $((waited % 300)) -eq 0 ]; then
    echo "waiting for model $MODEL (revision $MODEL_REVISION): download Job $DOWNLOAD_JOB writes $MODEL_MARKER"
  fi
  sleep 10
  waited=$((waited + 10))
done
echo "model $MODEL (revision $MODEL_REVISION) is in the cache ($MODEL_MARKER)"
"""


def wait_init_container(ref: ModelRef, *, image: str, mount_path: str, volume: str,
                        wait_seconds: int) -> dict[str, Any]:
    """An init container that returns once the model's completion marker is in the cache, and fails
    after `wait_seconds` with a line that names the Job to look at. It runs the pod's own image
    (already on the node for the main container; any image with a POSIX shell would do)."""
    env = [
        {"name": "MODEL", "value": ref.repo},
        {"name": "MODEL_REVISION", "value": ref.revision},
        {"name": "MODEL_MARKER", "value": marker_path(mount_path, ref)},
        {"name": "DOWNLOAD_JOB", "value": job_name(ref)},
        {"name": "WAIT_SECONDS", "value": str(wait_seconds)},
        {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
    ]
    return {
        "name": WAIT_CONTAINER,
        "image": image,
        "command": ["/bin/sh", "-c", _WAIT_SCRIPT],
        "env": env,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
        "volumeMounts": [{"name": volume, "mountPath": mount_path, "readOnly": True}],
    }


def plans_by_graph(plans: Sequence[DownloadPlan]) -> Mapping[str, DownloadPlan]:
    """graph name -> the plan it waits for."""
    return {graph: plan for plan in plans for graph in plan.graphs}
