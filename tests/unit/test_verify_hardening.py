"""verify against endpoints that misbehave: dead, trickling bytes forever, answering HTML, a JSON list
or another protocol; malformed URLs and arguments; credentials in URLs. Every case ends in a report
(or an argument error) with exit 2, within its deadline, never a traceback, never a password."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from stacks.cli import main
from stacks.verify.etcd import EtcdError, Gateway
from stacks.verify.nats import redact


class _Handler(socketserver.BaseRequestHandler):
    behave: Callable[[socket.socket], None]

    def handle(self) -> None:
        try:
            type(self).behave(self.request)
        except OSError:
            return


def serve(behave: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server that treats each connection with `behave`; yields its host:port."""
    handler = type("Handler", (_Handler,), {"behave": staticmethod(behave)})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def trickle(conn: socket.socket) -> None:
    """Sends one byte every 0.2 s and never finishes: every read succeeds, no answer completes."""
    while True:
        conn.sendall(b"x" if conn.fileno() >= 0 else b"")
        time.sleep(0.2)


def http_answer(body: bytes, status: str = "200 OK", kind: str = "text/html") -> Callable[[socket.socket], None]:
    def answer(conn: socket.socket) -> None:
        conn.recv(65536)
        conn.sendall(f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
    return answer


def nats_greeting(conn: socket.socket) -> None:
    conn.sendall(b'INFO {"server_id":"x","version":"2.14.2","max_payload":1048576}\r\n')
    conn.recv(65536)


@pytest.fixture
def trickling() -> Iterator[str]:
    yield from serve(trickle)


@pytest.fixture
def html() -> Iterator[str]:
    yield from serve(http_answer(b"<html><body>Welcome to nginx!</body></html>"))


@pytest.fixture
def json_list() -> Iterator[str]:
    yield from serve(http_answer(b"[1, 2, 3]", kind="application/json"))


@pytest.fixture
def nats_port() -> Iterator[str]:
    yield from serve(nats_greeting)


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_trickling_endpoint_meets_the_call_deadline(trickling: str) -> None:
    start = time.monotonic()
    with pytest.raises(EtcdError, match="no complete answer within 1 s"):
        Gateway(timeout=1).call(f"http://{trickling}", "maintenance/status", {})
    assert time.monotonic() - start < 3


def test_a_full_run_against_dead_and_trickling_endpoints_ends_within_30_seconds(
        trickling: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Default timeouts; NATS and three etcd members, none of them serving."""
    start = time.monotonic()
    again = trickling.replace("127.0.0.1", "localhost")  # the same server under another name: a third member
    code = main(["verify", "--nats", f"nats://{trickling}", "--etcd",
                 f"http://{trickling},http://127.0.0.1:{dead_port()},http://{again}"])
    elapsed = time.monotonic() - start
    report = capsys.readouterr()
    assert code == 2, report.out
    assert elapsed < 30, elapsed
    assert "Traceback" not in report.out + report.err
    assert "result: not serving (exit 2)" in report.out


@pytest.mark.parametrize(("server", "said"), [
    ("html", "not etcd's JSON"), ("json_list", "a JSON list, not etcd's JSON object"),
    ("nats_port", "another protocol on this port")])
def test_answers_that_are_not_etcd_are_findings_with_a_cause(server: str, said: str, request: pytest.FixtureRequest,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    address = request.getfixturevalue(server)
    code = main(["verify", "--etcd", f"http://{address}", "--timeout", "2"])
    report = capsys.readouterr()
    assert code == 2
    assert said in report.out
    assert "likely cause: nothing listens at these addresses, or not etcd" in report.out
    assert "Traceback" not in report.out + report.err


def test_an_http_server_on_the_nats_url_is_a_finding(html: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--nats", f"nats://{html}", "--timeout", "1"])
    report = capsys.readouterr()
    assert code == 2
    assert "FAIL      reachability" in report.out
    assert "likely cause:" in report.out


@pytest.mark.parametrize(("flag", "url", "said"), [
    ("--etcd", "http://127.0.0.1:99999", "Port out of range"),
    ("--etcd", "http://[::1:2379", "Invalid IPv6 URL"),
    ("--etcd", "http://127.0.0.1", "no port"),
    ("--etcd", "http://:2379", "no host"),
    ("--etcd", "http://127.0.0.1:2379/v3", "a path"),
    ("--nats", "nats://127.0.0.1:4222,nats://127.0.0.1:4223", "give one URL"),
    ("--nats", "nats://127.0.0.1:port", "Port could not be cast"),
    ("--etcd", "http://127.0.0.1:2379,,http://127.0.0.2:2379", "got an empty entry"),
    ("--etcd", "http://127.0.0.1:2379,", "got an empty entry"),
    ("--etcd", "http://127.0.0.1:2379,http://127.0.0.1:2379", "is listed more than once"),
    ("--etcd", "https://127.0.0.1:2379,http://127.0.0.2:2379", "one scheme for every URL; got http and https"),
])
def test_malformed_urls_exit_2_with_the_reason(flag: str, url: str, said: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", flag, url]) == 2
    err = capsys.readouterr().err
    assert said in err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [
    ["--timeout", "0"], ["--timeout", "-1"], ["--timeout", "nan"], ["--timeout", "inf"], ["--timeout", "x"],
    ["--timeout", "3600"], ["--nats-replicas", "0"], ["--nats-replicas", "-3"], ["--max-payload", "0"],
    ["--max-payload", str(65 * 1024 * 1024)], ["--etcd-members", "0"],
    ["--nats", "nats://127.0.0.1:1", "--nats", "nats://127.0.0.1:2"],
])
def test_arguments_are_validated(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    base = [] if "--nats" in args else ["--nats", "nats://127.0.0.1:1"]
    with pytest.raises(SystemExit) as exited:
        main(["verify", *base, *args])
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_etcd_tls_flags_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--etcd", "https://127.0.0.1:2379", "--etcd-cacert", "/nonexistent"]) == 2
    assert "go together" in capsys.readouterr().err


def test_a_password_in_a_url_is_never_printed(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_AUTH_PASSWORD", raising=False)
    port = dead_port()
    code = main(["verify", "--nats", f"nats://dynamo:s3cretPassw0rd@127.0.0.1:{port}", "--timeout", "1"])
    report = capsys.readouterr()
    assert code == 2
    assert "s3cretPassw0rd" not in report.out + report.err
    assert f"nats://dynamo:***@127.0.0.1:{port}" in report.out
    assert redact("nats://a:b@h:1") == "nats://a:***@h:1"
    assert redact("nats://h:1") == "nats://h:1"


def test_a_password_in_a_malformed_url_is_never_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "--nats", "nats://dynamo:s3cretPassw0rd@127.0.0.1:99999"]) == 2
    err = capsys.readouterr().err
    assert "s3cretPassw0rd" not in err
    assert "Port out of range" in err
