"""Typed reading of raw stack config, collecting every problem instead of stopping at the first.

A `Node` is a view of one config object at a key path (``nats``, ``nodePools[1]``). Its accessors
return a typed value, or a fallback when the value is wrong, and record a `Problem` that names the
full config key, what is wrong and what is allowed. `Node.close()` reports keys nobody read (typos,
keys from another version). Every key asked for is also recorded in `Problems.keys_read`, so a test
can prove that each key the parser knows is documented.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, overload

from components.kit.quantity import is_size, quantity_bytes
from components.kit.secret import SecretValue
from stacks.config.credentials import credential_shape, strings_in
from stacks.config.schema import Derived, Key, PerEnv, Unset, documented

if TYPE_CHECKING:
    from stacks.config.defaults import EnvironmentDefaults

NAMESPACE = "dynamo-cluster"

T = TypeVar("T")
C = TypeVar("C", bound=str)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Bounds every number and size has, whatever its key: Kubernetes' integer fields are 32-bit, and no
# volume, node or message of this project comes near a pebibyte.
INT32_MAX = 2**31 - 1
SIZE_MAX = "1Pi"


@dataclass(frozen=True)
class Problem:
    key: str
    wrong: str
    allowed: str
    foreign: bool = False  # `key` is another namespace's, written in full (``aws:region``)

    def __str__(self) -> str:
        where = self.key if self.foreign else f"{NAMESPACE}:{self.key}"
        return f"{where}: {self.wrong}; allowed: {self.allowed}"


class ConfigError(Exception):
    """Every problem found in a stack's config, one per line."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.key, p.wrong))
        lines = "\n".join(f"  {p}" for p in self.problems)
        count = len(self.problems)
        super().__init__(f"invalid stack config ({count} problem{'' if count == 1 else 's'}):\n{lines}")


@dataclass
class Problems:
    """The problems found so far, and every key the parser asked for (list indexes as ``[]``)."""

    found: list[Problem] = field(default_factory=list)
    keys_read: set[str] = field(default_factory=set)
    # Config paths (``hfToken``, ``graphs[1].prefill.env.API_KEY``) whose value was set as a secret:
    # a value at or below one is read only where it can stay secret.
    secret_paths: frozenset[str] = frozenset()
    # What the environment sets where config does not (PerEnv defaults); known once `environment` is read.
    environment: EnvironmentDefaults | None = None
    # Documented object path -> the keys it may hold, from the key declarations (`stacks.config.keys`).
    declared: Mapping[str, frozenset[str]] = field(default_factory=dict)
    _refused_secrets: set[str] = field(default_factory=set)

    def is_secret(self, path: str) -> bool:
        """Whether the value at `path` is secret: it, or an object or list holding it, was set so."""
        return self.secret_root(path) is not None

    def secret_root(self, path: str) -> str | None:
        """The path that was set as a secret and holds `path` (or is it), if any."""
        return next((p for p in sorted(self.secret_paths, key=len)
                     if path == p or path.startswith((p + ".", p + "["))), None)

    def holds_secret(self, path: str) -> bool:
        """Whether the value at `path` is secret or has a secret somewhere inside it."""
        return self.is_secret(path) or any(p.startswith((path + ".", path + "[")) for p in self.secret_paths)

    def add(self, key: str, wrong: str, allowed: str) -> None:
        self.found.append(Problem(key, wrong, allowed))

    def add_foreign(self, key: str, wrong: str, allowed: str) -> None:
        """A problem with a key of another namespace (`key` in full)."""
        self.found.append(Problem(key, wrong, allowed, foreign=True))

    def raise_if_any(self) -> None:
        if self.found:
            raise ConfigError(self.found)


def describe(value: object) -> str:
    """How a wrong value reads in a message: its type and a short rendering."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return "null"


def generic(path: str) -> str:
    """``nodePools[2].labels`` -> ``nodePools[].labels``: the documented form of a key."""
    return re.sub(r"\[\d+\]", "[]", path)


class Node:
    """A config object at `path`; accessors read one key each and record problems."""

    def __init__(self, path: str, value: Mapping[str, Any], problems: Problems) -> None:
        self.path = path
        self.value = value
        self.problems = problems
        self._read: set[str] = set()
        self._screened: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _get(self, name: str, *, leaf: bool = True) -> Any:
        """The value at `name`. A leaf's value (a scalar, or a list or map read whole) is screened:
        a secret set there is refused (this accessor would copy it into plain text), and so is
        plain text shaped like a credential. Objects read with `child`/`objects` are screened key by
        key as their own leaves are read."""
        self._read.add(name)
        self.problems.keys_read.add(generic(self.key(name)))
        value = self.value.get(name)
        if leaf and value is not None and name not in self._screened:
            self._screened.add(name)
            self._screen(name, value)
        return value

    def _screen(self, name: str, value: Any) -> None:
        key = self.key(name)
        root = self.problems.secret_root(key)
        if root is not None and root != key:
            # a whole object or list set as a secret: said once, on it
            if root not in self.problems._refused_secrets:
                self.problems._refused_secrets.add(root)
                self.problems.add(root, "is set as a secret as a whole, so every value in it would be written in "
                                        "plain text (manifests, Helm values, logs)",
                                  "plain values, with only the secret ones set as secrets, one by one: "
                                  f"`pulumi config set --secret --path '{NAMESPACE}:graphs[0].prefill.env.NAME' ...`")
            return
        if self.problems.holds_secret(key):
            self.problem(name, "holds a value set with `pulumi config set --secret`, but this key's value is written "
                               "in plain text (a manifest, Helm values or a log)",
                         "a plain value here; secrets go in hfToken, ngcApiKey, kubeconfig, the Alertmanager "
                         "receivers' keys, or a worker's env (`pulumi config set --secret --path "
                         f"'{NAMESPACE}:graphs[0].prefill.env.NAME' ...`)")
            return
        for below, text in strings_in(value):
            shape = credential_shape(text)
            if shape is not None:
                self.problems.add(key + below, f"looks like {shape} in plain text, which would reach manifests, "
                                               "the state and logs",
                                  "no credential here; a worker's env takes one as a secret (`pulumi config set "
                                  f"--secret --path '{NAMESPACE}:{key}{below}' ...`), the stack's tokens as "
                                  "hfToken or ngcApiKey, a chart repository's login through the Helm "
                                  "registry configuration, not the URL")
                return

    def has(self, name: str) -> bool:
        return self.value.get(name) is not None

    def problem(self, name: str, wrong: str, allowed: str) -> None:
        self.problems.add(self.key(name), wrong, allowed)

    def close(self) -> None:
        """Report every key of this object that its declaration does not name (or, for an object
        without one, that no accessor asked for)."""
        declared = self.problems.declared.get(documented(generic(self.path)))
        if declared is not None:
            self._read |= {name for name in self.value if name in declared}
            known = sorted(declared)
            for name in sorted(set(self.value) - declared):
                self._unknown(name, known)
            return
        known = sorted(self._read)
        for name in sorted(set(self.value) - self._read):
            self._unknown(name, known)

    def _unknown(self, name: str, known: list[str]) -> None:
        near = [k for k in known if k.lower().startswith(name.lower()) or name.lower().startswith(k.lower())] \
            or difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        self.problems.add(self.key(name), f"unknown key{hint}",
                          "one of " + ", ".join(known) if known else "no keys here")

    # -- declared keys ----------------------------------------------------------------------------
    def _declared(self, key: Key[Any]) -> None:
        where = documented(generic(self.key(key.name)))
        if where != key.path:
            raise AssertionError(f"key {key.path} read at {where}")

    def read(self, key: Key[T], default: T | None = None) -> T:
        """The value of a declared key: its kind reads and checks it; unset, it is `default` (a
        Derived default, which the reader computes) or the key's own (Fixed, or the environment's)."""
        self._declared(key)
        if isinstance(key.default, Derived) and default is None:
            raise AssertionError(f"key {key.path}: a derived default must be given")
        if isinstance(key.default, Unset):
            raise AssertionError(f"key {key.path} may be unset: read_optional")
        if default is None and isinstance(key.default, PerEnv):
            if self.problems.environment is None:
                raise AssertionError(f"key {key.path}: its default is the environment's, read before it")
            default = key.default_for(self.problems.environment)
        elif default is None:
            default = self.default_of(key)
        return key.kind.read(self, key.name, default)

    def default_of(self, key: Key[T]) -> T | None:
        """A declared key's own default here (Fixed, or the environment's once it is known)."""
        if self.problems.environment is not None:
            return key.default_for(self.problems.environment)  # type: ignore[no-any-return]
        return key.default_for_fixed()  # type: ignore[no-any-return]

    def read_optional(self, key: Key[T]) -> T | None:
        """The value of a declared key that may be unset (its default is Unset): None when it is."""
        if not isinstance(key.default, Unset):
            raise AssertionError(f"key {key.path} has a default: read")
        return self.configured(key)

    def configured(self, key: Key[T]) -> T | None:
        """The value config gives a declared key, or None when it gives none (its default not applied)."""
        self._declared(key)
        if self._get(key.name, leaf=False) is None:
            return None
        value = key.kind.read(self, key.name, None)
        return None if value == "" else value  # a wrong value is a problem, and reads as unset

    # -- scalars ----------------------------------------------------------------------------
    def string(self, name: str, default: str | None = None, *, choices: Iterable[str] | None = None,
               pattern: str | None = None, pattern_text: str = "") -> str:
        raw = self._get(name)
        options = list(choices) if choices is not None else None
        allowed = ("one of " + ", ".join(options)) if options else (pattern_text or "a string")
        if raw is None:
            if default is None:
                self.problem(name, "is required but not set", allowed)
                return ""
            return default
        if not isinstance(raw, str) or raw == "":
            self.problem(name, f"expected a non-empty string, got {describe(raw)}", allowed)
            return default or ""
        if options is not None and raw not in options:
            self.problem(name, f"is {raw!r}", allowed)
            return default or raw
        if pattern is not None and not re.fullmatch(pattern, raw):
            self.problem(name, f"is {raw!r}", allowed)
            return default or raw  # keep reading with a sane value; the problem is recorded
        return raw

    @overload
    def choice(self, name: str, choices: Sequence[C], default: C) -> C: ...

    @overload
    def choice(self, name: str, choices: Sequence[C], default: None = None) -> C | None: ...

    def choice(self, name: str, choices: Sequence[C], default: C | None = None) -> C | None:
        """One of `choices` (a domain word's allowed set, so the result has its `Literal` type). A
        wrong value is a problem and reads as `default`; without a default, a missing or wrong value
        reads as None."""
        raw = self._get(name)
        allowed = "one of " + ", ".join(choices)
        if raw is None:
            if default is None:
                self.problem(name, "is required but not set", allowed)
            return default
        for option in choices:
            if raw == option:
                return option
        if isinstance(raw, str) and raw:
            self.problem(name, f"is {raw!r}", allowed)
        else:
            self.problem(name, f"expected a non-empty string, got {describe(raw)}", allowed)
        return default

    def optional_string(self, name: str, *, pattern: str | None = None, pattern_text: str = "") -> str | None:
        if self._get(name) is None:
            return None
        return self.string(name, "", pattern=pattern, pattern_text=pattern_text) or None

    def dns_label(self, name: str, default: str | None = None) -> str:
        return self.string(name, default, pattern=_DNS_LABEL.pattern,
                           pattern_text="a DNS label: lower-case letters, digits and '-', at most 63")

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None,
                maximum: int | None = None, allowed: str = "") -> int:
        raw = self._get(name)
        maximum = INT32_MAX if maximum is None else maximum
        lo = "" if minimum is None else f" >= {minimum}"
        hi = "" if maximum == INT32_MAX else f" <= {maximum}"
        text = allowed or f"an integer{lo}{' and' if lo and hi else ''}{hi}"
        if raw is None:
            if default is None:
                self.problem(name, "is required but not set", text)
                return minimum or 0
            return default
        if isinstance(raw, bool) or not isinstance(raw, int):
            if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw):
                raw = int(raw)  # top-level scalars arrive as strings from the Pulumi CLI
            else:
                self.problem(name, f"expected an integer, got {describe(raw)}", text)
                return default if default is not None else (minimum or 0)
        if (minimum is not None and raw < minimum) or (maximum is not None and raw > maximum):
            self.problem(name, f"is {raw}", text)
            return default if default is not None else (minimum or 0)
        return int(raw)

    def boolean(self, name: str, default: bool) -> bool:
        raw = self._get(name)
        if raw is None:
            return default
        if isinstance(raw, str) and raw in ("true", "false"):
            return raw == "true"
        if not isinstance(raw, bool):
            self.problem(name, f"expected true or false, got {describe(raw)}", "true or false")
            return default
        return raw

    def quantity(self, name: str, default: str, *, minimum: str | None = None, maximum: str = SIZE_MAX) -> str:
        """A Kubernetes quantity (``20Gi``, ``500m`` is not a size), at least `minimum` and at most `maximum`."""
        raw = self._get(name)
        allowed = "a Kubernetes quantity such as 20Gi or 512Mi" + (f", at least {minimum}" if minimum else "")
        if raw is None:
            return default
        if not isinstance(raw, str) or not is_size(raw):
            self.problem(name, f"expected a size, got {describe(raw)}", allowed)
            return default
        size = quantity_bytes(raw)
        if minimum is not None and size < quantity_bytes(minimum):
            self.problem(name, f"is {raw}", allowed)
            return default
        if size > quantity_bytes(maximum):
            self.problem(name, f"is {raw}", f"a Kubernetes quantity of at most {maximum}")
            return default
        return raw

    # -- collections ------------------------------------------------------------------------
    def child(self, name: str) -> Node:
        """The object at `name` (an empty one when unset); the caller must `close()` it."""
        raw = self._get(name, leaf=False)
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            self.problem(name, f"expected an object, got {describe(raw)}", "an object (a YAML map)")
            raw = {}
        return Node(self.key(name), raw, self.problems)

    def objects(self, name: str) -> list[Node]:
        """Each object of the list at `name`; the caller must `close()` each."""
        raw = self._get(name, leaf=False)
        if raw is None:
            return []
        if not isinstance(raw, list):
            self.problem(name, f"expected a list, got {describe(raw)}", "a list of objects")
            return []
        nodes: list[Node] = []
        for index, item in enumerate(raw):
            path = f"{self.key(name)}[{index}]"
            if not isinstance(item, Mapping):
                self.problems.add(path, f"expected an object, got {describe(item)}", "an object (a YAML map)")
                continue
            nodes.append(Node(path, item, self.problems))
        return nodes

    def string_map(self, name: str, default: Mapping[str, str] | None = None) -> dict[str, str]:
        raw = self._get(name)
        if raw is None:
            return dict(default or {})
        if not isinstance(raw, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            self.problem(name, f"expected a map of strings, got {describe(raw)}", "a map of string to string")
            return dict(default or {})
        return dict(raw)

    def string_list(self, name: str, default: Iterable[str] = ()) -> list[str]:
        raw = self._get(name)
        if raw is None:
            return list(default)
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.problem(name, f"expected a list of strings, got {describe(raw)}", "a list of strings")
            return list(default)
        return list(raw)

    def raw(self, name: str) -> Any:
        """The value as written, for free-form maps that the caller checks itself."""
        return self._get(name)

    def secret(self, name: str) -> Any:
        """The value at `name`, which may be (or hold) a secret: the caller keeps it one."""
        self._screened.add(name)
        return self._get(name)

    def string_map_with_secrets(self, name: str) -> tuple[dict[str, str], dict[str, SecretValue]]:
        """A map of strings whose values may each be set as a secret: (plain entries, secret entries).
        Plain entries are screened for credentials like any leaf."""
        self._screened.add(name)
        raw = self._get(name)
        if raw is None:
            return {}, {}
        if not isinstance(raw, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            self.problem(name, f"expected a map of strings, got {describe(raw)}", "a map of string to string")
            return {}, {}
        plain: dict[str, str] = {}
        secret: dict[str, SecretValue] = {}
        for key, value in raw.items():
            path = f"{self.key(name)}.{key}"
            if self.problems.is_secret(path):
                secret[key] = SecretValue(path, value)
                continue
            shape = credential_shape(value)
            if shape is not None:
                self.problems.add(path, f"looks like {shape} in plain text, which would reach the graph's "
                                        "manifest, the state and logs",
                                  f"the same value as a secret: `pulumi config set --secret --path "
                                  f"'{NAMESPACE}:{path}' ...` (it then reaches the pod through a Kubernetes "
                                  "Secret)")
                continue
            plain[key] = value
        return plain, secret
