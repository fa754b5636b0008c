"""Kubernetes quantities as numbers, and the Go runtime's soft memory limit derived from them."""

from __future__ import annotations

import re
from fractions import Fraction

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_FACTOR = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
           "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}

# Share of a container's memory limit the Go garbage collector aims to stay under: the rest is
# headroom for memory the runtime does not count (stacks, cgo, page cache of mapped files).
GO_MEMORY_SHARE = 0.8


def is_size(text: str) -> bool:
    """Whether `text` is a size quantity `quantity_bytes` reads (``20Gi``, ``500M``, ``1048576``)."""
    return _QUANTITY.match(text) is not None


def quantity_bytes(text: str) -> int:
    """Bytes in a size such as ``20Gi``, ``512M`` or ``1048576``."""
    match = _QUANTITY.match(text)
    if match is None:
        raise ValueError(f"not a Kubernetes size quantity: {text!r}")
    return int(Fraction(match.group(1)) * _FACTOR[match.group(2)])  # exact: no float overflow or rounding


def go_memory_limit(memory_limit: str) -> str:
    """A ``GOMEMLIMIT`` value (whole MiB) at `GO_MEMORY_SHARE` of a container memory limit."""
    mebibytes = int(quantity_bytes(memory_limit) * GO_MEMORY_SHARE) >> 20
    return f"{max(mebibytes, 1)}MiB"
