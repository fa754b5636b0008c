"""The etcd command line, as a pure function of the member, its peers and the tuning.

The StatefulSet and the integration tests (real etcd processes on loopback) both build their
command lines here, TLS included: `etcd_command` gives the whole command, ``etcd`` then every
flag in ``--flag=value`` form, because that is where scanners (checkov's CKV_K8S_116/117/119)
read a container's etcd flags; nothing is left to ``args``. Flags whose spelling differs between
etcd minor versions are chosen by `version`:

- 3.4 logs with the deprecated capnslog unless told ``--logger=zap``; 3.5 and 3.6 use zap only.
- The initial corruption check is ``--experimental-initial-corrupt-check`` up to 3.5 and the
  ``InitialCorruptCheck`` feature gate from 3.6 (which deprecates the experimental flags).
- The watch progress notification interval lost its ``experimental-`` prefix in 3.6.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

SUPPORTED_VERSIONS = ("3.4", "3.5", "3.6")


@dataclass(frozen=True)
class EtcdPeer:
    """A member of the initial cluster: its name and the URL its peers reach it on."""

    name: str
    peer_url: str


@dataclass(frozen=True)
class EtcdNode:
    """This member: where it listens, what it advertises, where it keeps its data. Values may hold
    ``$(POD_NAME)``-style references that Kubernetes expands from the container's environment."""

    name: str
    data_dir: str
    listen_client_urls: str
    listen_peer_urls: str
    listen_metrics_urls: str
    advertise_client_urls: str
    advertise_peer_url: str


@dataclass(frozen=True)
class EtcdTls:
    """PEM files of a member: its certificate and key (for clients and peers alike: the certificate
    carries both server and client auth) and the CA every client and peer certificate must chain to.
    With these, client and peer traffic is TLS and both sides must present a certificate of the CA."""

    cert_file: str
    key_file: str
    trusted_ca_file: str


def tls_flags(tls: EtcdTls) -> list[str]:
    return [
        f"--cert-file={tls.cert_file}",
        f"--key-file={tls.key_file}",
        f"--trusted-ca-file={tls.trusted_ca_file}",
        "--client-cert-auth=true",
        f"--peer-cert-file={tls.cert_file}",
        f"--peer-key-file={tls.key_file}",
        f"--peer-trusted-ca-file={tls.trusted_ca_file}",
        "--peer-client-cert-auth=true",
    ]


@dataclass(frozen=True)
class EtcdTuning:
    """Server tuning. `auto_compaction_retention` is a periodic window such as ``1h``."""

    quota_backend_bytes: int
    auto_compaction_retention: str
    snapshot_count: int = 10000
    heartbeat_interval_ms: int = 100
    election_timeout_ms: int = 1000
    watch_progress_notify_interval: str = "5s"


def minor_version(version: str) -> str:
    """``3.6`` from ``3.6.6``, ``v3.5.21`` or an image tag such as ``3.6.6-0``."""
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    if match is None:
        raise ValueError(f"not an etcd version: {version!r}")
    minor = f"{match.group(1)}.{match.group(2)}"
    if minor not in SUPPORTED_VERSIONS:
        raise ValueError(f"etcd {minor} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}")
    return minor


def initial_cluster(peers: Sequence[EtcdPeer]) -> str:
    return ",".join(f"{peer.name}={peer.peer_url}" for peer in peers)


def _version_flags(minor: str, tuning: EtcdTuning) -> list[str]:
    if minor == "3.6":
        return ["--feature-gates=InitialCorruptCheck=true",
                f"--watch-progress-notify-interval={tuning.watch_progress_notify_interval}"]
    out = ["--logger=zap"] if minor == "3.4" else []
    return [*out, "--experimental-initial-corrupt-check=true",
            f"--experimental-watch-progress-notify-interval={tuning.watch_progress_notify_interval}"]


def etcd_args(node: EtcdNode, peers: Sequence[EtcdPeer], *, cluster_token: str, tuning: EtcdTuning,
              version: str, tls: EtcdTls | None = None) -> list[str]:
    """The arguments of ``etcd`` for `node` bootstrapping a new static cluster of `peers`; with
    `tls`, client and peer URLs must be ``https://`` (the metrics listener stays plain HTTP for probes).

    ``--initial-*`` flags only matter on the first start: a member whose data dir exists rejoins
    with the membership stored there.
    """
    if node.name not in {peer.name for peer in peers} and not node.name.startswith("$("):
        raise ValueError(f"member {node.name!r} is not one of the initial cluster's peers")
    minor = minor_version(version)
    if tls is not None:
        plain = [url for url in (node.listen_client_urls, node.advertise_client_urls, node.listen_peer_urls,
                                 node.advertise_peer_url, *(p.peer_url for p in peers)) if not url.startswith("https://")]
        if plain:
            raise ValueError(f"with TLS every client and peer URL is https://, not {plain[0]}")
    return [
        f"--name={node.name}",
        f"--data-dir={node.data_dir}",
        f"--listen-client-urls={node.listen_client_urls}",
        f"--advertise-client-urls={node.advertise_client_urls}",
        f"--listen-peer-urls={node.listen_peer_urls}",
        f"--initial-advertise-peer-urls={node.advertise_peer_url}",
        f"--listen-metrics-urls={node.listen_metrics_urls}",
        f"--initial-cluster={initial_cluster(peers)}",
        f"--initial-cluster-token={cluster_token}",
        "--initial-cluster-state=new",
        "--log-outputs=stderr",
        "--auto-compaction-mode=periodic",
        f"--auto-compaction-retention={tuning.auto_compaction_retention}",
        f"--quota-backend-bytes={tuning.quota_backend_bytes}",
        f"--snapshot-count={tuning.snapshot_count}",
        f"--heartbeat-interval={tuning.heartbeat_interval_ms}",
        f"--election-timeout={tuning.election_timeout_ms}",
        *_version_flags(minor, tuning),
        *(tls_flags(tls) if tls is not None else []),
    ]


def etcd_command(node: EtcdNode, peers: Sequence[EtcdPeer], *, cluster_token: str, tuning: EtcdTuning,
                 version: str, tls: EtcdTls | None = None, binary: str = "etcd") -> list[str]:
    """The whole command line: `binary` (``etcd`` in the image) and `etcd_args`."""
    return [binary, *etcd_args(node, peers, cluster_token=cluster_token, tuning=tuning, version=version, tls=tls)]
