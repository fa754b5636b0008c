"""Config keys as data: each key declared once, with its type and bounds (`Kind`), its default for
each environment, an example and its description (`Key`).

The declarations drive the three things that used to be kept in agreement by hand: the reader
(`Node.read(key)` reads and checks a value as its kind says, with its default), the unknown-key check
(`Node.close()` refuses what no key of that object declares, with a did-you-mean) and the reference
tables of docs/configuration.md (`stacks.config.docs` renders them; a test holds the page equal).
What depends on more than one key (cross-key and cross-section rules) stays in the readers and in
`stacks.config.rules`.

Paths are the documented form: list items as ``[]`` (``nodePools[].maxNodes``); the worker-group keys
are declared once under ``graphs[].worker`` and read under ``prefill`` and ``decode`` too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, overload

if TYPE_CHECKING:
    from stacks.config.defaults import EnvironmentDefaults

T = TypeVar("T")
W = TypeVar("W", bound=str)

# Worker groups share one declaration (graphs[].worker.*).
_WORKER_GROUPS = re.compile(r"^graphs\[\]\.(prefill|decode)(?=\.|$)")


def documented(path: str) -> str:
    """The documented form of a generic path (``graphs[].decode.nodes`` -> ``graphs[].worker.nodes``)."""
    return _WORKER_GROUPS.sub("graphs[].worker", path)


# -- defaults ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fixed(Generic[T]):
    """The same default in every environment."""

    value: T


@dataclass(frozen=True)
class PerEnv(Generic[T]):
    """A default that differs between dev and prod, picked from the environment's table
    (`stacks.config.defaults`, the one answer to "what does prod change?")."""

    pick: Callable[[EnvironmentDefaults], T]


@dataclass(frozen=True)
class Derived:
    """A default the reader computes from other keys (`text` says how, for the docs)."""

    text: str


@dataclass(frozen=True)
class Required:
    """No default: the key must be set (`text`, when it is required only in some cases)."""

    text: str = "required"


@dataclass(frozen=True)
class Unset:
    """No default: unset means what `text` says (the docs' default column)."""

    text: str = "unset"


Default = Fixed[Any] | PerEnv[Any] | Derived | Required | Unset


# -- kinds ------------------------------------------------------------------------------------------
class Node(Protocol):
    """What a kind asks of the config object it reads from (`stacks.config.reader.Node`, which
    implements it: the reader depends on the declarations, not the other way round)."""

    def boolean(self, name: str, default: bool) -> bool: ...

    def integer(self, name: str, default: int | None = None, *, minimum: int | None = None,
                maximum: int | None = None, allowed: str = "") -> int: ...

    def string(self, name: str, default: str | None = None, *, choices: Iterable[str] | None = None,
               pattern: str | None = None, pattern_text: str = "") -> str: ...

    def dns_label(self, name: str, default: str | None = None) -> str: ...

    @overload
    def choice(self, name: str, choices: Sequence[W], default: W) -> W: ...

    @overload
    def choice(self, name: str, choices: Sequence[W], default: None = None) -> W | None: ...

    def quantity(self, name: str, default: str, *, minimum: str | None = None) -> str: ...

    def string_map(self, name: str, default: Mapping[str, str] | None = None) -> dict[str, str]: ...

    def string_list(self, name: str, default: Iterable[str] = ()) -> list[str]: ...

    def raw(self, name: str) -> Any: ...


class Kind(Generic[T]):
    """What a key's value is, how it is read and checked, and how the docs name it. `read` returns the
    value, or `default` when it is unset (a wrong value is a problem and reads as `default`)."""

    def text(self) -> str:
        raise NotImplementedError

    def read(self, node: Node, name: str, default: T | None) -> T:
        raise NotImplementedError


@dataclass(frozen=True)
class Flag(Kind[bool]):
    def text(self) -> str:
        return "boolean"

    def read(self, node: Node, name: str, default: bool | None) -> bool:
        return node.boolean(name, bool(default))


@dataclass(frozen=True)
class Integer(Kind[int]):
    minimum: int | None = None
    maximum: int | None = None
    allowed: str = ""  # instead of the bounds, in messages and the docs
    described: str = ""  # what the docs call it, when the bounds do not say it all

    def text(self) -> str:
        if self.described:
            return self.described
        if self.allowed:
            return f"integer: {self.allowed}"
        if self.minimum is not None and self.maximum is not None:
            return f"integer {self.minimum} to {self.maximum}"
        if self.minimum is not None:
            return f"integer, at least {self.minimum}"
        return "integer"

    def read(self, node: Node, name: str, default: int | None) -> int:
        return node.integer(name, default, minimum=self.minimum, maximum=self.maximum, allowed=self.allowed)


@dataclass(frozen=True)
class Text(Kind[str]):
    """A string, matching `pattern` when given: `described` is what the docs call it, `allowed` what a
    message says is allowed (by default the same)."""

    described: str = "string"
    pattern: str | None = None
    allowed: str = ""

    def text(self) -> str:
        return self.described

    def read(self, node: Node, name: str, default: str | None) -> str:
        return node.string(name, default, pattern=self.pattern, pattern_text=self.allowed or self.described)


@dataclass(frozen=True)
class Label(Kind[str]):
    """A DNS label (lower-case letters, digits and '-', at most 63)."""

    note: str = ""  # more the docs say of it

    def text(self) -> str:
        return "DNS label" + (f", {self.note}" if self.note else "")

    def read(self, node: Node, name: str, default: str | None) -> str:
        return node.dns_label(name, default)


@dataclass(frozen=True)
class Word(Kind[W]):
    """One of a fixed set of words (a domain word's allowed set, so the value has its `Literal` type).
    A missing required word is a problem and reads as the first choice (the config is refused anyway)."""

    choices: tuple[W, ...]

    def text(self) -> str:
        return " \\| ".join(f"`{c}`" for c in self.choices)

    def read(self, node: Node, name: str, default: W | None) -> W:
        chosen = node.choice(name, self.choices, default)
        return self.choices[0] if chosen is None else chosen


@dataclass(frozen=True)
class Size(Kind[str]):
    """A Kubernetes quantity of bytes (``20Gi``), at least `minimum`."""

    minimum: str | None = None
    described: str = ""  # what the docs call it, when the minimum does not say it all

    def text(self) -> str:
        if self.described:
            return self.described
        return "size" + (f", at least `{self.minimum}`" if self.minimum else "")

    def read(self, node: Node, name: str, default: str | None) -> str:
        return node.quantity(name, default or "0", minimum=self.minimum)


@dataclass(frozen=True)
class StringMap(Kind[dict[str, str]]):
    described: str = "map of string to string"

    def text(self) -> str:
        return self.described

    def read(self, node: Node, name: str, default: dict[str, str] | None) -> dict[str, str]:
        return node.string_map(name, default)


@dataclass(frozen=True)
class StringList(Kind[list[str]]):
    described: str = "list of strings"

    def text(self) -> str:
        return self.described

    def read(self, node: Node, name: str, default: list[str] | None) -> list[str]:
        return node.string_list(name, default or ())


@dataclass(frozen=True)
class Free(Kind[Any]):
    """A value the reader checks itself (a free-form map, a secret, an object read whole)."""

    described: str

    def text(self) -> str:
        return self.described

    def read(self, node: Node, name: str, default: Any) -> Any:
        value = node.raw(name)
        return default if value is None else value


# -- keys -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Key(Generic[T]):
    """One config key: its documented path, kind, default, an example and its description."""

    path: str
    kind: Kind[T]
    default: Default
    example: str
    doc: str
    secret: bool = False  # set only with `pulumi config set --secret`

    @property
    def name(self) -> str:
        """The key's own name, within its object."""
        return re.split(r"[.\[\]]+", self.path.rstrip("[]"))[-1]

    @property
    def parent(self) -> str:
        """The documented path of the object that holds it ("" for a top-level key)."""
        return self.path[: -len(self.name) - 1] if "." in self.path else ""

    def default_for_fixed(self) -> Any:
        """The default when it does not depend on the environment (None otherwise)."""
        return self.default.value if isinstance(self.default, Fixed) else None

    def default_for(self, environment: EnvironmentDefaults) -> Any:
        match self.default:
            case Fixed(value=value):
                return value
            case PerEnv(pick=pick):
                return pick(environment)
            case _:
                return None

    def default_text(self, environments: Sequence[EnvironmentDefaults]) -> str:
        match self.default:
            case Fixed(value=value):
                return _shown(value)
            case PerEnv(pick=pick):
                values = [(env.name, pick(env)) for env in environments]
                if len({repr(v) for _, v in values}) == 1:
                    return _shown(values[0][1])
                return "; ".join(f"{name}: {_shown(v)}" for name, v in values)
            case Derived(text=text) | Required(text=text) | Unset(text=text):
                return text
        raise AssertionError(self.default)

    def row(self, environments: Sequence[EnvironmentDefaults]) -> str:
        """The key's row in its docs table."""
        kind = ("secret " if self.secret else "") + self.kind.text()
        return (f"| `{self.path}` | {kind} | {self.default_text(environments)} | {self.example} | "
                f"{self.doc} |")


def _shown(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list | tuple):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, Mapping):
        return "`{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}`"
    return f"`{value}`"


@dataclass(frozen=True)
class Section:
    """The keys of one part of the configuration reference (one table of docs/configuration.md)."""

    name: str  # the table's marker in the docs
    keys: tuple[Key[Any], ...]
    objects: tuple[str, ...] = field(default=())  # documented paths of objects whose leaves the keys are

    def table(self, environments: Sequence[EnvironmentDefaults]) -> str:
        head = "| key | type | default | example | description |\n|---|---|---|---|---|\n"
        return head + "".join(key.row(environments) + "\n" for key in self.keys)


def children(keys: Sequence[Key[Any]]) -> dict[str, set[str]]:
    """Documented object path -> the names of the keys and objects it may hold."""
    out: dict[str, set[str]] = {}
    for key in keys:
        path = key.path
        while True:
            parts = re.match(r"^(.*?)(?:\.|^)([^.]+)$", path)
            assert parts is not None
            parent, name = parts.group(1), parts.group(2)
            names = out.setdefault(parent, set())
            names.add(name.removesuffix("[]"))
            if parent == "graphs[]" and name == "worker":  # one declaration for the three groups
                names |= {"prefill", "decode"}
            if not parent:
                break
            path = parent
    return out
