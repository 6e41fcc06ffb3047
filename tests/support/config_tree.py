"""Walking parsed YAML: every leaf value with the mapping key it sits under."""

from collections.abc import Iterator


def leaves(node, key: str = "") -> Iterator[tuple[str, object]]:
    """(key, value) for every scalar; list items report the key of their list."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaves(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from leaves(v, key)
    else:
        yield key, node
