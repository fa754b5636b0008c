"""A Hugging Face Hub stand-in on loopback, for the download script's tests.

It answers the two requests the script makes, as the Hub does: ``GET /api/models/<repo>/revision/
<revision>?blobs=true`` (the commit and the files with their sizes) and ``GET /<repo>/resolve/
<commit>/<path>``, which for large files redirects to a "CDN" on another host name (``localhost``
instead of ``127.0.0.1``, the same server) that honours ``Range`` with a 206. Misbehaviour is
scripted per test: 429s with a ``Retry-After`` before the model info answers, a 503 before a file
does, a transfer cut off halfway, a token the repository requires. Every request is logged with its
``Range`` and ``Authorization`` headers.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LARGE = 1 << 20  # files from this size on are served by the "CDN", as LFS files are


@dataclass
class Request:
    host: str
    path: str
    range: str | None
    authorization: str | None


@dataclass
class HubState:
    repo: str = "acme/tiny-model"
    revision: str = "main"
    files: dict[str, bytes] = field(default_factory=dict)
    token: str | None = None                    # required when set (a gated repository)
    too_many: int = 0                           # 429s before the model info answers
    retry_after: str = "1"
    unavailable: dict[str, int] = field(default_factory=dict)  # path -> 503s before it is served
    cut: dict[str, int] = field(default_factory=dict)          # path -> transfers cut off halfway
    log: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.log if r.path.endswith("/" + path)]


def _handler(state: HubState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            del format, args  # quiet

        def _send(self, code: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            host = self.headers.get("Host", "")
            with state.lock:
                state.log.append(Request(host, path, self.headers.get("Range"), self.headers.get("Authorization")))
            if path.startswith("/cdn/"):
                self._file(path[len("/cdn/"):])
                return
            if state.token is not None and self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, b'{"error": "Access to model is restricted"}')
                return
            if path == f"/api/models/{state.repo}/revision/{state.revision}":
                with state.lock:
                    throttled = state.too_many > 0
                    state.too_many -= throttled
                if throttled:
                    self._send(429, b"rate limited", {"Retry-After": state.retry_after})
                    return
                siblings = [{"rfilename": name, "size": len(data)} for name, data in sorted(state.files.items())]
                self._send(200, json.dumps({"id": state.repo, "sha": COMMIT, "siblings": siblings}).encode(),
                           {"Content-Type": "application/json"})
                return
            match = re.fullmatch(rf"/{re.escape(state.repo)}/resolve/([0-9a-f]{{40}})/(.+)", path)
            if match is None or match.group(1) != COMMIT or match.group(2) not in state.files:
                self._send(404, b"Entry not found")
                return
            name = match.group(2)
            if len(state.files[name]) >= LARGE:
                port = self.server.server_address[1]  # type: ignore[index]
                self._send(302, headers={"Location": f"http://localhost:{port}/cdn/{name}"})
                return
            self._file(name)

        def _file(self, name: str) -> None:
            data = state.files[name]
            with state.lock:
                failing = state.unavailable.get(name, 0) > 0
                if failing:
                    state.unavailable[name] -= 1
                cut = state.cut.get(name, 0) > 0
                if cut:
                    state.cut[name] -= 1
            if failing:
                self._send(503, b"try again")
                return
            start = 0
            asked = self.headers.get("Range")
            if asked:
                start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1))  # type: ignore[union-attr]
                if start >= len(data):
                    self._send(416, headers={"Content-Range": f"bytes */{len(data)}"})
                    return
            body = data[start:]
            self.send_response(206 if asked else 200)
            if asked:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if cut:
                self.wfile.write(body[:len(body) // 2])  # promised it all, sent half: the connection drops
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(state: HubState) -> Iterator[str]:
    """The Hub's endpoint (http://127.0.0.1:<port>) while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
