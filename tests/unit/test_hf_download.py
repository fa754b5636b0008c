"""The model download script against a Hub stand-in on loopback (`tests.fake_hub`): the files land in
the Hugging Face cache layout with a completion marker, 429s and 5xx are retried (Retry-After
honoured), an interrupted transfer resumes with a Range request (in the same run, and in the next
one, as when the Job retries its pod), the token goes to the Hub and not to its CDN, and the script
runs with nothing but the standard library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from email.utils import formatdate
from pathlib import Path

import pytest

from components.storage import hf_download
from components.storage.hf_download import Settings, download, main, marker_path, retry_after, snapshot_path
from tests.fake_hub import COMMIT, LARGE, HubState, serve

SCRIPT = Path(hf_download.__file__)
TOKEN = "hf_test_token"


def model_files() -> dict[str, bytes]:
    return {"config.json": b'{"architectures": ["Tiny"]}', "tokenizer.json": b'{"version": "1.0"}',
            "model-00001-of-00002.safetensors": os.urandom(LARGE + 4096),
            "model-00002-of-00002.safetensors": os.urandom(2 * LARGE + 17),
            "original/consolidated.00.pth": os.urandom(LARGE)}


def settings(endpoint: str, cache: Path, **extra: object) -> Settings:
    values: dict[str, object] = {"repo": "acme/tiny-model", "revision": "main", "cache": cache, "endpoint": endpoint,
                                 "token": TOKEN, "exclude": ("original/*",), "workers": 2, "attempts": 4,
                                 "backoff_base": 0.01, "max_backoff": 0.05}
    values.update(extra)
    return Settings(**values)  # type: ignore[arg-type]


def test_a_model_lands_in_the_cache_through_429_503_and_a_cut_transfer(tmp_path: Path) -> None:
    files = model_files()
    state = HubState(files=files, token=TOKEN, too_many=2, retry_after="3",
                     unavailable={"tokenizer.json": 1}, cut={"model-00002-of-00002.safetensors": 1})
    slept: list[float] = []
    log = tmp_path / "termination-log"
    with serve(state) as endpoint:
        marker = download(settings(endpoint, tmp_path, termination_log=str(log)), sleep=slept.append)

    snapshot = Path(snapshot_path(str(tmp_path), "acme/tiny-model", COMMIT))
    for name, data in files.items():
        if name.startswith("original/"):
            assert not (snapshot / name).exists()  # excluded
        else:
            assert (snapshot / name).read_bytes() == data
    assert not list(snapshot.rglob("*.incomplete"))
    assert (tmp_path / "hub" / "models--acme--tiny-model" / "refs" / "main").read_text() == COMMIT
    # the marker, where the pods look for it
    written = json.loads(Path(marker_path(str(tmp_path), "acme/tiny-model", "main")).read_text())
    assert written == marker
    kept = {k: v for k, v in files.items() if not k.startswith("original/")}
    assert (written["model"], written["revision"], written["commit"]) == ("acme/tiny-model", "main", COMMIT)
    assert written["files"] == {k: len(v) for k, v in sorted(kept.items())}
    assert written["bytes"] == sum(map(len, kept.values()))
    assert time.strptime(written["finished"], "%Y-%m-%dT%H:%M:%SZ")
    # the 429s waited what Retry-After said; the 503 and the cut transfer backed off and were retried
    assert slept[:2] == [3.0, 3.0]
    assert len(slept) == 4
    assert all(0 < s <= 0.05 for s in slept[2:])
    # the cut transfer resumed where it stopped, on the CDN, with a Range request
    cdn = state.requests_for("model-00002-of-00002.safetensors")
    assert [r.range for r in cdn if r.path.startswith("/cdn/")] == [None, f"bytes={(2 * LARGE + 17) // 2}-"]
    # the token went to the Hub, never to the CDN on another host
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.log if not r.path.startswith("/cdn/"))
    assert all(r.authorization is None for r in state.log if r.path.startswith("/cdn/"))
    # the pod's termination message: the marker without its file list (preflight reads the size from it)
    assert json.loads(log.read_text()) == {k: v for k, v in marker.items() if k != "files"}


def test_an_interrupted_download_resumes_in_the_next_run(tmp_path: Path) -> None:
    """The first pod gives up on a cut transfer (one attempt); the next pod continues the partial file."""
    files = model_files()
    big = "model-00002-of-00002.safetensors"
    state = HubState(files=files, cut={big: 1})
    with serve(state) as endpoint:
        code = main(["--repo", "acme/tiny-model", "--cache", str(tmp_path), "--endpoint", endpoint, "--attempts", "1",
                     "--exclude", "original/*"], {})
        assert code == 1
        part = Path(snapshot_path(str(tmp_path), "acme/tiny-model", COMMIT)) / f"{big}.incomplete"
        assert part.stat().st_size == len(files[big]) // 2
        assert not Path(marker_path(str(tmp_path), "acme/tiny-model", "main")).exists()
        assert main(["--repo", "acme/tiny-model", "--cache", str(tmp_path), "--endpoint", endpoint,
                     "--exclude", "original/*"], {}) == 0
    snapshot = Path(snapshot_path(str(tmp_path), "acme/tiny-model", COMMIT))
    assert (snapshot / big).read_bytes() == files[big]
    ranges = [r.range for r in state.requests_for(big) if r.path.startswith("/cdn/")]
    assert ranges == [None, f"bytes={len(files[big]) // 2}-"]
    # the files finished by the first run were not downloaded again
    assert len(state.requests_for("config.json")) == 1


def test_a_model_in_the_cache_is_not_downloaded_again(tmp_path: Path) -> None:
    state = HubState(files={"config.json": b"{}"})
    with serve(state) as endpoint:
        first = download(settings(endpoint, tmp_path, token=None, exclude=()), sleep=lambda _: None)
        asked = len(state.log)
        again = download(settings(endpoint, tmp_path, token=None, exclude=()), sleep=lambda _: None)
    assert again == first
    assert len(state.log) == asked  # the marker answered: nothing was asked


def test_a_gated_model_without_the_token_fails_with_what_to_do(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    state = HubState(files={"config.json": b"{}"}, token=TOKEN)
    log = tmp_path / "termination-log"
    with serve(state) as endpoint:
        assert main(["--repo", "acme/tiny-model", "--cache", str(tmp_path / "cache"), "--endpoint", endpoint,
                     "--termination-log", str(log)], {}) == 1
    assert "HTTP 401: the Hub refused the token (or acme/tiny-model needs one and none was given)" in \
        capsys.readouterr().out
    assert log.read_text().startswith("failed: model info of acme/tiny-model at main: HTTP 401")
    assert len(state.log) == 1  # not retried: a retry would not change the answer


def test_the_hub_throttling_for_good_gives_up_after_the_attempts(tmp_path: Path) -> None:
    state = HubState(files={"config.json": b"{}"}, too_many=100, retry_after="0")
    with serve(state) as endpoint, pytest.raises(hf_download.DownloadError, match="gave up after 3 attempts: HTTP 429"):
        download(settings(endpoint, tmp_path, attempts=3), sleep=lambda _: None)


def test_retry_after_takes_seconds_or_a_date() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    now = time.time()
    assert retry_after(formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after(formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert retry_after("999999") == hf_download.MAX_RETRY_AFTER


def test_it_runs_with_the_standard_library_only(tmp_path: Path) -> None:
    """As the Job runs it: a file, a bare Python (-I -S: no site-packages, no user paths), the token
    in the environment."""
    files = model_files()
    state = HubState(files=files, token=TOKEN, too_many=1, retry_after="1", cut={"model-00001-of-00002.safetensors": 1})
    with serve(state) as endpoint:
        result = subprocess.run(
            [sys.executable, "-I", "-S", str(SCRIPT), "--repo", "acme/tiny-model", "--cache", str(tmp_path),
             "--endpoint", endpoint, "--exclude", "original/*", "--backoff-base", "0.01"],
            env={"HF_TOKEN": TOKEN, "PATH": os.environ.get("PATH", "")}, capture_output=True, text=True, timeout=60,
            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "retrying in 1.0s" in result.stdout  # the 429's Retry-After
    marker = json.loads(Path(marker_path(str(tmp_path), "acme/tiny-model", "main")).read_text())
    assert marker["bytes"] == sum(len(v) for k, v in files.items() if not k.startswith("original/"))
