"""docs/configuration.md's key tables, rendered from the key declarations (`stacks.config.keys`).

Each table sits between ``<!-- keys: <section> -->`` and ``<!-- /keys -->``, the release table between
``<!-- releases -->`` and ``<!-- /releases -->`` (from `components.dynamo.releases`); the prose around
them is written by hand. ``python -m stacks.config.docs`` rewrites the tables in place; with ``--check`` it
only says whether the page is current (a test does the same).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from components.dynamo.releases import DEFAULT_VERSION, RELEASES, DynamoRelease
from stacks.config.defaults import DEFAULTS
from stacks.config.keys.sections import SECTIONS

PAGE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
_TABLE = re.compile(r"(<!-- keys: (?P<name>[a-z-]+) -->\n)(?P<table>.*?)(<!-- /keys -->)", re.S)
_RELEASES = re.compile(r"(<!-- releases -->\n)(.*?)(<!-- /releases -->)", re.S)


def _evidence(release: DynamoRelease) -> str:
    facts = release.evidence
    read = [name for name, known in (("chart", facts.chart), ("CRD", facts.crd), ("images", facts.images),
                                     ("runtime", facts.runtime)) if known]
    if facts.complete:
        return "all"
    return (", ".join(read) if read else "none") + " (the plan warns about the rest)"


def release_table() -> str:
    """The release table, one row per entry."""
    rows = ["| release | chart | graphs | CRD stores | Grove / KAI | images | read from the release |",
            "|---|---|---|---|---|---|---|"]
    for version, release in RELEASES.items():
        bundled = (f"{release.grove_version} / {release.kai_version}"
                   if release.grove_version and release.kai_version else "not known")
        name = f"{version} (default)" if version == DEFAULT_VERSION else version
        rows.append(f"| {name} | {release.chart.name} {release.chart.version} | `{release.api_version}` | "
                    f"{release.crd_storage_version} | {bundled} | `{release.image_tag}`, `{release.efa_image_tag}` | "
                    f"{_evidence(release)} |")
    return "\n".join(rows) + "\n"


class PageError(Exception):
    """The page's markers do not match the declared sections."""


def render(page: str) -> str:
    """The page with every key table rendered from the declarations."""
    tables = {section.name: section.table(tuple(DEFAULTS.values())) for section in SECTIONS}
    found = [m.group("name") for m in _TABLE.finditer(page)]
    if sorted(found) != sorted(tables):
        missing = sorted(set(tables) - set(found))
        extra = sorted(set(found) - set(tables))
        raise PageError(f"the page's key tables are {found}: missing {missing}, unknown or repeated {extra}")
    if len(_RELEASES.findall(page)) != 1:
        raise PageError("the page needs exactly one release table (<!-- releases --> ... <!-- /releases -->)")
    page = _TABLE.sub(lambda m: m.group(1) + tables[m.group("name")] + m.group(4), page)
    return _RELEASES.sub(lambda m: m.group(1) + release_table() + m.group(3), page)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    current = PAGE.read_text()
    try:
        wanted = render(current)
    except PageError as error:
        print(f"{PAGE.name}: {error}", file=sys.stderr)
        return 2
    if wanted == current:
        print(f"{PAGE.name}: the key tables are current")
        return 0
    if check:
        print(f"{PAGE.name}: the key tables differ from the declarations; run `make docs`", file=sys.stderr)
        return 1
    PAGE.write_text(wanted)
    print(f"{PAGE.name}: key tables rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
