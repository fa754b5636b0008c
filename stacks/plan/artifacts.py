"""The offline plan's files, as pure functions of what the program registered (DESIGN.md,
"The offline plan"). Output is deterministic: sorted, with stable names."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from stacks.plan.mockrun import STACK_TYPE, Registered, Registry

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
# Types under the kubernetes package that are not objects sent to the API server.
_NOT_MANIFESTS = (RELEASE_TYPE, "kubernetes:helm.sh/v4:Chart", "kubernetes:yaml/v2:ConfigGroup",
                  "kubernetes:yaml/v2:ConfigFile", "kubernetes:kustomize/v2:Directory")
_FIRST_KEYS = ("apiVersion", "kind", "metadata")
# libyaml's emitter when PyYAML has it: an order of magnitude faster than the pure-Python one.
_BASE: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BASE):  # type: ignore[valid-type,misc]
    """Quotes every string another YAML reader would not read back as a string: PyYAML (YAML 1.1)
    leaves `y` and `n` plain (booleans to YAML 1.1 readers such as kubectl's), and `0o17`, `1e3`,
    `.5` (numbers in YAML 1.2), so a plan file applied with `kubectl apply -f` would not be what the
    program sends."""


_Dumper.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))
_Dumper.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?0o[0-7]+$"), list("-+0"))
_Dumper.add_implicit_resolver("tag:yaml.org,2002:float",
                              re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
                              list("-+.0123456789"))
_DUMPER: type[yaml.SafeDumper] = _Dumper


def _yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_DUMPER, sort_keys=False, width=120)


# -- resources.json -------------------------------------------------------------------------------
def resources_json(registry: Registry) -> str:
    rows = [{
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "dependencies": list(r.dependencies),
        "inputs": r.inputs,
        "provider": r.provider,
        "options": dict(r.options),
    } for r in sorted(registry.resources, key=lambda r: r.urn)]
    return json.dumps(rows, indent=2, sort_keys=True) + "\n"


# -- manifests/ -----------------------------------------------------------------------------------
def is_manifest(resource: Registered) -> bool:
    return resource.custom and resource.type.startswith("kubernetes:") and resource.type not in _NOT_MANIFESTS


def _sorted(value: Any) -> Any:
    if isinstance(value, Mapping):
        first = [k for k in _FIRST_KEYS if k in value]
        rest = sorted(k for k in value if k not in _FIRST_KEYS)
        return {k: _sorted(value[k]) for k in first + rest}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def manifest_path(manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    namespace = meta.get("namespace") or "_cluster"
    group = manifest["apiVersion"].split("/")[0] if "/" in manifest["apiVersion"] else "core"
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(meta.get("name", "unnamed")))
    return f"{namespace}/{manifest['kind'].lower()}.{group}-{safe}.yaml"


def manifests(registry: Registry) -> dict[str, str]:
    """relative path -> YAML text of each object the program declares directly."""
    out: dict[str, str] = {}
    for r in registry.resources:
        if not is_manifest(r):
            continue
        path = manifest_path(r.inputs)
        if path in out:
            raise ValueError(f"two Kubernetes objects map to {path}: names must be unique per kind")
        out[path] = _yaml(_sorted(r.inputs))
    return dict(sorted(out.items()))


# -- releases.yaml --------------------------------------------------------------------------------
def releases(registry: Registry) -> list[dict[str, Any]]:
    out = []
    for r in registry.of_type(RELEASE_TYPE):
        inputs = r.inputs
        chart = str(inputs.get("chart", ""))
        repository = (inputs.get("repositoryOpts") or {}).get("repo")
        if repository is None and chart.startswith("oci://"):
            repository, chart = chart.rsplit("/", 1)
        out.append({
            "name": inputs.get("name", r.name),
            "namespace": inputs.get("namespace"),
            "chart": chart,
            "version": inputs.get("version"),
            "repository": repository,
            "values": _sorted(inputs.get("values") or {}),
        })
    return sorted(out, key=lambda rel: (str(rel["namespace"]), str(rel["name"])))


def releases_yaml(registry: Registry) -> str:
    return _yaml(releases(registry))


# -- graph.mmd ------------------------------------------------------------------------------------
def _node_id(urn: str) -> str:
    parts = urn.split("::")
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", parts[-1] + "_" + parts[2].rsplit("$", 1)[-1])


def _label(r: Registered) -> str:
    kind = r.type.split(":")[-1]
    return f"{r.name}<br/><small>{kind}</small>"


def mermaid(registry: Registry) -> str:
    """Components (and top-level resources such as providers) with an edge from each dependency to
    what depends on it; nested components are drawn inside their parent."""
    index = registry.by_urn()
    shown = {r.urn for r in registry.resources
             if r.type != STACK_TYPE and (r.is_component or index.get(r.parent or "", r).type == STACK_TYPE)}

    def owner(urn: str) -> str | None:
        while urn and urn not in shown:
            parent = index[urn].parent if urn in index else None
            if parent is None:
                return None
            urn = parent
        return urn or None

    ancestors = {urn: set(registry.ancestors(urn)) for urn in shown}
    edges: set[tuple[str, str, bool]] = set()
    for r in registry.resources:
        me = owner(r.urn)
        if me is None:
            continue
        for dep in r.dependencies:
            them = owner(dep)
            if them and them != me and them not in ancestors[me] and me not in ancestors[them]:
                edges.add((them, me, False))
        if r.provider:
            them = owner(r.provider)
            if them and them != me and them not in ancestors[me]:
                edges.add((them, me, True))

    lines = ["%% dynamo-cluster: components and their dependencies.",
             "%% Solid edges point from a dependency to what depends on it; dashed ones from a provider.",
             "flowchart LR"]

    children: dict[str | None, list[str]] = {}
    for urn in shown:
        children.setdefault(owner(index[urn].parent or ""), []).append(urn)

    def emit(parent: str | None, depth: int) -> None:
        pad = "    " * depth
        for urn in sorted(children.get(parent, []), key=lambda u: index[u].name):
            r = index[urn]
            if children.get(urn):
                lines.append(f'{pad}subgraph {_node_id(urn)}_group["{r.name}"]')
                lines.append(f'{pad}    {_node_id(urn)}["{_label(r)}"]')
                emit(urn, depth + 1)
                lines.append(f"{pad}end")
            else:
                lines.append(f'{pad}{_node_id(urn)}["{_label(r)}"]')

    emit(None, 1)
    for src, dst, dashed in sorted(edges):
        lines.append(f"    {_node_id(src)} {'-.->' if dashed else '-->'} {_node_id(dst)}")
    return "\n".join(lines) + "\n"


# -- summary.md -----------------------------------------------------------------------------------
def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> list[str]:
    head = list(header)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def summary(registry: Registry, *, stack: str, environment: str, capacity: Iterable[str],
            warnings: Iterable[str], sections: Iterable[tuple[str, Iterable[str]]] = ()) -> str:
    """Counts, the releases, `sections` (a title and pre-rendered lines each), the GPU capacity
    section (pre-rendered lines) and warnings."""
    resources = [r for r in registry.resources if r.type != STACK_TYPE]
    by_type = Counter(r.type for r in resources)
    rels = releases(registry)
    lines = [f"# Offline plan: stack `{stack}` ({environment})", "",
             f"- {len(resources)} resources: {sum(1 for r in resources if r.is_component)} components, "
             f"{sum(1 for r in resources if r.custom)} custom resources",
             f"- {sum(1 for r in resources if is_manifest(r))} Kubernetes objects in `manifests/`, "
             f"{len(rels)} Helm releases in `releases.yaml`", "", "## Resources by type", ""]
    lines += _table(["type", "count"], sorted(by_type.items()))
    lines += ["", "## Helm releases", ""]
    if rels:
        lines += _table(["release", "namespace", "chart", "version", "repository"],
                        [(r["name"], r["namespace"], r["chart"], r["version"], r["repository"]) for r in rels])
    else:
        lines.append("None.")
    for title, body in sections:
        lines += ["", f"## {title}", "", *body]
    lines += ["", "## GPU capacity", "", *capacity, "", "## Warnings", ""]
    warned = list(warnings)
    lines += [f"- {w}" for w in warned] if warned else ["None."]
    return "\n".join(lines) + "\n"
