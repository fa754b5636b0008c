"""Likely causes and fixes of each data-path finding, from the EFA guide's verification steps and
its failure-mode table (Dynamo 1.4, "EFA" under the EKS pages), and what in the stack's own config
would cause them (`overrides`): pure. docs/operations.md ("The data path: `verify --dataplane`")
is the runbook that goes with them.
"""

from __future__ import annotations

from components.dynamo.backends.base import LIBFABRIC
from components.dynamo.spec import GraphSpec, WorkerGroupSpec


def overrides(spec: GraphSpec, group: WorkerGroupSpec) -> list[str]:
    """What the group's own config does to the recipe's NIXL backend switch and image."""
    out = spec.backend.switch_overrides(group.choices())
    if custom_efa_image(spec):
        out.append(f"the graph's own efaImage {spec.efa_image} may lack the EFA installer or NIXL's LIBFABRIC plugin")
    return out


def custom_efa_image(spec: GraphSpec) -> bool:
    """The graph's EFA workers run an image of the config's choosing, not the release's -efa image."""
    return bool(spec.efa_image) and spec.efa_image != spec.release.runtime_image(spec.backend, efa=True)


def _because(found: list[str], otherwise: str) -> str:
    text = "; ".join(found) if found else otherwise
    return text[:1].upper() + text[1:]


def backend_ucx(spec: GraphSpec, group: WorkerGroupSpec, namespace: str) -> str:
    otherwise = f"the switch ({spec.backend.nixl_switch()}) was replaced, or the image has no EFA"
    return (f"NIXL's LIBFABRIC switch did not take effect, and UCX over EFA is TCP: silently, about 100 s to first "
            f"token instead of about 1 s (the EFA guide). {_because(overrides(spec, group), otherwise)}. "
            f"Fix: remove the override (`kubectl -n {namespace} get dynamographdeployment {spec.name} -o yaml` shows "
            f"each worker's args and env), run the release's -efa image (or an efaImage built with the EFA "
            f"installer), then restart the workers")


def backend_unseen() -> str:
    return ("NIXL's Python API logs it at INFO when an agent creates its backend (at engine start, or on the first "
            "transfer): send a request and run again; an engine that creates its NIXL agents from C++, or logs "
            "above INFO, never prints it, and then the plugin check below decides")


def plugin_not_executing(spec: GraphSpec, group: WorkerGroupSpec, namespace: str) -> str:
    return ("the plugin was opened but its code is not mapped to run: another NIXL backend moves the KV cache "
            "(UCX, over TCP on EFA). " + backend_ucx(spec, group, namespace))


def plugin_not_loaded(spec: GraphSpec) -> str:
    image = f"efaImage {spec.efa_image}" if custom_efa_image(spec) else "the release's -efa image"
    return (f"no NIXL agent with the {LIBFABRIC} backend in the pod yet (NIXL loads the plugin when the agent is "
            f"created: send a request and run again), or the image's NIXL has no {LIBFABRIC} plugin (an image "
            f"without EFA: check the workers run {image})")


def library_path_wrong() -> str:
    return ("the library-path wrapper (`/bin/sh -c 'export LD_LIBRARY_PATH=<the guide's EFA directories>...; exec "
            "...'`) did not run: the worker's command was replaced (the DGD edited outside Pulumi?), so libfabric "
            "and aws-ofi-nccl may load from the image's other directories. Fix: `pulumi up` restores the command")


def nccl_socket(group: WorkerGroupSpec) -> str:
    forced = group.env.get("NCCL_NET", "")
    if forced and forced != "AWS Libfabric":
        return f"the group's env sets NCCL_NET={forced}: remove it"
    return ("NCCL did not load aws-ofi-nccl, and sends the tensors between the replica's nodes over TCP: the plugin "
            "not on the library path (/opt/aws-ofi-nccl/lib, see the library path finding), an image without EFA, "
            "or no EFA interfaces allocated to the pod (vpc.amazonaws.com/efa in its resources). Look for `NET/OFI` "
            "lines in the log; NCCL_NET='AWS Libfabric' in the group's env makes NCCL fail instead of falling back")


def nccl_unseen(group: WorkerGroupSpec) -> str:
    level = group.env.get("NCCL_DEBUG")
    if level is not None and level.upper() != "INFO":
        return f"the group's env sets NCCL_DEBUG={level}, so NCCL does not log its network: set INFO or remove it"
    return ("NCCL logs its network at INFO (NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS=INIT,NET, which the recipe sets on "
            "multi-node EFA workers) when the engine creates its communicators at start: the pod may still be "
            "loading the model")


def transfers_none() -> str:
    return ("no transfer yet: send a request through the frontend (the transfer series appear after the first "
            "transfer); if requests are served and nothing transfers, they do not go through prefill (check the "
            "prefill pods are ready and registered)")


def transfers_idle() -> str:
    return "the graph was idle while verify looked, or transfers hang: send requests while verify samples"


def transfers_failed(namespace: str) -> str:
    return ("the decode side could not read the KV cache from prefill: EFA errors (the node security group needs "
            "its self-referencing all-traffic rule; prefill and decode in one availability zone), `fi_mr_reg` "
            "EFAULT at worker start (not privileged on x86_64, the libfabric CUDA dmabuf bug on GB200), or a "
            f"prefill worker that went away; look for errors in `kubectl -n {namespace} logs` of the workers")


def decode_no_hits() -> str:
    return ("decode computes the prompts itself instead of receiving their KV from prefill: requests skip prefill "
            "(no prefill worker ready or registered), or the transfers fail (see failed transfers)")


def decode_unseen() -> str:
    return ("vLLM logs the line periodically while the engine is busy (at DEBUG when idle), once its KV connector "
            "has reported a query: send a request and run again")


def kv_events_absent(spec: GraphSpec) -> str:
    plane = spec.transport.event_plane
    carrier = ("NATS (`python -m stacks verify --stack <name>` checks it)" if plane == "nats"
               else "the ZMQ event plane")
    return (f"the router applied no KV events: the workers do not publish them (their --kv-events-config, or "
            f"TensorRT-LLM's flag, missing from the prefill or worker args), {carrier} does not carry them, the "
            f"frontend runs with --router-kv-overlap-score-credit 0, or no request has stored a block yet (the "
            f"counter appears with the first event applied)")


def kv_events_rejected() -> str:
    return ("events reach the router but its index applies none: they refer to blocks it does not know (events "
            "lost or out of order); the statuses are the router's own")


def pods_missing(namespace: str, selector: str) -> str:
    return (f"pods pending (no node with free GPUs, EFA interfaces or huge pages), crash-looping, or still loading "
            f"the model: `kubectl -n {namespace} get pods -l {selector}`, then `kubectl describe pod` and the logs")


def unreadable(what: str) -> str:
    return f"{what} could not be read: kubectl could not reach the pod, or the run's time limit ran out"
