"""The real Dynamo runtime of each release in the release table, one cached virtualenv per release.

`python -m stacks.local.runtime install [VERSION ...]` (`make runtimes`) installs the `ai-dynamo` and
`ai-dynamo-runtime` wheels of each release (every release in the table with published wheels by
default) into ``<cache>/<version>``, with ``--no-deps`` (one of ai-dynamo's declared dependencies is a
stub that downloads its real wheel while it builds) plus the pinned pure-Python packages its
frontend and mocker import (`pins/requirements-*.txt`). A venv whose stamp matches its version and
pins is kept, so a second run costs nothing. The cache is ``.cache/dynamo-runtime`` of the
checkout, or ``$DYNAMO_RUNTIME_CACHE``. `python -m stacks local` installs its release's on first use;
the conformance suite reads them.

`python -m stacks.local.runtime path VERSION` prints the venv's python.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = Path(__file__).resolve().parent / "pins"
# Which pins a release's frontend and mocker need, by minor version.
PINS_BY_MINOR = {(1, 4): "requirements-1.4.txt", (1, 5): "requirements-1.4.txt", (1, 6): "requirements-1.6.txt"}


class RuntimeInstallError(Exception):
    """A runtime cannot be installed or found: the message says why."""


def cache_root() -> Path:
    return Path(os.environ.get("DYNAMO_RUNTIME_CACHE", str(ROOT / ".cache" / "dynamo-runtime")))


AIPERF = "aiperf"  # the benchmark's venv, beside the releases'


def pins(name: str) -> Path:
    """The pinned packages of a venv: a Dynamo release's (by its minor) or AIPerf's."""
    if name == AIPERF:
        return REQUIREMENTS / "aiperf.txt"
    parts = name.split(".")
    minor = (int(parts[0]), int(parts[1]))
    if minor not in PINS_BY_MINOR:
        known = ", ".join(f"{a}.{b}" for a, b in PINS_BY_MINOR)
        raise RuntimeInstallError(f"no pinned runtime dependencies for Dynamo {name} (have {known}): add a "
                                  "stacks/local/pins requirements file for its minor and list it in PINS_BY_MINOR")
    return REQUIREMENTS / PINS_BY_MINOR[minor]


def stamp_of(name: str) -> str:
    """What an installed venv must match: its name (the release) and its pins."""
    return hashlib.sha256(f"{name}\n".encode() + pins(name).read_bytes()).hexdigest()


def venv_dir(name: str) -> Path:
    return cache_root() / name


def python_of(name: str) -> Path:
    return venv_dir(name) / "bin" / "python"


def installed(name: str) -> bool:
    stamp = venv_dir(name) / ".installed"
    return stamp.is_file() and stamp.read_text().strip() == stamp_of(name) and python_of(name).exists()


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeInstallError(f"`{' '.join(argv)}` failed ({done.returncode}):\n"
                                  f"{done.stdout[-2000:]}{done.stderr[-4000:]}")


def install(name: str) -> Path:
    """The venv `name` (a Dynamo release, or AIPERF), installed unless it already is. Returns its python."""
    if installed(name):
        return python_of(name)
    target = venv_dir(name)
    started = time.monotonic()
    if target.exists():
        _run(["rm", "-rf", str(target)])
    target.parent.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(target)])
    pip = [str(python_of(name)), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    if name != AIPERF:
        _run([*pip, f"ai-dynamo=={name}", f"ai-dynamo-runtime=={name}"])
    _run([*pip, "-r", str(pins(name))])
    (target / ".installed").write_text(stamp_of(name) + "\n")
    print(f"{'dynamo runtime ' if name != AIPERF else ''}{name}: installed in {time.monotonic() - started:.0f} s "
          f"({target})")
    return python_of(name)


def table_versions() -> list[str]:
    """The releases of the table whose wheels are published."""
    from components.dynamo.releases import RELEASES

    return [version for version, release in RELEASES.items() if release.runtime_wheels]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m stacks.local.runtime",
                                     description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("install", help="install the runtime of each release, and AIPerf (default: the "
                                               "table's releases with wheels, and aiperf)")
    add.add_argument("versions", nargs="*")
    where = commands.add_parser("path", help="print the python of an installed release's runtime")
    where.add_argument("version")
    args = parser.parse_args(argv)
    try:
        if args.command == "path":
            if not installed(args.version):
                raise RuntimeInstallError(f"the Dynamo {args.version} runtime is not installed: make runtimes")
            print(python_of(args.version))
            return 0
        for version in args.versions or [*table_versions(), AIPERF]:
            python = install(version)
            print(f"dynamo runtime {version}: {python}")
    except RuntimeInstallError as error:
        print(f"dynamo_runtime: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
