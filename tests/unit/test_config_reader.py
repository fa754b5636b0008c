"""The config reader: typed accessors, every problem collected, unknown keys reported."""

from components.kit.quantity import quantity_bytes
from stacks.config.reader import Node, Problems, generic


def node(value: dict[str, object], path: str = "x") -> tuple[Node, Problems]:
    problems = Problems()
    return Node(path, value, problems), problems


def messages(problems: Problems) -> list[str]:
    return [str(p) for p in problems.found]


def test_integer_accepts_cli_strings_and_checks_bounds() -> None:
    n, problems = node({"a": "3", "b": -1, "c": "three", "d": True})
    assert n.integer("a", 1, minimum=1) == 3
    assert n.integer("b", 1, minimum=0) == 1
    assert n.integer("c", 1) == 1
    assert n.integer("d", 1) == 1
    assert messages(problems) == [
        "dynamo-cluster:x.b: is -1; allowed: an integer >= 0",
        "dynamo-cluster:x.c: expected an integer, got the string 'three'; allowed: an integer",
        "dynamo-cluster:x.d: expected an integer, got the boolean true; allowed: an integer",
    ]


def test_required_values_are_named() -> None:
    n, problems = node({})
    assert n.string("mode", choices=["a", "b"]) == ""
    assert messages(problems) == ["dynamo-cluster:x.mode: is required but not set; allowed: one of a, b"]


def test_choices_and_patterns() -> None:
    n, problems = node({"mode": "c", "name": "Bad_Name"})
    n.string("mode", "a", choices=["a", "b"])
    n.dns_label("name", "ok")
    assert messages(problems) == [
        "dynamo-cluster:x.mode: is 'c'; allowed: one of a, b",
        "dynamo-cluster:x.name: is 'Bad_Name'; allowed: a DNS label: lower-case letters, digits and '-', "
        "at most 63",
    ]


def test_unknown_keys_suggest_the_closest_known_key() -> None:
    n, problems = node({"replicas": 3, "replcas": 3})
    n.integer("replicas", 1)
    n.close()
    assert messages(problems) == [
        "dynamo-cluster:x.replcas: unknown key (did you mean 'replicas'?); allowed: one of replicas"]


def test_quantities() -> None:
    n, problems = node({"a": "10Gi", "b": "ten", "c": "1Gi"})
    assert n.quantity("a", "1Gi") == "10Gi"
    assert n.quantity("b", "1Gi") == "1Gi"
    assert n.quantity("c", "8Gi", minimum="2Gi") == "8Gi"
    assert len(problems.found) == 2
    assert quantity_bytes("1Gi") == 1 << 30
    assert quantity_bytes("15M") == 15_000_000


def test_lists_of_objects_have_indexed_keys_and_generic_documentation_keys() -> None:
    n, problems = node({"pools": [{"name": "a"}, "oops"]}, path="")
    items = n.objects("pools")
    assert [i.path for i in items] == ["pools[0]"]
    items[0].string("name")
    assert messages(problems) == [
        "dynamo-cluster:pools[1]: expected an object, got the string 'oops'; allowed: an object (a YAML map)"]
    assert "pools[].name" in problems.keys_read
    assert generic("pools[12].labels[3]") == "pools[].labels[]"


def test_wrong_container_types() -> None:
    n, problems = node({"o": [1], "m": {"a": 1}, "l": "x"})
    n.child("o").close()
    n.string_map("m")
    n.string_list("l")
    assert len(problems.found) == 3
