"""The etcd command line: one pure function for the StatefulSet and the real-server tests."""

import pytest

from components.etcd.flags import EtcdNode, EtcdPeer, EtcdTuning, etcd_args, initial_cluster, minor_version
from components.etcd.settings import IMAGE

PEERS = [EtcdPeer("a", "http://127.0.0.1:2380"), EtcdPeer("b", "http://127.0.0.1:2390")]
NODE = EtcdNode(name="a", data_dir="/d/a", listen_client_urls="http://127.0.0.1:2379",
                listen_peer_urls="http://127.0.0.1:2380", listen_metrics_urls="http://127.0.0.1:2381",
                advertise_client_urls="http://127.0.0.1:2379", advertise_peer_url="http://127.0.0.1:2380")
TUNING = EtcdTuning(quota_backend_bytes=2 << 30, auto_compaction_retention="1h")


def args(version: str) -> list[str]:
    return etcd_args(NODE, PEERS, cluster_token="t", tuning=TUNING, version=version)


def test_common_flags() -> None:
    out = args("3.6.6")
    for flag in ("--name=a", "--data-dir=/d/a", "--initial-cluster=a=http://127.0.0.1:2380,b=http://127.0.0.1:2390",
                 "--initial-cluster-state=new", "--initial-cluster-token=t", "--auto-compaction-mode=periodic",
                 "--auto-compaction-retention=1h", f"--quota-backend-bytes={2 << 30}",
                 "--listen-metrics-urls=http://127.0.0.1:2381", "--initial-advertise-peer-urls=http://127.0.0.1:2380"):
        assert flag in out
    assert len(out) == len(set(out))


def test_version_specific_spellings() -> None:
    v34, v35, v36 = args("3.4.23"), args("v3.5.21"), args("3.6.6-0")
    assert "--logger=zap" in v34
    assert "--logger=zap" not in v35
    assert "--logger=zap" not in v36
    for old in (v34, v35):
        assert "--experimental-initial-corrupt-check=true" in old
        assert "--experimental-watch-progress-notify-interval=5s" in old
        assert not any(a.startswith("--feature-gates") for a in old)
    assert "--feature-gates=InitialCorruptCheck=true" in v36
    assert "--watch-progress-notify-interval=5s" in v36
    assert not any(a.startswith("--experimental-") for a in v36)


def test_versions_are_parsed_and_checked() -> None:
    assert minor_version("3.6.6-0") == "3.6"
    assert minor_version("v3.4.23") == "3.4"
    with pytest.raises(ValueError, match="not supported"):
        minor_version("3.3.27")
    with pytest.raises(ValueError, match="not an etcd version"):
        minor_version("latest")


def test_a_member_must_be_a_peer() -> None:
    stranger = EtcdNode(**{**NODE.__dict__, "name": "z"})
    with pytest.raises(ValueError, match="not one of the initial cluster"):
        etcd_args(stranger, PEERS, cluster_token="t", tuning=TUNING, version="3.4")


def test_initial_cluster_keeps_peer_order() -> None:
    assert initial_cluster(list(reversed(PEERS))) == "b=http://127.0.0.1:2390,a=http://127.0.0.1:2380"


def test_the_pinned_image_is_a_supported_version() -> None:
    assert minor_version(IMAGE.rsplit(":", 1)[1]) == "3.6"


def test_tls_flags_and_the_whole_command() -> None:
    from components.etcd.flags import EtcdTls, etcd_command

    tls = EtcdTls("/t/tls.crt", "/t/tls.key", "/t/ca.crt")
    with pytest.raises(ValueError, match="https://"):
        etcd_args(NODE, PEERS, cluster_token="t", tuning=TUNING, version="3.6.6", tls=tls)
    secure = EtcdNode(name="a", data_dir="/d/a", listen_client_urls="https://127.0.0.1:2379",
                      listen_peer_urls="https://127.0.0.1:2380", listen_metrics_urls="http://127.0.0.1:2381",
                      advertise_client_urls="https://127.0.0.1:2379", advertise_peer_url="https://127.0.0.1:2380")
    peers = [EtcdPeer("a", "https://127.0.0.1:2380")]
    cmd = etcd_command(secure, peers, cluster_token="t", tuning=TUNING, version="3.6.6", tls=tls)
    assert cmd[0] == "etcd"
    assert cmd[1:] == etcd_args(secure, peers, cluster_token="t", tuning=TUNING, version="3.6.6", tls=tls)
    assert {"--client-cert-auth=true", "--peer-client-cert-auth=true", "--cert-file=/t/tls.crt",
            "--peer-trusted-ca-file=/t/ca.crt"} <= set(cmd)
    assert all("=" in flag for flag in cmd[1:])  # the --flag=value form scanners read
