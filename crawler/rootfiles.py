"""What a repository's root directory tells: README, licence, contributing guide, changelog,
publiccode.yml. Pure functions on file names, shared by every forge adapter."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.licences import MANIFESTS

# A base name, optionally followed by one documentation extension (README.md, COPYING.txt,
# LICENSE.fr.md, CHANGELOG.rst...). Matching is case-insensitive.
_DOC_EXT = r"(\.[a-z]{2}(_[a-z]{2})?)?(\.(md|markdown|rst|txt|adoc|asciidoc|org|textile|html))?"
_README = re.compile(rf"^(readme|lisezmoi|lisez-moi){_DOC_EXT}$", re.IGNORECASE)
#: Every name licensee takes for a licence file: LICENSE, LICENCE, UNLICENSE, COPYING,
#: COPYRIGHT, COPYING.LESSER, LICENSE-MIT, LICENSE_1_0.txt (Boost), MIT-LICENSE, OFL.txt...
_LICENCE = re.compile(
    rf"^((un)?licen[cs]e|copying|copyright|ofl|copying\.lesser|licen[cs]e[-_.][a-z0-9._-]+|"
    rf"(copying|copyright)[-_][a-z0-9._-]+|[a-z0-9.]+[-_]licen[cs]e){_DOC_EXT}$",
    re.IGNORECASE,
)
_CONTRIBUTING = re.compile(
    rf"^(contributing|contribuer|contribution[s]?){_DOC_EXT}$", re.IGNORECASE
)
_CHANGELOG = re.compile(
    rf"^(changelog|changes|history|news|releases?|release[-_]notes|journal[-_]des[-_]modifications)"
    rf"{_DOC_EXT}$",
    re.IGNORECASE,
)
_PUBLICCODE = re.compile(r"^publiccode\.ya?ml$", re.IGNORECASE)
#: REUSE keeps one file per licence in a LICENSES/ directory.
_LICENCE_DIRS = frozenset({"licenses", "licences"})
#: Build tools read their manifest under its exact name only (npm, Cargo, Maven…).
_MANIFESTS = {name: rank for rank, name in enumerate(MANIFESTS)}


@dataclass(frozen=True)
class RootFiles:
    has_readme: bool = False
    has_licence_file: bool = False
    has_contributing: bool = False
    has_changelog: bool = False
    has_publiccode: bool = False
    licence_files: tuple[str, ...] = ()
    """Names of the root files that look like a licence, most likely first."""
    licence_dirs: tuple[str, ...] = ()
    """REUSE's ``LICENSES/`` directory (as spelled), whose file names are SPDX ids."""
    manifests: tuple[str, ...] = ()
    """Package manifests that may declare a licence (package.json…), in the order tried."""
    publiccode_files: tuple[str, ...] = ()
    """``publiccode.yml`` (or ``.yaml``), as spelled."""


def classify(entries: Iterable[tuple[str, str]]) -> RootFiles:
    """Classify root entries given as ``(name, kind)`` pairs, kind ``blob`` or ``tree``."""
    readme = licence = contributing = changelog = False
    licence_files: list[str] = []
    licence_dirs: list[str] = []
    manifests: list[str] = []
    publiccode: list[str] = []
    for name, kind in entries:
        if kind == "tree":
            if name.lower() in _LICENCE_DIRS:
                licence = True
                licence_dirs.append(name)
            continue
        if name in _MANIFESTS:
            manifests.append(name)
        if _README.match(name):
            readme = True
        elif _LICENCE.match(name):
            licence = True
            licence_files.append(name)
        elif _CONTRIBUTING.match(name):
            contributing = True
        elif _CHANGELOG.match(name):
            changelog = True
        elif _PUBLICCODE.match(name):
            publiccode.append(name)
    licence_files.sort(key=_licence_rank)
    manifests.sort(key=_MANIFESTS.__getitem__)
    publiccode.sort(key=lambda name: (not name.endswith(".yml"), name))
    return RootFiles(
        readme,
        licence,
        contributing,
        changelog,
        bool(publiccode),
        tuple(licence_files),
        tuple(sorted(licence_dirs)),
        tuple(manifests),
        tuple(publiccode),
    )


def _licence_rank(name: str) -> tuple[int, int, int, str]:
    lower = name.lower()
    base = re.split(r"[-_.]", lower, maxsplit=1)[0]
    order = ("license", "licence", "copying", "unlicense", "copyright", "ofl")
    rank = order.index(base) if base in order else len(order)
    # LICENSE, then LICENSE.md (a documentation extension), then LICENSE-MIT, LICENSE_1_0.txt...
    kind = 0 if lower == base else 1 if re.fullmatch(rf"{base}{_DOC_EXT}", lower) else 2
    return (rank, kind, len(lower), lower)
