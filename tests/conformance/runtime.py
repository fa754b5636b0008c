"""The real Dynamo runtime of each release (`make runtimes` installs them into cached venvs).

Without a release's runtime its tests skip, saying how to install it; REQUIRE_CONFORMANCE=1 (CI) makes
that a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.dynamo.releases import RELEASES
from stacks.local.runtime import installed, python_of

# Every release of the table whose ai-dynamo wheels are published.
RUNTIME_RELEASES = tuple(version for version, release in RELEASES.items() if release.runtime_wheels)


def runtime_python(version: str) -> Path:
    """The python of the release's runtime venv, or a skip (a failure under REQUIRE_CONFORMANCE=1)."""
    if installed(version):
        return python_of(version)
    reason = f"the Dynamo {version} runtime is not installed (make runtimes)"
    if os.environ.get("REQUIRE_CONFORMANCE") == "1":
        pytest.fail(f"{reason}; REQUIRE_CONFORMANCE=1 makes this a failure")
    pytest.skip(f"{reason}; set REQUIRE_CONFORMANCE=1 to fail instead of skipping")
