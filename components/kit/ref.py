"""What a pure builder may be handed in place of a plain value: a Pulumi Output (or another awaitable)
that resolves when the deployment runs.

Builders place such a value in the manifest or property dict they return and never read it: a
namespace's name passed as the Namespace object's output makes whatever carries it depend on the
namespace. The types here keep the builders free of the Pulumi SDK: `Deferred` is the one method of
`pulumi.Output` that marks it, so mypy accepts an Output where a builder takes a `Ref`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeAlias


class Deferred(Protocol):
    """A value known only once the deployment runs (`pulumi.Output`)."""

    def apply(self, func: Callable[[Any], Any], run_with_unknowns: bool = ...) -> Any: ...


# A string, or one that resolves later.
Ref: TypeAlias = "str | Deferred | Awaitable[str]"
# Any value, or one that resolves later (a list of DNS names, a number).
AnyRef: TypeAlias = "object"
