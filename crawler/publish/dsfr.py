"""The part of the DSFR stylesheet the site's pages use.

The DSFR ships one stylesheet for every component, utility class and icon (94 kB gzipped); a
page of ours uses a few dozen of its classes. The stylesheet is trimmed by class, not put
together from the DSFR's per-component files: one pass over the full file keeps its order (the
cascade) and every rule that does not name a class (the core's elements and variables), and
needs no list of components and their dependencies to keep up to date.

A selector is kept when each DSFR class it needs an element to carry (not those under
``:not()``) is one the pages may carry (``DsfrUse``), each ``[class^=fr-icon-]``-like
attribute test matches a class the pages may carry, and it tests no ``data-fr-theme`` unless
the pages can have one (the dark theme needs the DSFR's scheme JS and a ``data-fr-scheme``
attribute); a rule is kept with its selectors kept, and a group (``@media``…) with its rules
kept. Then the custom properties nothing reads (most of the DSFR's colour tokens) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: At-rules whose body is a list of rules, trimmed like the top level.
GROUPS = ("@media", "@supports", "@-moz-document", "@layer", "@container")

_NAME = re.compile(r"(?<![\w-])fr-[\w@-]*")
_JS_STRING = re.compile(r"\"([^\"\\]*)\"|`([^`\\]*)`")
_TOKEN = re.compile(r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|/\*.*?\*/|[{};]", re.S)
_CLASS = re.compile(r"\.(fr-(?:[\w-]|\\.)+)")
_CLASS_TEST = re.compile(r"\[class[\^*|~]?=[\"']?\s?(fr-[\w-]*)")
_NOT = re.compile(r":not\(")
_ESCAPE = re.compile(r"\\(.)")


@dataclass(frozen=True)
class DsfrUse:
    """The DSFR classes the pages may carry."""

    names: frozenset[str]
    """Named whole by a template, one of our scripts, or the DSFR's JS (``fr-collapsing``)."""
    prefixes: tuple[str, ...]
    """Names a template completes (``fr-badge--{{ kind }}`` gives ``fr-badge--``)."""
    states: frozenset[str]
    """Modifiers the DSFR's JS puts on a block of the page (``fr-collapse--expanded``)."""
    themed: bool = False
    """Whether the pages can switch theme (``data-fr-scheme``, which sets ``data-fr-theme``)."""

    def has(self, name: str) -> bool:
        if name in self.names or name.startswith(self.prefixes):
            return True
        block, _, state = name.rpartition("--")
        return block in self.names and state in self.states

    def has_prefixed(self, prefix: str) -> bool:
        """Whether some class the pages may carry starts with ``prefix`` (``fr-icon-``)."""
        return any(n.startswith(prefix) for n in self.names) or any(
            p.startswith(prefix) or prefix.startswith(p) for p in self.prefixes
        )


def use(texts: Iterable[str], scripts: str) -> DsfrUse:
    """The classes that ``texts`` (templates, our scripts) name, and those the DSFR's JS
    ``scripts`` builds from unprefixed strings (``ns.selector("collapsing")``, a disclosure's
    ``selector + "--" + "expanded"``)."""
    texts = list(texts)
    named = {name for text in texts for name in _NAME.findall(text)}
    words = {w for s in _JS_STRING.finditer(scripts) for w in re.findall(r"[\w-]+", s.group(0))}
    names = {n for n in named if not n.endswith("-")} | {f"fr-{w}" for w in words}
    prefixes = tuple(sorted(n for n in named if n.endswith("-")))
    themed = any("data-fr-scheme" in t or "data-fr-theme" in t for t in texts)
    return DsfrUse(frozenset(names), prefixes, frozenset(words), themed)


def trim(css: str, use: DsfrUse, *, top: bool = True) -> str:
    """``css`` without the selectors the pages cannot match (see the module's docstring), and
    without the comments inside groups (the DSFR's ``/*! media sm */`` build markers)."""
    parts: list[str] = []
    depth = start = opened = 0
    for token in _TOKEN.finditer(css):
        mark = token.group()
        if mark == "{":
            if depth == 0:
                opened = token.start()
            depth += 1
        elif mark == "}":
            depth -= 1
            if depth == 0:
                prelude, body = css[start:opened].strip(), css[opened + 1 : token.start()]
                parts.append(_rule(prelude, body, use))
                start = token.end()
        elif depth == 0 and (mark == ";" or mark.startswith("/*")):
            if top or mark == ";":
                parts.append(css[start : token.end()])  # @charset…; the licence comment
            start = token.end()
    parts.append(css[start:])
    return "".join(parts)


def classes(css: str) -> set[str]:
    """Every DSFR class ``css`` names in a selector, unescaped (``fr-col--md@`` …)."""
    return {_ESCAPE.sub(r"\1", name) for name in _CLASS.findall(css)}


def _rule(prelude: str, body: str, use: DsfrUse) -> str:
    if prelude.startswith(GROUPS):
        inner = trim(body, use, top=False)
        return f"{prelude}{{{inner}}}" if inner.strip() else ""
    if prelude.startswith("@"):  # @font-face, @keyframes: kept whole
        return f"{prelude}{{{body}}}"
    kept = [s for s in _selectors(prelude) if _matchable(s, use)]
    return f"{','.join(kept)}{{{body}}}" if kept else ""


def _selectors(prelude: str) -> list[str]:
    """A selector list split on its top-level commas (not those of ``:not(a,b)``)."""
    if "(" not in prelude and "[" not in prelude:
        return prelude.split(",")
    selectors, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            selectors.append(prelude[start:i])
            start = i + 1
    selectors.append(prelude[start:])
    return selectors


def _matchable(selector: str, use: DsfrUse) -> bool:
    """Whether an element of the pages can match ``selector``, as far as its classes tell."""
    while match := _NOT.search(selector):
        depth, end = 1, match.end()
        while depth and end < len(selector):
            depth += {"(": 1, ")": -1}.get(selector[end], 0)
            end += 1
        selector = selector[: match.start()] + selector[end:]
    if "[data-fr-theme" in selector and not use.themed:
        return False
    return all(use.has(name) for name in classes(selector)) and all(
        use.has_prefixed(prefix) for prefix in _CLASS_TEST.findall(selector)
    )


#: A custom property's declaration: its name, its value (strings in it may hold ``;`` or ``}``).
_DECLARATION = re.compile(
    r"(?<=[{;])(--[\w-]+):((?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^;}\"'])*);?"
)
_VARIABLE = re.compile(r"--[\w-]+")
_VAR = re.compile(r"var\(\s*(--[\w-]+)")
#: A rule left empty, after what ends the previous one (a comment is never part of it).
_EMPTY = re.compile(r"(^|[{};]|\*/)((?:(?!\*/)[^{};])*)\{\}")


def prune_variables(css: str, readers: Iterable[str]) -> str:
    """``css`` without the custom properties nothing reads: no ``var()`` of its other
    declarations, none of ``readers`` (our stylesheet, the DSFR's JS, which sets and reads a
    few), directly or through other custom properties; rules left empty are dropped."""
    values: dict[str, set[str]] = {}
    for declaration in _DECLARATION.finditer(css):
        values.setdefault(declaration.group(1), set()).update(_VAR.findall(declaration.group(2)))
    live = set(_VAR.findall(_DECLARATION.sub("", css)))
    live.update(name for text in readers for name in _VARIABLE.findall(text))
    stack = list(live)
    while stack:
        for name in values.get(stack.pop(), ()):
            if name not in live:
                live.add(name)
                stack.append(name)
    css = _DECLARATION.sub(lambda d: d.group(0) if d.group(1) in live else "", css)
    while (pruned := _EMPTY.sub(r"\1", css)) != css:
        css = pruned
    return css
