"""SGLang (`python3 -m dynamo.sglang`): Dynamo's worker around SGLang's engine.

Facts: the flags are SGLang's server arguments, passed through by Dynamo's wrapper, and the
wrapper's own (the 1.4 and 1.5 examples, the 1.6.1 wheel's parser). Disaggregation hands the KV
cache over NIXL (`--disaggregation-transfer-backend nixl`), with a bootstrap port on prefill workers
that decode workers reach; NIXL's LIBFABRIC backend is chosen with the env var
`SGLANG_DISAGGREGATION_NIXL_BACKEND` (Dynamo's EFA guide). The engine publishes KV events on a ZMQ
socket in the pod (`--kv-events-config`). Its workers publish no KV-transfer metrics of their own.

Page size: every worker gets `--page-size 16` (SGLang's own default is one token, the mocker's
`--block-size` help in the 1.6.1 wheel), unless the group's extraArgs set `--page-size` themselves. A
KV router needs the engine's page size to be the block size it hashes by; upstream sets 16 on the
workers of its KV-routed example (examples/backends/sglang/deploy/agg_router.yaml) and of its
round-robin ones too (agg.yaml, disagg.yaml), in 1.4 (v1alpha1 and v1beta1) and 1.5 alike, so we set
it whatever the router: a graph then keeps its page size when its router mode changes. Upstream's
disagg-multinode.yaml alone omits it; spanning nodes changes nothing the page size is about, so
multi-node workers get it too (docs/decisions.md).

Across nodes: a worker whose replica spans nodes gets `GLOO_SOCKET_IFNAME=eth0` (the pod's
interface), which upstream's disagg-multinode.yaml sets for its multi-node workers in 1.4 (`envs`
of the v1alpha1 graph, `env` of the v1beta1 one) and in 1.5 (`spec.env`), unless the group's `env`
sets it. Ours is on the multi-node workers' container rather than the graph, since only they need it.
"""

from __future__ import annotations

from components.dynamo.backends.base import LIBFABRIC, Backend, GroupChoices, Worker, compact_json, sets_flag

KV_EVENTS = compact_json({"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"})
# Prefill workers publish the KV cache handshake on this port; decode workers reach it.
BOOTSTRAP_PORT = 30001
# Tokens per KV cache page, as upstream's examples set it: the block size the KV router hashes by.
PAGE_SIZE = 16
PAGE_SIZE_FLAG = "--page-size"
# The network interface torch.distributed's Gloo groups use between the nodes of a replica.
GLOO_INTERFACE = {"GLOO_SOCKET_IFNAME": "eth0"}


class Sglang(Backend):
    name = "sglang"
    title = "SGLang"
    module = "dynamo.sglang"
    image_repository = "sglang-runtime"
    framework = "sglang"
    # SGLang's server arguments (SGLang's "Server Arguments" reference, `python -m sglang.launch_server
    # --help`) this profile renders.
    engine_flags = frozenset({"--model-path", "--served-model-name", "--page-size", "--tp-size", "--pp-size",
                              "--ep-size", "--trust-remote-code", "--skip-tokenizer-init", "--disaggregation-mode",
                              "--disaggregation-transfer-backend", "--disaggregation-bootstrap-port",
                              "--kv-events-config", "--host"})

    def worker_args(self, worker: Worker) -> list[str]:
        args = ["--model-path", worker.model, "--served-model-name", worker.served_model_name]
        args += self.page_size_args(worker)
        args += ["--tp-size", str(worker.tensor_parallel)]
        if worker.pipeline_parallel > 1:
            args += ["--pp-size", str(worker.pipeline_parallel)]
        if worker.expert_parallel > 1:
            args += ["--ep-size", str(worker.expert_parallel)]
        if worker.trust_remote_code:
            args.append("--trust-remote-code")
        args += worker.release.worker_args
        if worker.disaggregated:
            args += ["--disaggregation-mode", worker.role, "--disaggregation-transfer-backend", "nixl",
                     "--disaggregation-bootstrap-port", str(BOOTSTRAP_PORT)]
        if worker.kv_events:
            args += self.kv_events_args(worker)
        return [*args, "--host", "0.0.0.0"]

    def page_size_args(self, worker: Worker) -> list[str]:
        """`--page-size 16`, unless the group's extraArgs set their own."""
        return [] if sets_flag(worker.extra_args, PAGE_SIZE_FLAG) else [PAGE_SIZE_FLAG, str(PAGE_SIZE)]

    def default_kv_events_args(self, worker: Worker) -> list[str]:
        return ["--kv-events-config", KV_EVENTS]

    def worker_env(self, worker: Worker) -> dict[str, str]:
        return dict(GLOO_INTERFACE) if worker.multinode else {}

    def nixl_backend_env(self) -> dict[str, str]:
        return {"SGLANG_DISAGGREGATION_NIXL_BACKEND": LIBFABRIC}

    def switch_overrides(self, group: GroupChoices) -> list[str]:
        out = super().switch_overrides(group)
        if "--disaggregation-transfer-backend" in group.extra_args:
            out.insert(0, "the group's extraArgs set --disaggregation-transfer-backend")
        return out


SGLANG = Sglang()
