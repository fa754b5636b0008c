"""NATS chart values, server settings and client environment (pure builders)."""

from components.kit.resources import Resources, Storage
from components.nats.settings import DYNAMO_MAX_PAYLOAD, NatsSettings
from components.nats.values import client_env, helm_values, jetstream_limits, server_config


def settings(**overrides: object) -> NatsSettings:
    base: dict[str, object] = {
        "replicas": 3, "max_payload": DYNAMO_MAX_PAYLOAD, "storage": Storage("gp3", "20Gi"),
        "resources": Resources(cpu="1", memory="2Gi", cpu_limit="1"), "retain_volumes": True,
        "separate_nodes": True}
    base.update(overrides)
    return NatsSettings(**base)  # type: ignore[arg-type]


def test_prod_cluster_with_jetstream_on_a_file_store_volume() -> None:
    values = helm_values(settings(),
                         release="nats", auth_secret="nats-auth", verify_secret="nats-verify-auth", metrics=False)
    config = values["config"]
    assert config["cluster"] == {"enabled": True, "replicas": 3}
    store = config["jetstream"]
    assert store["enabled"] is True
    assert store["fileStore"]["pvc"] == {"enabled": True, "size": "20Gi", "storageClassName": "gp3"}
    assert store["memoryStore"] == {"enabled": False}
    # 90% of 20 GiB, as a string so the chart writes the number as it is
    assert store["fileStore"]["maxSize"] == str(int(20 * 2**30 * 0.9))
    assert values["fullnameOverride"] == "nats"


def test_single_server_in_dev_with_the_same_settings_otherwise() -> None:
    dev = helm_values(settings(replicas=1, separate_nodes=False),
                      release="nats", auth_secret="s", verify_secret="v", metrics=False)
    prod = helm_values(settings(), release="nats", auth_secret="s", verify_secret="v", metrics=False)
    assert dev["config"]["cluster"] == {"enabled": False}
    assert dev["config"]["jetstream"] == prod["config"]["jetstream"]
    assert dev["config"]["merge"] == prod["config"]["merge"]
    assert "preferredDuringSchedulingIgnoredDuringExecution" in \
        dev["podTemplate"]["merge"]["spec"]["affinity"]["podAntiAffinity"]


def test_max_payload_and_authorization_come_from_the_environment_not_the_values() -> None:
    config = server_config(settings(max_payload=32 * 2**20))
    assert config["max_payload"] == 32 * 2**20
    assert config["server_tags"] == ["<< $POD_NAME >>"]
    assert [(u["user"], u["password"]) for u in config["authorization"]["users"]] == [
        ("dynamo", "<< $NATS_AUTH_PASSWORD >>"), ("verify", "<< $NATS_VERIFY_PASSWORD >>")]
    env = helm_values(settings(), release="nats", auth_secret="nats-auth", verify_secret="nats-verify-auth",
                      metrics=False)["container"]["env"]
    assert env["NATS_AUTH_PASSWORD"] == {"valueFrom": {"secretKeyRef": {"name": "nats-auth",
                                                                        "key": "NATS_AUTH_PASSWORD"}}}
    assert env["NATS_VERIFY_PASSWORD"] == {"valueFrom": {"secretKeyRef": {"name": "nats-verify-auth",
                                                                          "key": "NATS_AUTH_PASSWORD"}}}


def test_each_client_has_its_own_user_with_only_its_subjects() -> None:
    dynamo, verify = server_config(settings())["authorization"]["users"]
    assert ">" not in dynamo["permissions"]["publish"]["allow"]
    assert {"namespace.>", "$JS.API.>", "_INBOX.>", "$KV.>"} <= set(dynamo["permissions"]["publish"]["allow"])
    assert dynamo["permissions"]["allow_responses"] is True
    assert not any(s.startswith("namespace") for s in verify["permissions"]["publish"]["allow"])
    assert "$JS.API.>" not in verify["permissions"]["publish"]["allow"]
    assert verify["permissions"]["subscribe"]["allow"] == ["_INBOX.>"]
    # the request plane's subjects are named by no source: on NATS, Dynamo's user gets every subject
    opened = server_config(settings(all_subjects=True))["authorization"]["users"][0]["permissions"]
    assert opened["publish"]["allow"] == opened["subscribe"]["allow"] == [">"]


def test_requests_equal_limits_and_gomemlimit_is_80_percent() -> None:
    container = helm_values(settings(), release="nats", auth_secret="s", verify_secret="v", metrics=False)["container"]
    assert container["resources"] == {"requests": {"cpu": "1", "memory": "2Gi"},
                                      "limits": {"cpu": "1", "memory": "2Gi"}}
    assert container["env"]["GOMEMLIMIT"] == "1638MiB"
    assert container["image"] == {"repository": "nats", "tag": "2.14.2-alpine"}


def test_spread_pdb_and_volume_retention() -> None:
    values = helm_values(settings(node_selector={"role": "platform"}),
                         release="nats", auth_secret="s", verify_secret="v",
                         metrics=False)
    spec = values["podTemplate"]["merge"]["spec"]
    term = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "nats"
    assert spec["nodeSelector"] == {"role": "platform"}
    assert values["podTemplate"]["topologySpreadConstraints"] == {
        "topology.kubernetes.io/zone": {"maxSkew": 1, "whenUnsatisfiable": "ScheduleAnyway"}}
    assert values["podDisruptionBudget"] == {"enabled": True}
    policy = values["statefulSet"]["merge"]["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    loose = helm_values(settings(retain_volumes=False),
                        release="nats", auth_secret="s", verify_secret="v", metrics=False)
    assert loose["statefulSet"]["merge"]["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Delete"


def test_exporter_only_with_metrics_and_never_the_charts_own_pod_monitor() -> None:
    off = helm_values(settings(), release="nats", auth_secret="s", verify_secret="v", metrics=False)["promExporter"]
    on = helm_values(settings(), release="nats", auth_secret="s", verify_secret="v", metrics=True)["promExporter"]
    assert off["enabled"] is False
    assert on["enabled"] is True
    assert on["podMonitor"] == {"enabled": False}


def test_jetstream_limits_turn_the_memory_store_off() -> None:
    assert jetstream_limits(settings(storage=Storage("x", "10Gi"))) == {
        "max_memory_store": 0, "max_file_store": int(10 * 2**30 * 0.9)}


def test_client_env_references_the_secret_by_the_names_dynamo_reads() -> None:
    assert client_env("nats-auth") == [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": "nats-auth", "key": key}}}
        for key in ("NATS_AUTH_USERNAME", "NATS_AUTH_PASSWORD")]
