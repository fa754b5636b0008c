"""The `nats` and `etcd` config sections: environment defaults and every refusal with its reason.

The stacks here put events on NATS and discovery on etcd (`BOTH`), so both are deployed."""

import pytest

from components.kit.resources import Resources, Storage
from components.nats.settings import NatsSettings
from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig
from tests.harness import parse, stack_config

BOTH = {"dynamo": {"discovery": "etcd", "eventPlane": "nats"}}
PROD = {"environment": "prod", "kubernetes": {"kubeconfigPath": "/k", "context": "c"}, **BOTH}
DEV = {"kubernetes": {"context": "kind-x"}, **BOTH}


def nats(config: StackConfig) -> NatsSettings:
    assert config.nats is not None
    return config.nats


def problems(values: dict[str, object], stack: str = "prod") -> list[str]:
    with pytest.raises(ConfigError) as error:
        parse(values, stack)
    return [str(p) for p in error.value.problems]


def test_prod_defaults_are_highly_available_and_keep_data() -> None:
    config = parse(PROD, "prod")
    assert nats(config).replicas == 3
    assert nats(config).max_payload == 15 * 2**20
    assert nats(config).storage == Storage("gp3", "20Gi")
    assert nats(config).resources == Resources(cpu="1", memory="2Gi", cpu_limit="1")
    assert nats(config).retain_volumes
    assert nats(config).separate_nodes
    assert config.etcd is not None
    assert config.etcd.replicas == 3
    assert config.etcd.quota_backend_bytes == 2 << 30
    assert config.etcd.retain_volumes
    assert config.etcd.separate_nodes
    assert config.etcd.resources.cpu_limit is None


def test_dev_defaults_are_small_and_disposable() -> None:
    config = parse(DEV, "dev")
    assert nats(config).replicas == 1
    assert config.etcd is not None
    assert config.etcd.replicas == 1
    assert nats(config).storage.storage_class == "standard"
    assert not nats(config).retain_volumes
    assert not nats(config).separate_nodes


def test_allow_data_loss_lets_prod_volumes_go() -> None:
    config = parse({**PROD, "allowDataLoss": True}, "prod")
    assert not nats(config).retain_volumes
    assert config.etcd is not None
    assert not config.etcd.retain_volumes
    assert nats(config).separate_nodes


def test_committed_stacks() -> None:
    """Events over NATS in both, discovery over Kubernetes: NATS is deployed, etcd is not."""
    dev: StackConfig = parse(stack_config("dev"), "dev")
    prod: StackConfig = parse(stack_config("prod"), "prod")
    assert (nats(dev).replicas, nats(prod).replicas) == (1, 3)
    assert (dev.etcd, prod.etcd) == (None, None)


def test_settings_from_config() -> None:
    config = parse({**PROD, "nats": {"replicas": 5, "maxPayload": "32Mi", "storage": {"size": "50Gi"},
                                     "resources": {"cpu": "2", "cpuLimit": "4"}, "nodeSelector": {"role": "p"}},
                    "etcd": {"replicas": 5, "quotaBackend": "4Gi", "storage": {"storageClass": "io2", "size": "8Gi"},
                             "autoCompactionRetention": "30m"}}, "prod")
    assert nats(config).replicas == 5
    assert nats(config).max_payload == 32 * 2**20
    assert nats(config).resources == Resources(cpu="2", memory="2Gi", cpu_limit="4")
    assert nats(config).node_selector == {"role": "p"}
    assert config.etcd is not None
    assert config.etcd.storage == Storage("io2", "8Gi")
    assert config.etcd.auto_compaction_retention == "30m"


def test_etcd_can_be_left_out() -> None:
    kubernetes = {**PROD, "dynamo": {"eventPlane": "nats"}}
    assert parse(kubernetes, "prod").etcd is None
    # a disabled section is still checked
    assert problems({**kubernetes, "etcd": {"enabled": False, "replica": 3}}) == [
        "dynamo-cluster:etcd.replica: unknown key (did you mean 'replicas'?); allowed: one of autoCompactionRetention, "
        "enabled, image, nodeSelector, quotaBackend, replicas, resources, storage"]


def test_even_or_negative_sizes_are_refused_with_the_reason() -> None:
    found = problems({**PROD, "etcd": {"replicas": 4}, "nats": {"replicas": 2}})
    assert found == [
        "dynamo-cluster:etcd.replicas: is 4, an even member count: its quorum of 3 tolerates no more failures "
        "than the odd size below it; allowed: 1, 3 or 5 members (an odd size: 3 tolerates one failure, 5 two)",
        "dynamo-cluster:nats.replicas: is 2: JetStream keeps its state in Raft groups that need a majority, and "
        "an even cluster tolerates no more failures than the odd size below it; allowed: 1 (a single server) or "
        "3 or 5 (a cluster)",
    ]
    assert problems({**PROD, "etcd": {"replicas": -1}}) == [
        "dynamo-cluster:etcd.replicas: is -1; allowed: 1, 3 or 5 members (an odd size: 3 tolerates one failure, "
        "5 two)"]


def test_payload_quota_and_cpu_limits() -> None:
    found = problems({**PROD, "nats": {"maxPayload": "65Mi", "resources": {"cpu": "2", "cpuLimit": "1"}},
                      "etcd": {"quotaBackend": "6Gi", "autoCompactionRetention": "1d",
                               "resources": {"cpu": "2", "cpuLimit": "500m"}}})
    assert found == [
        "dynamo-cluster:etcd.autoCompactionRetention: is '1d'; allowed: a compaction window in minutes or hours, "
        "such as 30m or 1h",
        "dynamo-cluster:etcd.quotaBackend: is 6Gi, more than half of etcd.storage.size 10Gi; allowed: at most half "
        "the volume: the write-ahead log, snapshots and defragmentation need the rest",
        "dynamo-cluster:etcd.resources.cpuLimit: is 500m, below resources.cpu 2; allowed: a CPU quantity at least "
        "resources.cpu",
        "dynamo-cluster:nats.maxPayload: is 65Mi, over the 64 MiB the NATS server accepts; allowed: a size from "
        "1Mi to 64Mi, such as 15Mi (Dynamo's default)",
        "dynamo-cluster:nats.resources.cpuLimit: is 1, below resources.cpu 2; allowed: a CPU quantity at least "
        "resources.cpu",
    ]
    assert "over etcd's recommended maximum of 8Gi" in " ".join(
        problems({**PROD, "etcd": {"quotaBackend": "9Gi", "storage": {"size": "40Gi"}}}))
    assert "dynamo-cluster:nats.maxPayload: is 512Ki" in " ".join(problems({**PROD, "nats": {"maxPayload": "512Ki"}}))


def test_a_server_the_transport_plan_uses_cannot_be_turned_off() -> None:
    assert problems({**PROD, "etcd": {"enabled": False}, "nats": {"enabled": False}}) == [
        "dynamo-cluster:etcd.enabled: is false, but dynamo.discovery is etcd; allowed: true (or unset), or "
        "dynamo.discovery kubernetes",
        "dynamo-cluster:nats.enabled: is false, but the event plane uses NATS; allowed: true (or unset), or "
        "dynamo.eventPlane and dynamo.requestPlane that do not use nats",
    ]


def test_a_server_no_plane_uses_can_still_be_deployed_and_the_plan_says_so() -> None:
    config = parse({**PROD, "dynamo": {}, "nats": {"enabled": True}, "etcd": {"enabled": True}}, "prod")
    assert config.nats is not None
    assert config.etcd is not None
    assert [w for w in config.warnings() if "wired to nothing" in w] == [
        "nats.enabled is true but no plane uses NATS (events over ZMQ or off, requests over TCP): NATS is "
        "deployed and wired to nothing",
        "etcd.enabled is true but discovery is Kubernetes (DynamoWorkerMetadata and EndpointSlices): etcd is "
        "deployed and wired to nothing",
    ]
