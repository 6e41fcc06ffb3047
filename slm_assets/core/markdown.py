"""One escaping rule for user text (stratum and label names, inputs, file names) placed in
Markdown: Dagster's metadata viewer and GitHub's step summary both render Markdown *and* raw
HTML, so a stratum named ``<img src=x onerror=...>`` or ``**bold** | cell`` must arrive as text."""

import re

_MARKDOWN = re.compile(r"([\\`*_\[\]|~$#!])")


def md_escape(value: object) -> str:
    """``value`` as literal text on one line of Markdown (a table cell, a list item)."""
    text = re.sub(r"[\r\n\t]+", " ", str(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)
