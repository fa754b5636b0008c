"""Facts about the GPU instance types a node pool may use.

Hardware facts (GPUs, GPU memory, vCPUs, memory, network cards, EFA support and the most EFA
interfaces) are those EC2's DescribeInstanceTypes reports; they were read from the snapshot of that
API that moto 5.2.5 ships (``moto/ec2/resources/instance_types.json.gz``) on 2026-11-24. GPU memory
is given per GPU in GiB, rounded down from the MiB EC2 reports (an "80 GB" H100 is 81920 MiB = 80 GiB,
an "48 GB" L40S is 45776 MiB = 44 GiB), because that is what a model has to fit in.

Network bandwidth is each network card's baseline bandwidth in Gbps, as DescribeInstanceTypes
reports it in ``NetworkInfo.NetworkCards`` (the same moto snapshot): one EFA interface per card, so
it is also the line rate of one EFA interface. It agrees with the AWS specification table of
accelerated computing instances (total bandwidth / network cards) for every type here but
p6-b200.48xlarge, where EC2 reports 200 Gbps per card for 8 cards and the table 3,200 Gbps in all;
the lower, EC2-reported figure is used.

Prices are on-demand Linux, shared tenancy, in `PRICE_REGION`, in US dollars per instance-hour, as
published in the AWS price list. They were read on `PRICES_READ` from the AWS catalog that SkyPilot
keeps (skypilot-org/skypilot-catalog, ``catalogs/v8/aws/vms.csv`` at commit e385a0d, which holds
the price-list figures) for p4d, p4de, p5, p5en, p6-b200, g5.2xlarge, g5.48xlarge, g6.4xlarge,
g6.8xlarge, g6.48xlarge and g6e.2xlarge/.12xlarge/.16xlarge/.24xlarge; the other g5, g6 and g6e
sizes carry the price-list figures of the same families as known to the author on that date and
were not re-read one by one. Cross-checks: p5en.48xlarge $63.296 also appears in dstack PR #4110
(2026-08-06) and in a pricing correction made from the AWS Price List API (2026-07-29), which also
gives g6e.12xlarge $10.4926; p6-b200.48xlarge $113.9328 also appears in a dataset exported from
instances.vantage.sh (2025-12-21). p5e.48xlarge has no on-demand price: it is sold through
capacity blocks only, so its price is None. Prices change; the capacity table in the plan says the
date, and a pool can override the price in config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

PRICE_REGION = "us-east-1"
PRICES_READ = "2026-11-24"


@dataclass(frozen=True)
class InstanceFacts:
    instance_type: str
    gpu_model: str
    gpus: int
    gpu_memory_gib: int
    vcpus: int
    memory_gib: int
    architecture: str  # "x86_64" or "arm64"
    network_cards: int
    efa_interfaces: int  # the most EFA interfaces the type takes; 0 when it has no EFA
    hourly_usd: float | None  # on-demand in PRICE_REGION; None when not sold on demand
    card_gbps: float = 0.0  # baseline bandwidth of one network card (one EFA interface)

    @property
    def efa(self) -> bool:
        return self.efa_interfaces > 0


# The 8-GPU P instances: (type, GPU model, GPU memory GiB, vCPUs, memory GiB, network cards, price,
# Gbps per card). Every network card takes one EFA interface.
_P_TYPES: list[tuple[str, str, int, int, int, int, float | None, float]] = [
    ("p5.48xlarge", "H100", 80, 192, 2048, 32, 55.04, 100.0),
    ("p5e.48xlarge", "H200", 141, 192, 2048, 32, None, 100.0),
    ("p5en.48xlarge", "H200", 141, 192, 2048, 16, 63.296, 200.0),
    ("p4d.24xlarge", "A100", 40, 96, 1152, 4, 21.957642, 100.0),
    ("p4de.24xlarge", "A100", 80, 96, 1152, 4, 27.44705, 100.0),
    ("p6-b200.48xlarge", "B200", 179, 192, 2048, 8, 113.9328, 200.0),
]

# size -> (GPUs, vCPUs, memory GiB) of the G5, G6 and G6E families (the sizes are the same in each).
_G_SIZES: dict[str, tuple[int, int]] = {
    "xlarge": (1, 4), "2xlarge": (1, 8), "4xlarge": (1, 16), "8xlarge": (1, 32),
    "12xlarge": (4, 48), "16xlarge": (1, 64), "24xlarge": (4, 96), "48xlarge": (8, 192),
}
# EFA: 8xlarge and up. Network cards: one, except g6e.24xlarge (2) and g6e.48xlarge (4).
_G_EFA_SIZES = ("8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")
_G6E_CARDS = {"24xlarge": 2, "48xlarge": 4}
# Gbps per network card of the EFA sizes: the same in g5 and g6, higher in g6e.
_G_CARD_GBPS = {"8xlarge": 25.0, "12xlarge": 40.0, "16xlarge": 25.0, "24xlarge": 50.0, "48xlarge": 100.0}
_G6E_CARD_GBPS = {"8xlarge": 25.0, "12xlarge": 100.0, "16xlarge": 35.0, "24xlarge": 200.0, "48xlarge": 400.0}
# family -> (GPU model, GPU memory GiB, memory GiB per vCPU, price per size)
_G_FAMILIES: dict[str, tuple[str, int, int, dict[str, float]]] = {
    "g5": ("A10G", 22, 4, {"xlarge": 1.006, "2xlarge": 1.212, "4xlarge": 1.624, "8xlarge": 2.448,
                           "12xlarge": 5.672, "16xlarge": 4.096, "24xlarge": 8.144, "48xlarge": 16.288}),
    "g6": ("L4", 22, 4, {"xlarge": 0.8048, "2xlarge": 0.9776, "4xlarge": 1.3232, "8xlarge": 2.0144,
                         "12xlarge": 4.6016, "16xlarge": 3.3968, "24xlarge": 6.6752, "48xlarge": 13.3504}),
    "g6e": ("L40S", 44, 8, {"xlarge": 1.861, "2xlarge": 2.24208, "4xlarge": 3.00424, "8xlarge": 4.52856,
                            "12xlarge": 10.49264, "16xlarge": 7.57719, "24xlarge": 15.06559,
                            "48xlarge": 30.13118}),
}


def _g_family(family: str) -> list[InstanceFacts]:
    model, memory_gib, ram_per_vcpu, prices = _G_FAMILIES[family]
    out = []
    for size, (gpus, vcpus) in _G_SIZES.items():
        cards = _G6E_CARDS.get(size, 1) if family == "g6e" else 1
        efa = cards if size in _G_EFA_SIZES else 0
        gbps = (_G6E_CARD_GBPS if family == "g6e" else _G_CARD_GBPS).get(size, 0.0)
        out.append(InstanceFacts(f"{family}.{size}", model, gpus, memory_gib, vcpus, vcpus * ram_per_vcpu,
                                 "x86_64", cards, efa, prices[size], gbps))
    return out


def _build() -> dict[str, InstanceFacts]:
    facts = [InstanceFacts(name, model, 8, memory, vcpus, ram, "x86_64", cards, cards, price, gbps)
             for name, model, memory, vcpus, ram, cards, price, gbps in _P_TYPES]
    for family in _G_FAMILIES:
        facts += _g_family(family)
    return {f.instance_type: f for f in facts}


CATALOG: Mapping[str, InstanceFacts] = _build()


def lookup(instance_type: str) -> InstanceFacts | None:
    """The facts of `instance_type`, or None when the catalog does not know it."""
    return CATALOG.get(instance_type)
