"""The command-line arguments of ``python -m stacks preflight --dataplane`` (argparse only, so that
building the parser loads nothing else)."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_TIMEOUT_S = 1200
# An image pinned by tag or digest, never :latest: the graphs' own rule (stacks.config.dynamo).
_IMAGE = re.compile(r"^[a-z0-9.\-/:_]+(:[A-Za-z0-9_.\-]+|@sha256:[a-f0-9]{64})$")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of GB/s") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a bandwidth above 0 GB/s")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds above 0")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "data path (--dataplane)",
        "Runs pods on each EFA pool that a GPU graph uses, in a temporary namespace it deletes at the end, also "
        "on Ctrl-C or SIGTERM: a sanity pass on every Ready node in the workers' -efa image (GPUs, driver and "
        "CUDA, /dev/shm, EFA devices seen by fi_info, huge pages, library path), then nixlbench between two "
        "nodes (LIBFABRIC, GPU memory to GPU memory), which must reach half the line rate of the EFA interfaces a "
        "one-GPU pod gets. It runs on its own, not with the read-only checks or --aws; run it before graphs are "
        "deployed (the sanity pass takes each node whole). Exit 0 every check passed, 1 a check failed, 2 invalid "
        "config or arguments, 130 interrupted (after cleaning up).")
    group.add_argument("--dataplane", action="store_true",
                       help="prove each EFA pool's data path instead of the read-only checks (docs/operations.md)")
    group.add_argument("--nixlbench-image", metavar="IMAGE",
                       help="an image with nixlbench on its PATH (required when there are pools to check; none is "
                            "published: build one with NIXL's benchmark/nixlbench/contrib/build.sh)")
    group.add_argument("--min-gbps", type=_positive_float, metavar="GB/s",
                       help="the bandwidth every checked pool's benchmark must reach, instead of half the line rate; "
                            "pools whose line rate is unknown are otherwise measured without a threshold")
    group.add_argument("--timeout", type=_positive_int, metavar="SECONDS",
                       help=f"how long each wait may take: the sanity pods, the image check, etcd, the benchmark "
                            f"(default {DEFAULT_TIMEOUT_S}; image pulls count)")
    group.add_argument("--print", dest="print_to", nargs="?", const="-", metavar="DIR",
                       help="write the objects a run would create as YAML, to DIR (one file each) or to stdout "
                            "(no DIR, or -), without a cluster")


@dataclass(frozen=True)
class DataplaneArgs:
    dataplane: bool = False
    nixlbench_image: str | None = None
    min_gbps: float | None = None
    timeout_s: int | None = None
    print_to: str | None = None
    as_json: bool = False

    @staticmethod
    def from_args(args: argparse.Namespace) -> DataplaneArgs:
        return DataplaneArgs(dataplane=args.dataplane, nixlbench_image=args.nixlbench_image, min_gbps=args.min_gbps,
                             timeout_s=args.timeout, print_to=args.print_to, as_json=getattr(args, "json", False))

    @property
    def requested(self) -> bool:
        """--dataplane, or one of its options."""
        return self.dataplane or bool(self.given())

    def given(self) -> list[str]:
        """The data-path options given."""
        flags = (("--nixlbench-image", self.nixlbench_image), ("--min-gbps", self.min_gbps),
                 ("--timeout", self.timeout_s), ("--print", self.print_to))
        return [flag for flag, value in flags if value is not None]

    @property
    def timeout(self) -> int:
        return self.timeout_s if self.timeout_s is not None else DEFAULT_TIMEOUT_S

    @property
    def print_dir(self) -> Path | None:
        """Where --print writes files; None for stdout (or no --print)."""
        return None if self.print_to in (None, "-") else Path(str(self.print_to))

    def misuse(self, *, aws: bool, cluster: bool) -> str | None:
        """What is wrong with the combination of arguments, or None."""
        if not self.dataplane:
            given = self.given()
            return f"{', '.join(given)} go{'es' if len(given) == 1 else ''} with --dataplane" if given else None
        if aws or not cluster:
            return ("--dataplane runs on its own: drop " + " and ".join(
                flag for flag, on in (("--aws", aws), ("--no-cluster", not cluster)) if on)
                + ", and run the read-only checks without --dataplane")
        image = self.nixlbench_image
        if image is not None and (not _IMAGE.match(image) or image.endswith(":latest")):
            return (f"--nixlbench-image {image!r} is not an image pinned by tag or digest "
                    "(registry/repository:tag), never :latest")
        return None
