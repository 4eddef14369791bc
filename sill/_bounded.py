"""Caps on an export before it is parsed: its size, and its JSON nesting depth, checked without
recursing (``json`` recurses once per level and fails on ~1,000 nested brackets).

``crawler.licences.bounded`` does the same for the crawler's files; ``sill`` imports nothing from
``crawler``, so the few lines it needs live here.
"""

from __future__ import annotations

import re
from pathlib import Path

# Outside a JSON string, '"' always opens one, and inside, a backslash escapes the next character:
# the tokens below see the document exactly as the parser does. A quote that opens no complete
# string (the last alternative) is where the parser stops with an error: so does the scan, which
# also keeps it linear (retrying every later quote of a long unterminated line is quadratic).
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"', re.DOTALL)


class TooLarge(ValueError):
    """The file is larger than allowed."""


def json_depth(text: str, limit: int) -> int:
    """The nesting depth of a JSON text, or the first depth above ``limit`` (the scan stops)."""
    depth = deepest = 0
    for match in _JSON_TOKENS.finditer(text):
        piece = match.group()
        if piece in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif piece in "]}":
            depth = max(depth - 1, 0)
        elif piece == '"':  # unterminated: the parser fails here
            break
    return deepest


def read_capped(path: str | Path, max_bytes: int) -> bytes:
    """A file's content, refused (``TooLarge``) past ``max_bytes`` without reading it all.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(f"larger than {max_bytes // (1024 * 1024)} MiB")
    return data
