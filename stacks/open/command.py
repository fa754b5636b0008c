"""`python -m stacks open grafana|prometheus|alertmanager --stack NAME`: port-forward to a deployed
stack's UI and say where it is.

Where the Service runs comes from the stack's outputs (the in-cluster URLs the program exports:
``http://<service>.<namespace>.svc.<domain>:<port>``); the cluster from the stack's own kubeconfig
and context, as its Kubernetes provider reaches it. The command prints the local URL and, for
Grafana, where the admin password is: the Secret's name and the kubectl command that reads it. It
never reads the password itself. The port-forward runs until Ctrl-C.

Exit status: 0 after the port-forward ran and was stopped, 2 when there is nothing to open or the
stack or cluster cannot be reached.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.observability.settings import GRAFANA_PASSWORD_KEY, GRAFANA_USER_KEY
from stacks.open.targets import TARGETS, Target
from stacks.ops.cluster import kubectl_flags, kubectl_for, stack_cluster
from stacks.ops.kubectl import Kubectl, KubeError
from stacks.ops.outputs import read_outputs
from stacks.ops.target import ClusterTarget
from stacks.outputs import ObservabilityOutputs, OutputsError, StackOutputs


class OpenError(Exception):
    """Nothing to open; the message says why."""


@dataclass(frozen=True)
class OpenOptions:
    target: Target
    stack: str
    port: int
    project_dir: Path
    graph: str | None = None

    @staticmethod
    def from_args(args: argparse.Namespace) -> OpenOptions:
        if not 0 <= args.port <= 65535:
            raise OpenError(f"--port {args.port}: expected a port number, 1 to 65535 (0: any free port)")
        target: Target = next(t for t in TARGETS if t == args.target)
        if args.graph is not None and target != "frontend":
            raise OpenError(f"--graph: only with frontend (not {target})")
        return OpenOptions(target=target, stack=args.stack, port=args.port, project_dir=args.project_dir,
                           graph=args.graph)


@dataclass(frozen=True)
class Service:
    namespace: str
    name: str
    port: int


def service_of(url: str) -> Service:
    """The Service behind an in-cluster URL the program exports (``http://<name>.<ns>.svc...:<port>``)."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").split(".")
    if len(labels) < 3 or labels[2] != "svc" or parts.port is None:
        raise OpenError(f"{url!r} is not an in-cluster Service URL (http://<service>.<namespace>.svc...:<port>)")
    return Service(namespace=labels[1], name=labels[0], port=parts.port)


@dataclass(frozen=True)
class Destination:
    service: Service
    login: tuple[str, ...]  # where the credentials are, never the credentials; "{url}" is the local URL


def frontend(outputs: StackOutputs[str], stack: str, graph: str | None) -> Destination:
    """A graph's frontend, and a first request to it."""
    frontends = outputs.dynamo.frontends
    names = ", ".join(frontends) or "none"
    if graph is None:
        if len(frontends) != 1:
            raise OpenError(f"stack {stack} has {len(frontends)} graph frontends ({names}): name one with --graph")
        graph = next(iter(frontends))
    if graph not in frontends:
        raise OpenError(f"--graph {graph}: stack {stack} has no such graph (its frontends: {names})")
    model = frontends[graph].model
    return Destination(service_of(frontends[graph].url), (
        f"graph {graph} serves {model} (the OpenAI API; the frontend has no authentication of its own). A first "
        "request:",
        "  curl -s {url}v1/chat/completions -H 'content-type: application/json' -d '{{\"model\": "
        f"\"{model}\", \"messages\": [{{{{\"role\": \"user\", \"content\": \"Hello\"}}}}], "
        "\"max_tokens\": 16}}'"))


def destination(outputs: StackOutputs[str], target: Target, stack: str, flags: str) -> Destination:
    """What `target` is in the deployed stack, and how one logs in (`flags`: kubectl's cluster flags)."""
    obs: ObservabilityOutputs[str] | None = outputs.observability
    if target == "frontend":
        raise OpenError("a frontend is opened with `frontend`'s own destination (`frontend`)")
    if obs is None:
        raise OpenError(f"stack {stack} runs no observability stack (observability.enabled is false)")
    if target == "grafana":
        service = service_of(obs.grafana_url)
        secret = obs.grafana_admin_secret
        read = (f"kubectl {flags} -n {service.namespace} get secret {secret} "
                f"-o jsonpath='{{.data.{GRAFANA_PASSWORD_KEY}}}' | base64 -d")
        return Destination(service, (
            f"login: the admin user and password are in Secret {service.namespace}/{secret} "
            f"(keys {GRAFANA_USER_KEY} and {GRAFANA_PASSWORD_KEY}); read the password with:",
            f"  {read}"))
    if target == "prometheus":
        return Destination(service_of(obs.prometheus_url), ("login: none (reachable only through this forward)",))
    if obs.alertmanager_url is None:
        raise OpenError(f"stack {stack} runs no Alertmanager (observability.alertmanager.enabled is false)")
    return Destination(service_of(obs.alertmanager_url), ("login: none (reachable only through this forward)",))


def _wait_for_interrupt() -> None:
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


@dataclass(frozen=True)
class Runners:
    """What `run` reaches the outside world with: tests replace each."""

    outputs: Callable[[str, Path], dict[str, Any]] = read_outputs
    cluster: Callable[[Path, str], ClusterTarget] = stack_cluster
    kubectl: Callable[..., Kubectl] = Kubectl
    wait: Callable[[], None] = _wait_for_interrupt


def run(options: OpenOptions, runners: Runners = Runners()) -> int:
    with ExitStack() as cleanup:
        try:
            try:
                outputs = StackOutputs.from_dict(runners.outputs(options.stack, options.project_dir))
            except OutputsError as error:
                raise OpenError(f"the outputs of stack {options.stack} are not those this version of "
                                f"dynamo-cluster writes ({error}): run `pulumi up` with this version first") from None
            target = runners.cluster(options.project_dir, options.stack)
            where = (frontend(outputs, options.stack, options.graph) if options.target == "frontend" else
                     destination(outputs, options.target, options.stack, kubectl_flags(target)))
            kubectl = kubectl_for(target, cleanup, runners.kubectl)
            service = where.service
            port = cleanup.enter_context(kubectl.port_forward(service.namespace, f"svc/{service.name}",
                                                              service.port, options.port))
        except (OpenError, KubeError) as error:
            print(f"open: {error}", file=sys.stderr)
            return 2
        url = f"http://127.0.0.1:{port}/"
        print(f"{options.target} of stack {options.stack}: {url}")
        print(f"  forwarded to Service {service.namespace}/{service.name} port {service.port}")
        for line in where.login:
            print(line.format(url=url) if "{url}" in line else line)
        print("Ctrl-C stops the port-forward.", flush=True)
        runners.wait()
    return 0


def main(args: argparse.Namespace) -> int:
    """The command line's entry: bad arguments exit 2 like everything else that cannot be opened."""
    try:
        options = OpenOptions.from_args(args)
    except OpenError as error:
        print(f"open: {error}", file=sys.stderr)
        return 2
    return run(options)
