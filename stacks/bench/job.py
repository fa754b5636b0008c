"""`bench --in-cluster`: AIPerf as a Kubernetes Job next to the graph, and its report read back.

The Job runs in the graph's namespace and calls the frontend Service directly (no port-forward, no
load balancer in the path): the numbers are the graph's own, without the client machine's network.
Its pod runs unprivileged (non-root, read-only root file system, no capabilities, no service-account
token) and writes only to an emptyDir. By default it installs the same AIPerf, with the same pinned
imports, as the local benchmark (`stacks/local/pins/aiperf.txt`) into a venv on a pinned Python image,
so the cluster needs to reach a Python package index, and the model's hub for its tokenizer; with
`--image`, an image that has `aiperf` on its PATH (an AIPerf image) runs instead and nothing is installed.
Each level's summary is printed to the log as one line after a marker, and read back from there.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.ingress.routes import BENCH_LABEL
from components.kit.kube import labels
from stacks.bench.aiperf import SUMMARY, BenchError, Level, Workload, command, read_level
from stacks.local.runtime import AIPERF, pins

# Python 3.11 (the AIPerf pins were resolved on 3.11), slim Debian, pinned by digest.
PYTHON_IMAGE = ("python:3.11.14-slim-bookworm@sha256:"
                "65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d")
CONTAINER = "aiperf"
WORK = "/work"
MARKER = "==> aiperf summary concurrency "
COMPONENT = "bench"


@dataclass(frozen=True)
class JobSpec:
    name: str
    namespace: str
    graph: str
    workload: Workload
    levels: tuple[int, ...]
    deadline_seconds: int
    image: str = ""                # "": PYTHON_IMAGE with AIPerf installed at start
    hf_token_secret: str = ""      # a Secret with key HF_TOKEN, for the tokenizer of a gated model


def script(spec: JobSpec, pinned: str, work: str = WORK) -> str:
    """The container's shell script: install AIPerf (unless the image has it), run each level, print
    each summary after its marker. `work`: the writable directory (the pod's emptyDir)."""
    lines = ["set -eu", f"mkdir -p {work}/home {work}/tmp {work}/hf {work}/results"]
    aiperf = "aiperf"
    python = "python3"
    if not spec.image:
        lines += [f"cat > {work}/pins.txt <<'PINS'", pinned.rstrip("\n"), "PINS",
                  f"python3 -m venv {work}/venv",
                  f"{work}/venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r {work}/pins.txt"]
        aiperf, python = f"{work}/venv/bin/aiperf", f"{work}/venv/bin/python"
    for level in spec.levels:
        out = f"{work}/results/c{level}"
        argv = command(Path(aiperf), spec.workload, level, Path(out))
        argv[0] = aiperf  # a PATH lookup when the image brings AIPerf
        lines += [shlex.join(argv), f"echo {shlex.quote(MARKER + str(level))}",
                  f"{python} -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "
                  f"{shlex.quote(out + '/' + SUMMARY)}"]
    return "\n".join(lines) + "\n"


def job_manifest(spec: JobSpec, pinned: str | None = None) -> dict[str, Any]:
    """The Job: one pod, never retried, removed an hour after it ends (bench deletes it sooner)."""
    pod_labels = labels(spec.name, COMPONENT, {BENCH_LABEL: spec.graph})
    env: list[dict[str, Any]] = [{"name": "HOME", "value": f"{WORK}/home"}, {"name": "TMPDIR", "value": f"{WORK}/tmp"},
                                 {"name": "HF_HOME", "value": f"{WORK}/hf"}, {"name": "PIP_NO_CACHE_DIR", "value": "1"}]
    if spec.hf_token_secret:
        env.append({"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {
            "name": spec.hf_token_secret, "key": "HF_TOKEN", "optional": True}}})
    text = script(spec, pinned if pinned is not None else pins(AIPERF).read_text())
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": pod_labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": spec.deadline_seconds,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": CONTAINER,
                        "image": spec.image or PYTHON_IMAGE,
                        "command": ["bash", "-c", text],
                        "env": env,
                        "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": {"memory": "8Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "work", "mountPath": WORK}],
                    }],
                    "volumes": [{"name": "work", "emptyDir": {"sizeLimit": "8Gi"}}],
                },
            },
        },
    }


def read_levels(log: str, levels: Sequence[int]) -> list[Level]:
    """Each level's summary from the Job's log; a level without one, or with one that cannot be read,
    is an error naming it."""
    lines = log.splitlines()
    found: dict[int, Level] = {}
    for index, line in enumerate(lines):
        if not line.startswith(MARKER):
            continue
        try:
            level = int(line[len(MARKER):].strip())
            summary = json.loads(lines[index + 1])
        except (ValueError, IndexError):
            raise BenchError(f"the Job's log has an unreadable summary after {line!r}") from None
        if not isinstance(summary, dict):
            raise BenchError(f"the Job's summary at concurrency {level} is not an object")
        found[level] = read_level(level, summary)
    missing = [level for level in levels if level not in found]
    if missing:
        raise BenchError(f"the Job's log has no summary for concurrency {', '.join(map(str, missing))}; its end:\n"
                         + "\n".join(lines[-30:]))
    return [found[level] for level in levels]
