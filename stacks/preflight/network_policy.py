"""Whether the cluster enforces NetworkPolicies: the stack's policies (NATS, etcd, the monitoring
namespace) protect nothing on a cluster that accepts them and enforces none.

What counts as enforcement, read from the cluster:

- EKS with the Amazon VPC CNI: the `aws-node` DaemonSet's `aws-eks-nodeagent` container runs with
  ``--enable-network-policy=true`` (the container is there even when policies are off, with
  ``=false``), or the ``kube-system/amazon-vpc-cni`` ConfigMap says
  ``enable-network-policy-controller: "true"`` (how EKS Auto Mode switches it on). Sources: the
  aws/amazon-vpc-cni-k8s chart's DaemonSet and ConfigMap templates; AWS's "Restrict Pod network
  traffic with Kubernetes network policies" (VPC CNI 1.14 or later).
- Calico (DaemonSet `calico-node`) and Antrea (DaemonSet `antrea-agent`), which enforce by default.
- Cilium (DaemonSet `cilium`), unless its ``cilium-config`` ConfigMap sets ``enable-policy: never``.
- kube-router (DaemonSet `kube-router`) with ``--run-firewall=true``.
- kind's kindnet (DaemonSet `kube-system/kindnet`, container `kindnet-cni`): kindnetd enforces
  NetworkPolicies (kube-network-policies built in) from the images kind v0.24.0 ships on; older
  images do not. The image comes with the node image, not the kind binary, so the image's date tag
  (``kindest/kindnetd:v<YYYYMMDD>-...``) decides: 20240719 or later enforces (the first image with it;
  kind v0.24.0 ships v20240813). Sources: kubernetes-sigs/kind PR #3612 and the kindnetd pins of
  pkg/build/nodeimage/const_cni.go in kind's release tags. The standalone kindnet
  (``ghcr.io/aojea/kindnetd``) takes ``--network-policy``, on by default from its v1.5.0.

An engine this check cannot classify (a DaemonSet that looks like a CNI plugin, or a kindnet image
whose version it cannot read) is reported as unknown, which fails the check with what was found:
"none" would be a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from stacks.ops.cluster_view import WorkloadInfo
from stacks.ops.report import Finding

NAME = "network policy enforcement"
VPC_CNI_DAEMONSET, VPC_CNI_AGENT, VPC_CNI_NAMESPACE = "aws-node", "aws-eks-nodeagent", "kube-system"
VPC_CNI_CONFIG, VPC_CNI_CONFIG_KEY = "amazon-vpc-cni", "enable-network-policy-controller"
ENABLE_FLAG = "--enable-network-policy"
CILIUM_CONFIG, CILIUM_POLICY_KEY = "cilium-config", "enable-policy"
FIX = ("turn on an engine that enforces NetworkPolicies before `pulumi up`: on EKS, the VPC CNI's network policy "
       "agent (VPC CNI 1.14 or later: aws eks update-addon --cluster-name <cluster> --addon-name vpc-cni "
       "--configuration-values '{\"enableNetworkPolicy\": \"true\"}'), or install Calico, Cilium or Antrea; "
       "on kind, v0.24.0 or later (its kindnet enforces them) or a CNI that does")

ConfigMaps = Callable[[str, str], Mapping[str, str] | None]


def _flag(args: Sequence[str], flag: str) -> str | None:
    """The value of ``--flag=value`` (or ``--flag value``) in a command line; None when absent."""
    for index, arg in enumerate(args):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
    return None


def _named(daemons: Sequence[WorkloadInfo], name: str) -> WorkloadInfo | None:
    return next((d for d in daemons if d.name == name), None)


Engines = tuple[list[str], list[str]]  # engines that enforce, and engines that run without enforcing


def _vpc_cni(daemons: Sequence[WorkloadInfo], config_map: ConfigMaps) -> Engines:
    engines: list[str] = []
    doubts: list[str] = []
    node = _named(daemons, VPC_CNI_DAEMONSET)
    agent = node.container(VPC_CNI_AGENT) if node is not None else None
    if agent is not None:
        value = _flag(agent.args, ENABLE_FLAG)
        if value == "true":
            engines.append(f"the VPC CNI's network policy agent ({VPC_CNI_NAMESPACE}/{VPC_CNI_DAEMONSET}, "
                           f"{ENABLE_FLAG}=true)")
        else:
            doubts.append(f"the VPC CNI's network policy agent runs with {ENABLE_FLAG}={value or '(unset)'}")
    cni_config = config_map(VPC_CNI_NAMESPACE, VPC_CNI_CONFIG)
    if cni_config is not None and cni_config.get(VPC_CNI_CONFIG_KEY) == "true":
        engines.append(f"the VPC CNI's network policy controller (ConfigMap {VPC_CNI_CONFIG}: "
                       f"{VPC_CNI_CONFIG_KEY}=true)")
    return engines, doubts


def _other_engines(daemons: Sequence[WorkloadInfo], config_map: ConfigMaps) -> Engines:
    engines: list[str] = []
    doubts: list[str] = []
    for daemon, engine in (("calico-node", "Calico"), ("antrea-agent", "Antrea")):
        found = _named(daemons, daemon)
        if found is not None:
            engines.append(f"{engine} ({found.ref})")
    cilium = _named(daemons, "cilium")
    if cilium is not None:
        mode = (config_map(cilium.namespace, CILIUM_CONFIG) or {}).get(CILIUM_POLICY_KEY, "default")
        if mode == "never":
            doubts.append(f"Cilium runs with {CILIUM_POLICY_KEY}: never")
        else:
            engines.append(f"Cilium ({cilium.ref}, {CILIUM_POLICY_KEY}: {mode})")
    router = _named(daemons, "kube-router")
    if router is not None:
        firewall = next((value for c in router.containers if (value := _flag(c.args, "--run-firewall")) is not None),
                        None)
        if firewall == "true":
            engines.append(f"kube-router ({router.ref}, --run-firewall=true)")
        else:
            doubts.append(f"kube-router runs with --run-firewall={firewall or '(unset)'}")
    return engines, doubts


KINDNET = "kindnet"
KINDNET_CONTAINER = "kindnet-cni"
# The first kindnetd image of kind's with NetworkPolicy enforcement (kind v0.24.0 ships v20240813).
KINDNET_POLICIES_SINCE = 20240719
_KIND_TAG = re.compile(r"kindest/kindnetd:v(\d{8})-")
_AOJEA_TAG = re.compile(r"aojea/kindnetd:v(\d+)\.(\d+)")
# Names of DaemonSets that carry pod networking but that this check does not know.
_CNI_HINTS = ("cni", "flannel", "weave", "canal", "ovn", "kube-ovn", "multus", "net")


def _kindnet(daemons: Sequence[WorkloadInfo]) -> tuple[list[str], list[str], list[str]]:
    """kindnet: whether its image enforces (engines), does not (doubts), or cannot be told (unknown)."""
    node = _named(daemons, KINDNET)
    if node is None:
        return [], [], []
    container = node.container(KINDNET_CONTAINER) or (node.containers[0] if node.containers else None)
    image = container.image if container is not None else ""
    if (kind := _KIND_TAG.search(image)) is not None:
        date = int(kind.group(1))
        if date >= KINDNET_POLICIES_SINCE:
            return [f"kindnet ({node.ref}, {image}: NetworkPolicies built in since kind v0.24.0)"], [], []
        return [], [f"kindnet ({node.ref}) runs {image}, from before kind v0.24.0, which does not enforce "
                    "NetworkPolicies"], []
    if (standalone := _AOJEA_TAG.search(image)) is not None and container is not None:
        flag = _flag(container.args, "--network-policy")
        on = flag == "true" or (flag is None and (int(standalone.group(1)), int(standalone.group(2))) >= (1, 5))
        if on:
            return [f"kindnet ({node.ref}, {image}, --network-policy={flag or 'default on'})"], [], []
        return [], [f"kindnet ({node.ref}) runs {image} with --network-policy={flag or '(unset: off before v1.5)'}"], []
    return [], [], [f"kindnet ({node.ref}) runs {image or 'an image this check cannot see'}, whose version (and "
                    "so whether it enforces NetworkPolicies) cannot be read"]


def _unclassified(daemons: Sequence[WorkloadInfo]) -> list[str]:
    """DaemonSets that look like pod networking and that no rule here knows."""
    known = {VPC_CNI_DAEMONSET, "calico-node", "antrea-agent", "cilium", "kube-router", KINDNET, "kube-proxy"}
    return [f"{d.ref}" for d in daemons
            if d.name not in known and d.namespace in ("kube-system", "kube-flannel")
            and any(hint in d.name for hint in _CNI_HINTS)]


def check_enforcement(daemons: Sequence[WorkloadInfo], config_map: ConfigMaps, *,
                      policies: Sequence[str]) -> Finding:
    """Whether an engine enforces the NetworkPolicies the stack creates (`policies` says which)."""
    if not policies:
        return Finding.passed(NAME, "the stack creates no NetworkPolicy; not needed")
    uses = f"the stack's NetworkPolicies ({', '.join(policies)})"
    engines, doubts = _vpc_cni(daemons, config_map)
    more, more_doubts = _other_engines(daemons, config_map)
    kind, kind_doubts, unknown = _kindnet(daemons)
    engines, doubts = engines + more + kind, doubts + more_doubts + kind_doubts
    if engines:
        return Finding.passed(NAME, f"{'; '.join(engines)} enforces {uses}")
    unknown += [f"{ref} looks like pod networking this check does not know" for ref in _unclassified(daemons)]
    if unknown:
        return Finding.failed(NAME, f"unknown whether NetworkPolicies are enforced: {'; '.join(unknown + doubts)}; "
                                    f"{uses} may be accepted and not enforced",
                              "check that the cluster's network plugin enforces NetworkPolicies (a pod denied by a "
                              "policy must not connect), or " + FIX)
    found = "; ".join(doubts) if doubts else "no engine that enforces NetworkPolicies runs (none of the VPC CNI's " \
                                             "network policy agent, Calico, Cilium, Antrea, kube-router, kindnet)"
    return Finding.failed(NAME, f"{found}: {uses} would be accepted and not enforced", FIX)
