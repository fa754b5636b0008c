"""The real programs some unit tests drive (kubectl, promtool, a Dynamo runtime): found on PATH, or the
test is skipped, or under REQUIRE_INTEGRATION=1 (CI) fails, saying how to install what is missing."""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(name: str, how_to_install: str) -> str:
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"`{name}` is not installed ({how_to_install})"
    if os.environ.get("REQUIRE_INTEGRATION") == "1":
        pytest.fail(f"{reason}; REQUIRE_INTEGRATION=1 makes this a failure")
    pytest.skip(f"{reason}; set REQUIRE_INTEGRATION=1 to fail instead of skipping")
