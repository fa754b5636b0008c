"""Fixtures for the real-server tests: the binaries (skip, or fail under REQUIRE_INTEGRATION=1),
and a process group that is always stopped, process by process, when the test ends."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import Processes

# Debian installs nats-server under /usr/sbin, which is not on every user's PATH.
SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
PACKAGES = {"nats-server": "nats-server", "etcd": "etcd-server"}


def find_binary(name: str) -> str:
    path = shutil.which(name, path=SEARCH_PATH)
    if path is not None:
        return path
    reason = (f"`{name}` is not installed (Debian package {PACKAGES[name]}: apt-get install -y nats-server "
              "etcd-server)")
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"{reason}; REQUIRE_INTEGRATION=1 makes this a failure")
    pytest.skip(f"{reason}; set REQUIRE_INTEGRATION=1 to fail instead of skipping")


@pytest.fixture
def nats_binary() -> str:
    return find_binary("nats-server")


@pytest.fixture
def etcd_binary() -> str:
    return find_binary("etcd")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    group = Processes(logs)
    try:
        yield group
    finally:
        group.stop_all()
