"""Reading `Pulumi.yaml` and a `Pulumi.<stack>.yaml` the way the Pulumi CLI hands config to a program.

Every value becomes a string; objects and lists become JSON text. `secure:` values cannot be
decrypted offline: each becomes a placeholder that is marked secret, so the plan shows where a
secret flows (``[secret]``) without knowing it. A test asserts no placeholder text ever reaches a
plan artifact.

YAML has types that JSON (and so the Pulumi CLI's string form) has not: dates and timestamps
(an unquoted ``2024-01-01``), ``!!set``, ``!!binary``, map keys that are not strings, ``.nan`` and
``.inf``. A value of our namespace that holds one is a `ConfigError` naming its key, never a crash.
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stacks.config.reader import NAMESPACE, Problems

PLACEHOLDER_PREFIX = "offline-plan-placeholder-for-"


class StackFileError(Exception):
    """The project or stack file cannot be read at all."""


@dataclass(frozen=True)
class StackFile:
    project: str
    stack: str
    path: Path
    config: dict[str, str] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()
    # The paths (below our namespace) of each secure value: ``hfToken``, ``graphs[0].prefill.env.KEY``.
    secret_paths: frozenset[str] = frozenset()


def placeholder(key: str) -> str:
    return PLACEHOLDER_PREFIX + key


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeys(_LOADER):  # type: ignore[valid-type,misc]
    """Records every key a map repeats (YAML would keep the last silently: a second `discovery:`
    line would change the transport plan without a word)."""

    repeated: list[tuple[int, str]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        first: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in first:
                self.repeated.append((line, f"line {line}: key {key!r} repeats the one at line {first[key]} "
                                            "(YAML would keep the last one only; remove one)"))
            else:
                first[key] = line
        return dict(super().construct_mapping(node, deep=deep))


def _load_yaml(path: Path) -> Any:
    try:
        loader = _UniqueKeys(path.read_text())
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such file") from None
    loader.repeated = []
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if loader.repeated:
        raise StackFileError("\n".join(f"{path}: {text}" for _, text in sorted(loader.repeated)))
    return doc


def _unsecure(value: Any, key: str, path: str = "") -> tuple[Any, list[str]]:
    """The value with every ``{secure: ...}`` replaced by a placeholder, and the paths below the
    key where there was one ("" for the value itself, ``.graphs`` style otherwise)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return placeholder(key), [path]
        found: list[str] = []
        out = {}
        for k, v in value.items():
            out[k], below = _unsecure(v, key, f"{path}.{k}")
            found += below
        return out, found
    if isinstance(value, list):
        items = [_unsecure(v, key, f"{path}[{i}]") for i, v in enumerate(value)]
        return [v for v, _ in items], [p for _, below in items for p in below]
    return value, []


def _yaml_type(value: Any) -> tuple[str, str]:
    """(what a value of a YAML-only type is, what to write instead)."""
    if isinstance(value, datetime.datetime):
        return "a YAML timestamp (unquoted)", "a quoted string, if text is meant"
    if isinstance(value, datetime.date):
        return "a YAML date (an unquoted YYYY-MM-DD)", "a quoted string, if text is meant"
    if isinstance(value, set | frozenset):
        return "a YAML set (!!set)", "a list or a map"
    if isinstance(value, bytes):
        return "binary data (!!binary)", "a string"
    if isinstance(value, float):
        return f"the number {value} (.nan or .inf)", "a finite number"
    return f"a value of YAML type {type(value).__name__}", "a string, number, boolean, list or map"


def _json_value(value: Any, path: str, problems: Problems) -> Any:
    """`value` as JSON would hold it; each YAML-only value becomes a problem at its key path."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                shown = key.isoformat() if isinstance(key, datetime.date) else repr(key)
                kind = "a number" if isinstance(key, int | float) else _yaml_type(key)[0]
                problems.add(path, f"has the key {shown}, which is {kind}, not a string",
                             "map keys that are strings: quote the key")
                continue
            out[key] = _json_value(item, f"{path}.{key}", problems)
        return out
    if isinstance(value, list):
        return [_json_value(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
    wrong, allowed = _yaml_type(value)
    problems.add(path, f"is {wrong}", allowed)
    return None


def _as_cli_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def read_stack_file(project_dir: Path, stack: str, path: Path | None = None) -> StackFile:
    """The config of `stack`, read from `path` (default `Pulumi.<stack>.yaml` in `project_dir`)."""
    project_doc = _load_yaml(project_dir / "Pulumi.yaml")
    if not isinstance(project_doc, dict) or not isinstance(project_doc.get("name"), str):
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: no project name")
    project = project_doc["name"]
    path = path if path is not None else project_dir / f"Pulumi.{stack}.yaml"
    doc = _load_yaml(path) or {}
    if not isinstance(doc, dict):
        raise StackFileError(f"{path}: expected a map with a 'config' key")
    entries = doc.get("config") or {}
    if not isinstance(entries, dict):
        raise StackFileError(f"{path}: 'config' must be a map of key to value")
    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    secret_paths: set[str] = set()
    problems = Problems()
    for raw_key, raw_value in entries.items():
        key = str(raw_key) if ":" in str(raw_key) else f"{project}:{raw_key}"
        value, secure_at = _unsecure(raw_value, key)
        secret = bool(secure_at)
        if key.startswith(NAMESPACE + ":"):
            secret_paths.update(key[len(NAMESPACE) + 1:] + below for below in secure_at)
        if key.startswith(NAMESPACE + ":"):
            value = _json_value(value, key[len(NAMESPACE) + 1:], problems)
        else:  # another package's key: the program never reads it, only the Pulumi CLI
            value = json.loads(json.dumps(value, default=str)) if isinstance(value, dict | list) else value
        if value is None:
            continue
        config[key] = _as_cli_string(value)
        if secret:
            secret_keys.add(key)
    problems.raise_if_any()
    return StackFile(project=project, stack=stack, path=path, config=config,
                     secret_keys=frozenset(secret_keys), secret_paths=frozenset(secret_paths))
