"""The instance catalog: every type the issue names, hardware facts as EC2 reports them, prices."""

import gzip
import json
from pathlib import Path
from typing import Any

import moto
import pytest

from components.nodes.catalog import CATALOG, PRICE_REGION, lookup

REQUIRED = ["p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge", "p4d.24xlarge", "p4de.24xlarge", "p6-b200.48xlarge"] + [
    f"{family}.{size}" for family in ("g5", "g6", "g6e")
    for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge", "48xlarge")]


def ec2_instance_types() -> dict[str, Any]:
    """EC2 DescribeInstanceTypes as moto ships it: an independent record of the hardware facts."""
    path = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    with gzip.open(path) as f:
        data: dict[str, Any] = json.load(f)
    return data


def test_every_required_type_is_known() -> None:
    assert sorted(REQUIRED) == sorted(CATALOG)
    assert lookup("m5.large") is None


@pytest.mark.parametrize("name", REQUIRED)
def test_hardware_facts_match_describe_instance_types(name: str) -> None:
    facts, ec2 = CATALOG[name], ec2_instance_types()[name]
    gpu = ec2["GpuInfo"]["Gpus"][0]
    network = ec2["NetworkInfo"]
    assert (facts.gpus, facts.gpu_model) == (gpu["Count"], gpu["Name"])
    assert facts.gpu_memory_gib == gpu["MemoryInfo"]["SizeInMiB"] // 1024
    assert facts.vcpus == ec2["VCpuInfo"]["DefaultVCpus"]
    assert facts.memory_gib == ec2["MemoryInfo"]["SizeInMiB"] // 1024
    assert [facts.architecture] == ec2["ProcessorInfo"]["SupportedArchitectures"]
    assert facts.network_cards == network["MaximumNetworkCards"]
    assert facts.efa == network["EfaSupported"]
    assert facts.efa_interfaces == (network["EfaInfo"]["MaximumEfaInterfaces"] if facts.efa else 0)


def test_p5_has_an_efa_interface_per_network_card() -> None:
    p5 = CATALOG["p5.48xlarge"]
    assert (p5.gpus, p5.gpu_model, p5.gpu_memory_gib, p5.network_cards, p5.efa_interfaces) == (8, "H100", 80, 32, 32)
    assert CATALOG["p5en.48xlarge"].efa_interfaces == 16
    assert not CATALOG["g6e.xlarge"].efa


def test_prices_are_on_demand_in_one_region() -> None:
    assert PRICE_REGION == "us-east-1"
    assert CATALOG["p5.48xlarge"].hourly_usd == 55.04
    assert CATALOG["p5en.48xlarge"].hourly_usd == 63.296
    assert CATALOG["p5e.48xlarge"].hourly_usd is None  # capacity blocks only
    priced = [f for f in CATALOG.values() if f.instance_type != "p5e.48xlarge"]
    assert all(f.hourly_usd is not None and f.hourly_usd > 0 for f in priced)
    # the largest size of a family is its dearest
    g6e = {f.instance_type: f.hourly_usd or 0.0 for f in CATALOG.values() if f.instance_type.startswith("g6e.")}
    assert g6e["g6e.48xlarge"] == max(g6e.values())


def test_card_bandwidth_is_ec2s_per_card_figure() -> None:
    """What DescribeInstanceTypes reports per network card (moto's snapshot), so the line rate of one
    EFA interface: checked against moto's own data, where the catalog's facts were read."""
    import gzip
    import json
    from pathlib import Path

    import moto

    snapshot = Path(moto.__file__).parent / "ec2/resources/instance_types.json.gz"
    ec2 = json.loads(gzip.decompress(snapshot.read_bytes()))
    for name, facts in CATALOG.items():
        if not facts.efa:
            continue
        cards = ec2[name]["NetworkInfo"]["NetworkCards"]
        assert {c["BaselineBandwidthInGbps"] for c in cards} == {facts.card_gbps}, name
        assert len(cards) == facts.network_cards, name
