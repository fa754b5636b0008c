"""Every config key the parser reads is documented, with its type, default and an example."""

import re

from stacks.config.reader import Problems
from stacks.config.stack import parse_config
from stacks.config.stackfile import read_stack_file
from tests.harness import ROOT


def documented_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for line in (ROOT / "docs" / "configuration.md").read_text().splitlines():
        match = re.match(r"^\| `([^`]+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split(" | ")]
    return rows


def keys_read_by_committed_stacks() -> set[str]:
    keys: set[str] = set()
    for stack in ("dev", "prod"):
        sf = read_stack_file(ROOT, stack)
        problems = Problems()
        parse_config(sf.config, sf.secret_keys, stack, problems)
        # The worker-group keys are documented once, under graphs[].worker.
        keys |= {re.sub(r"^graphs\[\]\.(prefill|decode)(?=\.|$)", "graphs[].worker", k) for k in problems.keys_read}
    # objects and lists of objects are documented through their leaves
    return {k for k in keys if not any(o.startswith((k + ".", k + "[].")) for o in keys)}


def test_every_key_read_is_documented() -> None:
    missing = sorted(keys_read_by_committed_stacks() - set(documented_rows()))
    assert missing == []


def test_every_documented_row_has_type_default_example_and_description() -> None:
    for key, cells in documented_rows().items():
        assert len(cells) == 4, key
        assert all(cells), key


def test_documented_keys_exist() -> None:
    """No stale rows: each documented key is one the parser knows (read by some stack, or a secret)."""
    from stacks.config.stack import SECRET_KEYS

    known = keys_read_by_committed_stacks() | set(SECRET_KEYS)
    stale = sorted(k for k in documented_rows() if k not in known)
    assert stale == []
