"""An OpenAI chat client for a Dynamo frontend, timed: a unary completion, and a streamed one read as
server-sent events (``data: {chunk}`` lines, ``data: [DONE]`` last, as the OpenAI API streams them),
with the time to the first token and between tokens measured on this side of the connection."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class ServeError(Exception):
    """The frontend could not be reached, or answered something that is not what the API says."""


@dataclass(frozen=True)
class Completion:
    status: int
    completion_tokens: int | None
    finish_reason: str | None
    text: str
    seconds: float
    error: str = ""


@dataclass(frozen=True)
class Streamed:
    status: int
    done: bool  # the stream ended with data: [DONE]
    finish_reason: str | None
    completion_tokens: int | None  # from the usage chunk
    token_times: tuple[float, ...] = field(default=())  # seconds from the request to each content chunk
    error: str = ""

    @property
    def ttft(self) -> float | None:
        return self.token_times[0] if self.token_times else None

    @property
    def itl(self) -> float | None:
        """The mean time between content chunks after the first."""
        times = self.token_times
        return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else None


def _request(url: str, body: Mapping[str, Any]) -> urllib.request.Request:
    return urllib.request.Request(f"{url}/v1/chat/completions", data=json.dumps(body).encode(), method="POST",
                                  headers={"content-type": "application/json"})


def chat_body(model: str, prompt: str, max_tokens: int, *, stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": prompt}],
                            "max_tokens": max_tokens}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def unary(url: str, model: str, prompt: str, max_tokens: int, deadline: float) -> Completion:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(_request(url, chat_body(model, prompt, max_tokens, stream=False)),
                                    timeout=deadline) as response:
            answer = json.loads(response.read())
            status = int(response.status)
    except urllib.error.HTTPError as error:
        return Completion(int(error.code), None, None, "", time.monotonic() - started,
                          error.read().decode(errors="replace")[:300])
    except (OSError, ValueError) as error:
        raise ServeError(f"POST {url}/v1/chat/completions: {error}") from None
    try:
        choice = answer["choices"][0]
        return Completion(status, answer.get("usage", {}).get("completion_tokens"), choice.get("finish_reason"),
                          str((choice.get("message") or {}).get("content") or ""), time.monotonic() - started)
    except (KeyError, IndexError, TypeError):
        raise ServeError(f"the frontend's answer is not a chat completion: {str(answer)[:300]}") from None


def streamed(url: str, model: str, prompt: str, max_tokens: int, deadline: float) -> Streamed:
    started = time.monotonic()
    times: list[float] = []
    finish: str | None = None
    tokens: int | None = None
    try:
        with urllib.request.urlopen(_request(url, chat_body(model, prompt, max_tokens, stream=True)),
                                    timeout=deadline) as response:
            status = int(response.status)
            for raw in response:
                line = raw.decode(errors="replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[len("data:"):].strip()
                if data == "[DONE]":
                    return Streamed(status, True, finish, tokens, tuple(times))
                chunk = json.loads(data)
                if "error" in chunk:
                    return Streamed(status, False, finish, tokens, tuple(times), str(chunk["error"])[:300])
                for choice in chunk.get("choices") or []:
                    if (choice.get("delta") or {}).get("content"):
                        times.append(time.monotonic() - started)
                    finish = choice.get("finish_reason") or finish
                if chunk.get("usage"):
                    tokens = chunk["usage"].get("completion_tokens")
                if time.monotonic() - started > deadline:
                    return Streamed(status, False, finish, tokens, tuple(times), f"no end within {deadline:g} s")
    except urllib.error.HTTPError as error:
        return Streamed(int(error.code), False, None, None, (), error.read().decode(errors="replace")[:300])
    except (OSError, ValueError) as error:
        raise ServeError(f"POST {url}/v1/chat/completions (streamed): {error}") from None
    return Streamed(status, False, finish, tokens, tuple(times), "the stream ended without data: [DONE]")


def models(url: str, deadline: float) -> list[str]:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=deadline) as response:
            return [str(m["id"]) for m in json.loads(response.read()).get("data", [])]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ServeError(f"GET {url}/v1/models: {error}") from None
