"""CI helper: the model versions a pull request changes, as ``NAME@VERSION`` lines on stdout.

Reads ``git diff --name-only -z`` output (NUL-separated paths) on stdin, keeps paths of the
form ``models/<name>/<version>/...`` and validates each name and version against the
registry's rules (``ModelRef``). Paths come from the pull request, so anything else (a
folder named ``$(...)``, a newline, '..') is refused: exit 2 with each refused path, as a
Python literal, on stderr. Used by ``.github/workflows/slm-gate.yml``.
"""

import sys

from slm_assets.core.models.versions import ModelRef, RegistryError


def changed_versions(raw: bytes) -> tuple[list[str], list[str]]:
    """``(valid NAME@VERSION keys, sorted and unique; refusals)`` from NUL-separated paths."""
    keys, refused = set(), []
    for path in filter(None, raw.split(b"\0")):
        text = path.decode("utf-8", errors="replace")
        parts = text.split("/")
        if len(parts) < 4 or parts[0] != "models":
            continue  # models/README.md and the like: not a version folder
        try:
            keys.add(ModelRef(parts[1], parts[2]).key)
        except RegistryError as exc:
            refused.append(f"{text!r}: {exc}")
    return sorted(keys), refused


def main() -> int:
    keys, refused = changed_versions(sys.stdin.buffer.read())
    for line in refused:
        print(f"refused: {line}", file=sys.stderr)
    print("\n".join(keys))
    return 2 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
