"""docs/configuration.md's key tables are the key declarations, rendered; every key the committed
stacks read is declared; every declaration is complete."""

import re

import pytest

from stacks.config import docs
from stacks.config.keys.sections import ALL_KEYS, DECLARED, SECTIONS
from stacks.config.reader import Problems
from stacks.config.schema import documented
from stacks.config.stack import SECRET_KEYS, parse_config
from stacks.config.stackfile import read_stack_file
from tests.harness import ROOT


def keys_read_by_committed_stacks() -> set[str]:
    keys: set[str] = set()
    for stack in ("dev", "prod"):
        sf = read_stack_file(ROOT, stack)
        problems = Problems()
        parse_config(sf.config, sf.secret_keys, stack, problems)
        keys |= {documented(k) for k in problems.keys_read}
    # objects and lists of objects are declared through their leaves
    return {k for k in keys if not any(o.startswith((k + ".", k + "[].")) for o in keys)}


def test_the_page_holds_the_rendered_tables() -> None:
    page = docs.PAGE.read_text()
    assert docs.render(page) == page, "docs/configuration.md is stale: run `make docs`"


def test_rendering_refuses_a_page_without_a_section_table() -> None:
    page = docs.PAGE.read_text()
    broken = re.sub(r"<!-- keys: etcd -->\n.*?<!-- /keys -->", "", page, flags=re.S)
    with pytest.raises(docs.PageError, match=r"missing \['etcd'\]"):
        docs.render(broken)


def test_a_changed_declaration_changes_the_page() -> None:
    """The tables are not copied once: a declaration's text reaches the page."""
    page = docs.PAGE.read_text()
    key = SECTIONS[0].keys[0]
    assert f"| `{key.path}` |" in page
    assert key.doc in page


def test_every_key_read_is_declared() -> None:
    declared = {key.path for key in ALL_KEYS}
    assert sorted(keys_read_by_committed_stacks() - declared) == []


def test_every_declaration_is_complete_and_unique() -> None:
    paths = [key.path for key in ALL_KEYS]
    assert len(paths) == len(set(paths))
    for key in ALL_KEYS:
        assert key.example, key.path
        assert key.doc, key.path
        assert key.kind.text(), key.path
        assert "|" not in key.doc.replace("\\|", ""), key.path  # a bare | would split the table row


def test_the_secret_keys_are_the_declared_secrets() -> None:
    assert set(SECRET_KEYS) == {key.path for key in ALL_KEYS if key.secret}


def test_unknown_keys_are_checked_against_the_declarations() -> None:
    assert {"name", "backend", "worker", "prefill", "decode", "frontend", "loader"} <= DECLARED["graphs[]"]
    assert {"resources", "env", "pool"} <= DECLARED["graphs[].worker"]
    assert "nodePools" in DECLARED[""]
    assert "hfToken" in DECLARED[""]
