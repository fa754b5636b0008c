"""No stack file crashes the config reader: every malformed input is exit 2 with a message naming
its key. Random values (YAML-only types included) replace random keys of the committed stacks."""

from __future__ import annotations

import contextlib
import copy
import datetime
import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.cli import main
from stacks.config.load import load
from stacks.config.reader import ConfigError
from stacks.config.stack import StackConfig
from stacks.config.stackfile import StackFileError
from tests.harness import EXAMPLES, ROOT, example_stacks

STACK_FILES = [ROOT / "Pulumi.dev.yaml", ROOT / "Pulumi.prod.yaml",
               *(EXAMPLES / f"Pulumi.{name}.yaml" for name in example_stacks())]


def documents() -> list[dict[str, Any]]:
    return [yaml.safe_load(path.read_text()) for path in STACK_FILES]


def key_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        out.append((*prefix, key))
        out.extend(key_paths(item, (*prefix, key)))
    return out


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=80),
    st.sampled_from(["", "latest", "0", "-1", "1e9", "/", "/dev/shm", "..", "kube-system", "default", "a" * 300,
                     "UPPER", "x=y", "{", "[", "nats://u:p@h:1", "Infinity", "NaN"]),
    st.dates(), st.datetimes(), st.binary(max_size=8), st.frozensets(st.integers(), max_size=3))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.text(max_size=12), st.integers(), st.dates()), inner, max_size=4)), max_leaves=12)


def write(doc: dict[str, Any], path: Path) -> None:
    # yaml.dump writes the Python types as YAML tags (!!set, !!binary, dates): what a user may write
    path.write_text(yaml.dump(doc, Dumper=yaml.Dumper))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=0, max_value=len(STACK_FILES) - 1), st.data(), values)
def test_any_value_anywhere_is_a_config_error_or_a_config(tmp_path: Path, index: int, data: st.DataObject,
                                                          value: Any) -> None:
    doc = copy.deepcopy(documents()[index])
    paths = key_paths(doc["config"])
    path = data.draw(st.sampled_from(paths))
    node = doc["config"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    target = tmp_path / "Pulumi.fuzz.yaml"
    write(doc, target)
    problems = []
    try:
        _, config = load(ROOT, "fuzz", target)
    except ConfigError as error:
        problems = error.problems
    except StackFileError:
        return
    else:
        assert isinstance(config, StackConfig)
    assert all(p.key and p.wrong and p.allowed for p in problems)


@pytest.mark.parametrize(("text", "key"), [
    ("  dynamo-cluster:etcd:\n    resources:\n      cpu: 2024-01-01\n", "etcd.resources.cpu"),
    ("  dynamo-cluster:etcd:\n    storage: 2024-01-01T10:00:00Z\n", "etcd.storage"),
    ("  dynamo-cluster:etcd:\n    nodeSelector: !!set {a, b}\n", "etcd.nodeSelector"),
    ("  dynamo-cluster:hfToken: !!binary aGVsbG8=\n", "hfToken"),
    ("  dynamo-cluster:etcd:\n    nodeSelector: {1: a, b: c}\n", "etcd.nodeSelector"),
    ("  dynamo-cluster:etcd:\n    nodeSelector: {2024-01-01: a}\n", "etcd.nodeSelector"),
    ("  dynamo-cluster:etcd:\n    replicas: .nan\n", "etcd.replicas"),
    ("  dynamo-cluster:etcd:\n    replicas: .inf\n", "etcd.replicas"),
    ("  dynamo-cluster:etcd:\n    replicas: 99999999999999999999999\n", "etcd.replicas"),
    ("  dynamo-cluster:storageClass: 2024-01-01\n", "storageClass"),
])
def test_yaml_only_types_exit_2_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    """What `python -m stacks plan` prints for each: exit 2, the key, no traceback, nothing written."""
    base = (ROOT / "Pulumi.dev.yaml").read_text()
    target = tmp_path / "Pulumi.dev.yaml"
    target.write_text(base.replace("config:\n", "config:\n" + text, 1))
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["plan", "--config", str(target), "--out", str(tmp_path / "plan")])
    assert code == 2, err.getvalue()
    assert f"dynamo-cluster:{key}" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not (tmp_path / "plan").exists()


def test_a_date_reads_as_the_date_it_is(tmp_path: Path) -> None:
    target = tmp_path / "Pulumi.dev.yaml"
    target.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace(
        "config:\n", "config:\n  dynamo-cluster:etcd:\n    nodeSelector: {since: 2024-01-01}\n", 1))
    with pytest.raises(ConfigError) as refused:
        load(ROOT, "dev", target)
    [problem] = refused.value.problems
    assert problem.key == "etcd.nodeSelector.since"
    assert "YAML date" in problem.wrong
    assert "quoted" in problem.allowed
    assert datetime.date(2024, 1, 1).isoformat() not in problem.allowed
