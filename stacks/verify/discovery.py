"""Finding a deployed stack's NATS and etcd from outside the cluster, for `verify`.

The stack's outputs (``pulumi stack output --json``) name the Services, members, namespace and auth
Secret; ``kubectl port-forward`` makes each reachable on a local port; ``kubectl get secret``
gives the NATS credentials. The Pulumi CLI and kubectl plumbing is shared with `open`
(`stacks.ops`); what is verify's own is the hint when a CLI is missing and the outputs it needs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from stacks.ops.kubectl import Kubectl, KubeError, Run, Which
from stacks.ops.outputs import read_outputs

__all__ = ["DiscoveryError", "Kubectl", "stack_outputs"]

# verify's errors are the shared ones: the message says why and what to pass instead.
DiscoveryError = KubeError
INSTEAD = "give the endpoints directly: --nats URL --etcd URL[,URL...]"


def stack_outputs(stack: str, project_dir: Path, *, which: Which = shutil.which,
                  run: Run = subprocess.run) -> dict[str, Any]:
    """The stack's outputs, from the Pulumi CLI."""
    outputs = read_outputs(stack, project_dir, which=which, run=run, instead=INSTEAD)
    if "nats" not in outputs:
        raise DiscoveryError(f"stack {stack} has no `nats` output: run `pulumi up` first")
    return outputs
