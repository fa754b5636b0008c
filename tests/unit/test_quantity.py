"""Sizes as bytes, and the Go memory limit derived from a container limit."""

import pytest

from components.kit.quantity import go_memory_limit, quantity_bytes


def test_binary_decimal_and_plain_sizes() -> None:
    assert quantity_bytes("15Mi") == 15 * 2**20
    assert quantity_bytes("1.5Gi") == 3 * 2**29
    assert quantity_bytes("2G") == 2 * 10**9
    assert quantity_bytes("1048576") == 2**20
    with pytest.raises(ValueError, match="not a Kubernetes size"):
        quantity_bytes("15 MB")


def test_go_memory_limit_is_80_percent_in_whole_mebibytes() -> None:
    assert go_memory_limit("2Gi") == "1638MiB"
    assert go_memory_limit("256Mi") == "204MiB"
    assert go_memory_limit("1") == "1MiB"
