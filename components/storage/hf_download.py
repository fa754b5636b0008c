"""Download one Hugging Face model repository into the shared model cache, once per model and revision.

The model-download Job (one per model and revision) runs this file (shipped in a ConfigMap)
with the Python of a small image; it uses the standard library only. It asks the Hub's HTTP API for
the revision's commit and file list (``GET /api/models/<repo>/revision/<revision>?blobs=true``) and
downloads every file from ``/<repo>/resolve/<commit>/<path>`` (the commit, so a branch that moves
during the download cannot mix two commits), into huggingface_hub's cache layout under
``<cache>/hub``, so engines whose ``HF_HOME`` is ``<cache>`` find the model without downloading:

    <cache>/hub/models--<org>--<name>/snapshots/<commit>/<path>
    <cache>/hub/models--<org>--<name>/refs/<revision>          (the commit; unless revision is it)

When every file is there it writes the completion marker (`marker_path`): JSON with the model, the
revision, the commit, the files and their sizes, the total bytes and the time it finished. Worker pods
wait for that file (an init container) before they start. A repeated run with the marker in place
does nothing.

Resumable: a file is written to ``<path>.incomplete`` and renamed when whole; an interrupted transfer
continues with a ``Range`` request from where it stopped, in this run (the next attempt) or the next
(the Job retries its pod). Retries: a 429 waits as long as ``Retry-After`` says (seconds or an HTTP
date); a 5xx, a dropped connection or a timeout waits an exponential backoff with jitter; 401, 403 and
404 fail at once with what to do. Several files download at a time (``--workers``). The Hugging Face
token comes from the environment (``HF_TOKEN``), never from an argument, and is not sent on to
another host when the Hub redirects a download to its CDN.

Exit status: 0 when the model is in the cache, 1 when the download failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import email.utils
import fcntl
import fnmatch
import http.client
import json
import os
import random
import re
import shutil
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

DEFAULT_ENDPOINT = "https://huggingface.co"
MARKER_DIR = "dynamo-cluster/downloads"
USER_AGENT = "dynamo-cluster-model-download/1"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
CHUNK = 1 << 20
# The longest Retry-After this script honours; the Hub's rate-limit windows are minutes long.
MAX_RETRY_AFTER = 3600.0
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class DownloadError(Exception):
    """A failure that retrying will not fix (or that retrying did not fix)."""


def repo_folder(repo: str) -> str:
    """huggingface_hub's folder name of a model repository: ``models--<org>--<name>``."""
    return "models--" + repo.replace("/", "--")


def marker_path(cache: str, repo: str, revision: str) -> str:
    """Where the completion marker of `repo` at `revision` lives in the cache."""
    return f"{cache.rstrip('/')}/{MARKER_DIR}/{repo.replace('/', '--')}/{revision}.json"


def snapshot_path(cache: str, repo: str, commit: str) -> str:
    return f"{cache.rstrip('/')}/hub/{repo_folder(repo)}/snapshots/{commit}"


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int | None  # None when the Hub did not say


@dataclass(frozen=True)
class Settings:
    repo: str
    revision: str
    cache: Path
    endpoint: str = DEFAULT_ENDPOINT
    token: str | None = None
    exclude: tuple[str, ...] = ()
    workers: int = 4
    attempts: int = 8
    backoff_base: float = 2.0
    max_backoff: float = 120.0
    timeout: float = 60.0
    termination_log: str | None = None


def log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {message}", flush=True)


# -- HTTP -----------------------------------------------------------------------------------------
class _SameHostAuth(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but drops the Authorization header when one leads to another host (the
    Hub sends large files to its CDN): the token is for the Hub only."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,  # noqa: PLR0917
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            for key in [k for k in new.headers if k.lower() == "authorization"]:
                del new.headers[key]
            new.unredirected_hdrs.pop("Authorization", None)
        return new


_OPENER = urllib.request.build_opener(_SameHostAuth())


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks to wait (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return min(max(0.0, float(when.timestamp()) - current), MAX_RETRY_AFTER)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: about base * 2^attempt, at most `cap`."""
    return min(cap, base * 2.0 ** attempt) * (0.5 + random.random() / 2)


class Hub:
    """The few requests this script makes, each retried as the module docstring says."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.settings = settings
        self.sleep = sleep

    def _request(self, url: str, headers: Mapping[str, str] | None = None) -> urllib.request.Request:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        if self.settings.token:
            request.add_header("Authorization", f"Bearer {self.settings.token}")
        return request

    def wait_before_retry(self, what: str, attempt: int, error: BaseException) -> None:
        """Sleep before attempt `attempt + 1`, or raise when the attempts are used up."""
        s = self.settings
        if attempt + 1 >= s.attempts:
            raise DownloadError(f"{what}: gave up after {s.attempts} attempts: {describe(error)}") from None
        wait = None
        if isinstance(error, urllib.error.HTTPError) and error.code == 429:
            wait = retry_after(error.headers.get("Retry-After"))
        if wait is None:
            wait = backoff(attempt, s.backoff_base, s.max_backoff)
        log(f"{what}: {describe(error)}; retrying in {wait:.1f}s (attempt {attempt + 2} of {s.attempts})")
        self.sleep(wait)

    def open(self, what: str, url: str, headers: Mapping[str, str] | None = None) -> http.client.HTTPResponse:
        """The response to a GET, raising `DownloadError` for answers a retry will not change."""
        try:
            response: http.client.HTTPResponse = _OPENER.open(self._request(url, headers),
                                                              timeout=self.settings.timeout)
            return response
        except urllib.error.HTTPError as error:
            if error.code in RETRY_STATUS:
                raise
            raise DownloadError(f"{what}: {fatal_text(error, self.settings.repo)}") from None

    def model_info(self) -> tuple[str, list[RemoteFile]]:
        """(commit, files) of the revision."""
        s = self.settings
        url = (f"{s.endpoint}/api/models/{s.repo}/revision/{urllib.parse.quote(s.revision, safe='')}"
               "?blobs=true")
        what = f"model info of {s.repo} at {s.revision}"
        for attempt in range(s.attempts):
            try:
                with self.open(what, url) as response:
                    info = json.loads(response.read())
                break
            except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as error:
                self.wait_before_retry(what, attempt, error)
        commit = str(info.get("sha", ""))
        if not _COMMIT.match(commit):
            raise DownloadError(f"{what}: the Hub answered without a commit (sha: {commit!r})")
        files = []
        for sibling in info.get("siblings", []):
            size = sibling.get("size")
            lfs = sibling.get("lfs") or {}
            if size is None and isinstance(lfs, dict):
                size = lfs.get("size")
            files.append(RemoteFile(str(sibling["rfilename"]), int(size) if size is not None else None))
        return commit, files


def describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot reach the Hub: {error.reason}"
    return f"{type(error).__name__}: {error}"


def fatal_text(error: urllib.error.HTTPError, repo: str) -> str:
    if error.code == 401:
        return (f"HTTP 401: the Hub refused the token (or {repo} needs one and none was given); set the "
                "stack's hfToken to a valid token")
    if error.code == 403:
        return (f"HTTP 403: {repo} is gated or private; accept its license on the Hub with the account of "
                "the stack's hfToken")
    if error.code == 404:
        return f"HTTP 404: no such model or revision ({repo}); check graphs[].model and graphs[].modelRevision"
    return describe(error)


# -- files ----------------------------------------------------------------------------------------
def _content_range_start(value: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", value or "")
    return int(match.group(1)) if match else None


def _copy(response: http.client.HTTPResponse, out: IO[bytes]) -> None:
    while True:
        chunk = response.read(CHUNK)
        if not chunk:
            return
        out.write(chunk)


def fetch(hub: Hub, commit: str, remote: RemoteFile, snapshot: Path) -> int:
    """Download one file into the snapshot (resuming a part left by an earlier attempt); its size."""
    s = hub.settings
    final = snapshot / remote.path
    if final.exists() and (remote.size is None or final.stat().st_size == remote.size):
        return final.stat().st_size
    final.parent.mkdir(parents=True, exist_ok=True)
    part = final.with_name(final.name + ".incomplete")
    url = f"{s.endpoint}/{s.repo}/resolve/{commit}/{urllib.parse.quote(remote.path)}"
    what = remote.path
    for attempt in range(s.attempts):
        have = part.stat().st_size if part.exists() else 0
        if remote.size is not None and have > remote.size:
            part.unlink()
            have = 0
        if remote.size is not None and have == remote.size and have > 0:
            break
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            with hub.open(what, url, headers) as response:
                if have and response.status == 206 and _content_range_start(response.headers.get("Content-Range")) \
                        == have:
                    mode = "ab"
                else:
                    mode = "wb"  # a whole file: the server ignored the range, or none was asked
                    if have:
                        log(f"{what}: the server sent the whole file instead of bytes {have}-; starting over")
                with part.open(mode) as out:
                    _copy(response, out)
            got = part.stat().st_size
            if remote.size is None or got == remote.size:
                break
            raise ConnectionError(f"the transfer stopped at {got} of {remote.size} bytes")
        except urllib.error.HTTPError as error:
            if error.code == 416 and remote.size is not None and have == remote.size:
                break  # everything was there already
            hub.wait_before_retry(what, attempt, error)
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            hub.wait_before_retry(what, attempt, error)
    got = part.stat().st_size if part.exists() else 0
    if remote.size is not None and got != remote.size:
        raise DownloadError(f"{what}: has {got} bytes after {s.attempts} attempts, expected {remote.size}")
    os.replace(part, final)
    return got


def excluded(path: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatch(path, pattern) for pattern in patterns)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (another Job downloading the same commit waits for this one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError as error:  # a file system mounted without lock support (Lustre without `flock`)
            log(f"cannot lock {path} ({error}); going on without the lock")
            yield
            return
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def summary(marker: Mapping[str, Any]) -> dict[str, Any]:
    """What the pod's termination message says (at most 4096 bytes): the marker without its file list."""
    return {k: v for k, v in marker.items() if k != "files"}


def _report(settings: Settings, marker: Mapping[str, Any]) -> None:
    if settings.termination_log:
        with contextlib.suppress(OSError):
            Path(settings.termination_log).write_text(json.dumps(summary(marker), sort_keys=True))


def _existing_marker(path: Path, settings: Settings) -> dict[str, Any] | None:
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(marker, dict) or marker.get("model") != settings.repo or \
            marker.get("revision") != settings.revision:
        return None
    snapshot = Path(snapshot_path(str(settings.cache), settings.repo, str(marker.get("commit", ""))))
    files = marker.get("files", {})
    if not isinstance(files, dict) or not all((snapshot / name).is_file() for name in files):
        return None
    return marker


def download(settings: Settings, sleep: Callable[[float], None] = time.sleep) -> dict[str, Any]:
    """Put the model in the cache and write its marker; returns the marker."""
    marker_file = Path(marker_path(str(settings.cache), settings.repo, settings.revision))
    done = _existing_marker(marker_file, settings)
    if done is not None:
        log(f"{settings.repo} at {settings.revision} is in the cache already (commit {done['commit']}, "
            f"{done['bytes']} bytes): nothing to do")
        _report(settings, done)
        return done
    hub = Hub(settings, sleep)
    commit, listed = hub.model_info()
    files = [f for f in listed if not excluded(f.path, settings.exclude)]
    known = sum(f.size or 0 for f in files)
    log(f"{settings.repo} at {settings.revision} is commit {commit}: {len(files)} files, {known} bytes "
        f"({len(listed) - len(files)} excluded)")
    repo_dir = settings.cache / "hub" / repo_folder(settings.repo)
    snapshot = Path(snapshot_path(str(settings.cache), settings.repo, commit))
    with locked(repo_dir / f".dynamo-cluster-{commit}.lock"):
        snapshot.mkdir(parents=True, exist_ok=True)
        present = sum((snapshot / f.path).stat().st_size for f in files if (snapshot / f.path).is_file())
        free = shutil.disk_usage(snapshot).free
        if known - present > free:
            raise DownloadError(f"the cache has {free} bytes free, but {settings.repo} needs {known - present} "
                                "more: grow the cache (modelCache) or remove models it no longer needs")
        sizes: dict[str, int] = {}
        done_count = 0
        lock = threading.Lock()
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
            futures = {pool.submit(fetch, hub, commit, f, snapshot): f for f in files}
            for future in concurrent.futures.as_completed(futures):
                remote = futures[future]
                size = future.result()
                with lock:
                    sizes[remote.path] = size
                    done_count += 1
                    log(f"[{done_count}/{len(files)}] {remote.path}: {size} bytes")
        if settings.revision != commit:
            ref = repo_dir / "refs" / settings.revision
            ref.parent.mkdir(parents=True, exist_ok=True)
            ref.write_text(commit)
        marker = {"model": settings.repo, "revision": settings.revision, "commit": commit,
                  "files": dict(sorted(sizes.items())), "bytes": sum(sizes.values()),
                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                  "seconds": round(time.monotonic() - started, 1)}
        _write_json(marker_file, marker)
    log(f"{settings.repo} at {settings.revision}: {marker['bytes']} bytes in {marker['seconds']}s; marker "
        f"{marker_file}")
    _report(settings, marker)
    return marker


# -- command line ---------------------------------------------------------------------------------
def parse(argv: Sequence[str], environ: Mapping[str, str]) -> Settings:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repo", required=True, help="the model repository, org/name")
    parser.add_argument("--revision", default="main", help="a branch, tag or commit (default: main)")
    parser.add_argument("--cache", required=True, type=Path, help="the cache directory (HF_HOME of the engines)")
    parser.add_argument("--endpoint", default=environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT))
    parser.add_argument("--exclude", action="append", default=[], help="a glob of files to skip (repeatable)")
    parser.add_argument("--workers", type=int, default=4, help="files downloaded at a time")
    parser.add_argument("--attempts", type=int, default=8, help="attempts per request")
    parser.add_argument("--backoff-base", type=float, default=2.0, help="seconds of the first backoff")
    parser.add_argument("--max-backoff", type=float, default=120.0, help="the longest backoff, in seconds")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a read may stall")
    parser.add_argument("--termination-log", help="where to write the summary (the pod's termination message)")
    args = parser.parse_args(list(argv))
    if args.workers < 1 or args.attempts < 1:
        parser.error("--workers and --attempts must be at least 1")
    token = environ.get("HF_TOKEN") or environ.get("HUGGING_FACE_HUB_TOKEN") or None
    return Settings(repo=args.repo, revision=args.revision, cache=args.cache, endpoint=args.endpoint.rstrip("/"),
                    token=token, exclude=tuple(args.exclude), workers=args.workers, attempts=args.attempts,
                    backoff_base=args.backoff_base, max_backoff=args.max_backoff, timeout=args.timeout,
                    termination_log=args.termination_log)


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    settings = parse(sys.argv[1:] if argv is None else argv, os.environ if environ is None else environ)
    try:
        download(settings)
    except DownloadError as error:
        log(f"failed: {error}")
        if settings.termination_log:
            with contextlib.suppress(OSError):
                Path(settings.termination_log).write_text(f"failed: {error}"[:4000])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
