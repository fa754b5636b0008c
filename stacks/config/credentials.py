"""What a credential written in plain text looks like: the shapes of the tokens and keys a stack's
config might carry by mistake, so the reader can refuse them before they reach a manifest, Helm
values, the state or a log.

Each shape is the documented or well-known prefix of one issuer's tokens (Hugging Face user access
tokens `hf_...`, NVIDIA NGC personal keys `nvapi-...`, AWS access key ids `AKIA...`/`ASIA...`, GitHub
tokens `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`github_pat_`, Slack tokens `xox?-` and incoming-webhook
URLs), a JSON Web Token (three base64url parts, the first two starting `eyJ`), a PEM private key,
and a URL with a password in it (`scheme://user:password@host`). Deliberately narrow: a shape that
matched ordinary values (model names, image digests, paths) would refuse valid config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a Hugging Face access token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("an NGC API key", re.compile(r"\bnvapi-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("a Slack token", re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/]+")),
    ("a JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a URL with a password", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
)


def credential_shape(text: str) -> str | None:
    """What kind of credential `text` holds (``a Hugging Face access token``), or None."""
    for name, pattern in _SHAPES:
        if pattern.search(text):
            return name
    return None


def strings_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every string in a config value, with its path below it (``.a.b[2]``; "" for the value itself).
    Map keys count too: a credential can be written as one."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield f"{path}.{key}", key
            yield from strings_in(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")
