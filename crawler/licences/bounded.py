"""Bounded parsing of untrusted files: JSON, TOML and YAML read with caps on size, nesting depth
and work, so that one hostile file fails alone instead of the process.

Every fetched file is hostile input: PyYAML, ``json`` and ``tomllib`` recurse once per nesting
level and raise ``RecursionError`` on ~500 nested brackets (1 kB), and PyYAML's scanner takes
seconds on a few thousand nested flow collections. So the depth is checked *before* the parser
recurses: a cheap tokenising pre-scan for JSON and TOML (whose strings are unambiguous), and for
YAML a composer that counts levels, nodes and aliases as it goes and stops at the first excess.
``RecursionError`` is still caught around the parser call as a last resort (the parsers are pure
Python, or C that checks the recursion limit, so it unwinds cleanly), never relied upon.

Time is bounded by size and structure: the three parsers are linear in their input once nesting
and TOML's dotted keys (quadratic in ``tomllib``) are capped, and YAML's composer also checks a
deadline between nodes.

This module lives beside the licence code because ``sill`` may import ``crawler.licences`` and
nothing else of the crawler; it depends on nothing of ours.
"""

from __future__ import annotations

import json
import re
import time
import tomllib
from pathlib import Path
from typing import Any

import yaml

#: Deeper than any real manifest, publiccode.yml or SILL export (≤ 10 levels), and far below
#: the ~1,000 frames of Python's recursion limit, whatever the caller's own depth.
MAX_DEPTH = 64
#: TOML dotted keys (``a.b.c = 1``) cost ``tomllib`` a time quadratic in their parts.
MAX_TOML_KEY_PARTS = 16
#: YAML nodes (scalars, lists, mappings) in one document: a publiccode.yml has a few hundred.
MAX_YAML_NODES = 50_000
#: Seconds PyYAML may spend composing one document.
YAML_TIMEOUT = 5.0


class ParseError(ValueError):
    """A file that cannot be read safely: too large, too deep, too complex, or invalid."""


def size_of(data: str | bytes) -> int:
    """The size in bytes (UTF-8 for text)."""
    if isinstance(data, bytes) or data.isascii():
        return len(data)
    return len(data.encode("utf-8", errors="surrogatepass"))


def check_size(data: str | bytes, max_bytes: int) -> None:
    """Raise ``ParseError`` when ``data`` exceeds ``max_bytes``."""
    if size_of(data) > max_bytes:
        raise ParseError(f"the file is larger than {_kib(max_bytes)}")


def _kib(size: int) -> str:
    return f"{size // 1024} KiB" if size < 1024 * 1024 else f"{size // (1024 * 1024)} MiB"


# --- JSON ---------------------------------------------------------------------------------------

# Outside a JSON string, '"' always opens one, and inside, a backslash escapes the next character:
# the tokens below see the document exactly as the parser does. A quote that opens no complete
# string (the last alternative) is where the parser stops with an error: so does the scan, which
# also keeps it linear (retrying every later quote of a long unterminated line is quadratic).
_JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]|"', re.DOTALL)


def json_depth(text: str, limit: int = MAX_DEPTH) -> int:
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


def load_json(data: str | bytes, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` with the caps; every failure is a ``ParseError``."""
    check_size(data, max_bytes)
    text = _text(data)
    if json_depth(text, max_depth) > max_depth:
        raise ParseError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ParseError(
            f"invalid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except (ValueError, RecursionError) as error:  # e.g. an integer of 5,000 digits
        raise ParseError(f"invalid JSON: {_reason(error)}") from None


# --- TOML ---------------------------------------------------------------------------------------

# TOML's strings (multi-line first), comments, and the characters that matter outside them:
# brackets for depth; '=', ',' and line ends separate keys, whose dots are counted. A quote that
# opens no complete string (the last alternatives) is where tomllib stops with an error: so does
# the scan, which also keeps it linear.
_TOML_TOKENS = re.compile(
    r'"""(?:[^"\\]|\\[\s\S]|"{1,2}(?!"))*"{3,5}'
    r"|'{3}(?:[^']|'{1,2}(?!'))*'{3,5}"
    r"|\"{3}|'{3}"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\n]*'"
    r"|#[^\n]*"
    r"|[\[\]{}=,\n.]"
    r"|[\"']"
)


def toml_shape(text: str, limit: int = MAX_DEPTH) -> tuple[int, int]:
    """The nesting depth of a TOML text and the most parts of one dotted key (upper bounds; the
    scan stops past ``limit`` levels)."""
    depth = deepest = dots = most_dots = 0
    for match in _TOML_TOKENS.finditer(text):
        piece = match.group()
        if piece == ".":
            dots += 1
            most_dots = max(most_dots, dots)
            continue
        if piece in ('"', "'", '"""', "'''"):  # unterminated: tomllib fails here
            break
        if piece[0] in "\"'#":
            continue
        dots = 0
        if piece in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif piece in "]}":
            depth = max(depth - 1, 0)
    return deepest, most_dots + 1


def load_toml(
    data: str | bytes,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    max_key_parts: int = MAX_TOML_KEY_PARTS,
) -> dict[str, Any]:
    """``tomllib.loads`` with the caps; every failure is a ``ParseError``."""
    check_size(data, max_bytes)
    text = _text(data)
    depth, parts = toml_shape(text, max_depth)
    if depth > max_depth:
        raise ParseError(f"nested deeper than {max_depth} levels")
    if parts > max_key_parts:
        raise ParseError(f"a dotted key of more than {max_key_parts} parts")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ParseError(f"invalid TOML: {error}") from None
    except (ValueError, RecursionError) as error:
        raise ParseError(f"invalid TOML: {_reason(error)}") from None


# --- YAML ---------------------------------------------------------------------------------------


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, whose composer counts depth, nodes and aliases and watches a
    deadline, and stops at the first excess, before it recurses any deeper."""

    max_depth = MAX_DEPTH
    max_nodes = MAX_YAML_NODES
    max_aliases = 0
    deadline = 0.0

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.nodes = 0
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > self.max_aliases:
                raise _TooMuch(
                    "YAML anchors and aliases are not allowed"
                    if self.max_aliases == 0
                    else f"more than {self.max_aliases} YAML aliases"
                )
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _TooMuch(f"more than {self.max_nodes} YAML nodes")
        if self.nodes % 256 == 0 and time.monotonic() > self.deadline:
            raise _TooMuch("too slow to read (YAML)")
        self.depth += 1
        try:
            if self.depth > self.max_depth:
                raise _TooMuch(f"nested deeper than {self.max_depth} levels")
            node: yaml.Node | None = super().compose_node(parent, index)
            assert node is not None
            return node
        finally:
            self.depth -= 1


class _TooMuch(Exception):
    pass


def load_yaml(
    data: str | bytes,
    *,
    max_bytes: int,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_YAML_NODES,
    max_aliases: int = 0,
    timeout: float = YAML_TIMEOUT,
) -> Any:
    """One YAML document, safely (no Python tags) and with the caps.

    Aliases are refused by default: a few of them nesting each other expand into an exponential
    structure when the result is walked ("billion laughs").

    Raises:
        ParseError: with PyYAML's problem and its line for invalid YAML.
    """
    check_size(data, max_bytes)
    loader = _BoundedLoader(_text(data))
    loader.max_depth = max_depth
    loader.max_nodes = max_nodes
    loader.max_aliases = max_aliases
    loader.deadline = time.monotonic() + timeout
    try:
        return loader.get_single_data()
    except _TooMuch as error:
        raise ParseError(str(error)) from None
    except yaml.YAMLError as error:
        raise ParseError(f"not valid YAML: {_yaml_error(error)}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        # A date such as 2024-13-45, an integer of 5,000 digits: the constructor's own errors.
        raise ParseError(f"not valid YAML: {_reason(error)}") from None
    finally:
        loader.dispose()


def _yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is not None:
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(problem)


# --- shared -------------------------------------------------------------------------------------


def _text(data: str | bytes) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(f"not UTF-8 ({error.reason} at byte {error.start})") from None


def _reason(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


def read_capped(path: str | Path, max_bytes: int) -> bytes:
    """A file's content, refused (``ParseError``) past ``max_bytes`` without reading it all:
    ``/dev/zero`` or a FIFO is no longer endless.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ParseError(f"the file is larger than {_kib(max_bytes)}")
    return data
