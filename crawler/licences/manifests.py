"""The licence a package manifest declares (package.json, pyproject.toml, setup.cfg, Cargo.toml,
pom.xml, composer.json), normalised to SPDX.

Declared-licence conventions followed: several licences in a list are a choice (npm's legacy
``licenses``, composer's array, Maven's ``<licenses>``: "the user can select any of them"), so
they become an ``OR`` expression; ``UNLICENSED`` (npm) and ``proprietary`` (composer) say that no
licence is granted: ``NONE``; a pointer to a file (``SEE LICENSE IN …``, ``license-file``,
``license = {file = …}``) says nothing by itself: None, the file decides.

Manifests are fetched from forges, hence hostile: each is read with caps on size and nesting
(``crawler.licences.bounded``), and one that cannot be read declares nothing.
"""

from __future__ import annotations

import configparser
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from crawler.licences.bounded import ParseError, check_size, load_json, load_toml
from crawler.licences.spdx import NOASSERTION, NONE, normalise

log = logging.getLogger(__name__)

#: The manifests read, in the order they are tried.
MANIFESTS = (
    "package.json",
    "pyproject.toml",
    "setup.cfg",
    "Cargo.toml",
    "pom.xml",
    "composer.json",
)

#: A manifest is a few kilobytes; a larger one is not read.
MAX_BYTES = 512 * 1024

_NO_LICENCE = {"unlicensed", "proprietary", "all rights reserved", "other/proprietary license"}
_POINTER = re.compile(r"^see licen[cs]e in\b", re.IGNORECASE)


def from_manifest(filename: str, text: str | bytes) -> str | None:
    """The declared licence of a manifest, as an SPDX id or expression.

    Args:
        filename: the manifest's name or path (its base name chooses the format).
        text: its content.

    Returns:
        The SPDX id or expression; ``NOASSERTION`` for a declared licence that is not
        recognised; ``NONE`` when the manifest says no licence is granted; None when it declares
        nothing (or cannot be read: too large, too deep, invalid).
    """
    name = PurePosixPath(filename).name
    try:
        check_size(text, MAX_BYTES)
    except ParseError as error:
        log.debug("cannot read the licence of %s: %s", filename, error)
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    readers = {
        "package.json": _package_json,
        "composer.json": _composer_json,
        "pyproject.toml": _pyproject,
        "Cargo.toml": _cargo,
        "setup.cfg": _setup_cfg,
        "pom.xml": _pom,
    }
    reader = readers.get(name)
    if reader is None:
        return None
    try:
        return reader(text)
    # ParseError is a ValueError: too large, too deep, or not JSON/TOML.
    except (ValueError, TypeError, KeyError, configparser.Error, ET.ParseError) as error:
        log.debug("cannot read the licence of %s: %s", filename, error)
        return None


def _declared(value: str | None) -> str | None:
    """One declared licence string → SPDX, NONE, NOASSERTION or None."""
    if value is None:
        return None
    text = value.strip()
    if not text or _POINTER.match(text):
        return None
    if text.lower().strip(".") in _NO_LICENCE:
        return NONE
    return normalise(text)


def _choice(values: Iterable[str | None]) -> str | None:
    """Several declared licences, any of which may be chosen → an OR expression."""
    found: list[str] = []
    for value in values:
        licence = _declared(value)
        if licence is None:
            continue
        if licence in {NOASSERTION, NONE}:
            return licence
        if licence not in found:
            found.append(licence)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    return " OR ".join(f"({f})" if " " in f else f for f in found)


def _package_json(text: str) -> str | None:
    data = load_json(text, max_bytes=MAX_BYTES)
    if not isinstance(data, dict):
        return None
    licence = data.get("license")
    if isinstance(licence, str):
        return _declared(licence)
    if isinstance(licence, dict):
        return _declared(_str(licence.get("type")))
    legacy = data.get("licenses")
    if isinstance(legacy, list):
        return _choice(
            _str(item.get("type")) if isinstance(item, dict) else _str(item) for item in legacy
        )
    return None


def _composer_json(text: str) -> str | None:
    data = load_json(text, max_bytes=MAX_BYTES)
    if not isinstance(data, dict):
        return None
    licence = data.get("license")
    if isinstance(licence, str):
        return _declared(licence)
    if isinstance(licence, list):
        return _choice(_str(item) for item in licence)
    return None


def _pyproject(text: str) -> str | None:
    data = load_toml(text, max_bytes=MAX_BYTES)
    project = _table(data.get("project"))
    licence = project.get("license")
    found: str | None = None
    if isinstance(licence, str):  # PEP 639: an SPDX expression
        found = _declared(licence)
    elif isinstance(licence, dict):  # PEP 621: {text = …} or {file = …}
        found = _declared(_str(licence.get("text")))
    if found is None:
        poetry = _table(_table(data.get("tool")).get("poetry"))
        found = _declared(_str(poetry.get("license")))
    if found is None or found == NOASSERTION:
        from_classifiers = _classifiers(_strings(project.get("classifiers")))
        if from_classifiers is not None:
            return from_classifiers
    return found


def _cargo(text: str) -> str | None:
    data = load_toml(text, max_bytes=MAX_BYTES)
    package = _table(data.get("package"))
    licence = package.get("license")
    if isinstance(licence, str):
        return _declared(licence)
    workspace = _table(_table(data.get("workspace")).get("package"))
    return _declared(_str(workspace.get("license")))


def _setup_cfg(text: str) -> str | None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read_string(text)
    if not parser.has_section("metadata"):
        return None
    metadata = parser["metadata"]
    found = _declared(metadata.get("license_expression")) or _declared(metadata.get("license"))
    if found is None or found == NOASSERTION:
        classifiers = [line.strip() for line in metadata.get("classifiers", "").splitlines()]
        from_classifiers = _classifiers(classifiers)
        if from_classifiers is not None:
            return from_classifiers
    return found


def _classifiers(classifiers: Iterable[str]) -> str | None:
    """``License ::`` trove classifiers: one licence, or NOASSERTION when they differ."""
    found: set[str] = set()
    for classifier in classifiers:
        parts = [part.strip() for part in classifier.split("::")]
        if len(parts) < 2 or parts[0] != "License" or parts[-1] == "OSI Approved":
            continue
        licence = _declared(parts[-1])
        if licence is not None:
            found.add(licence)
    if not found:
        return None
    if len(found) == 1:
        return found.pop()
    return NOASSERTION


def _pom(text: str) -> str | None:
    if re.search(r"<!DOCTYPE|<!ENTITY", text, re.IGNORECASE):
        raise ValueError("a pom.xml with a DTD is refused")
    root = ET.fromstring(text)  # noqa: S314 (no DTD, hence no entity expansion)
    names: list[str | None] = []
    # The project's own <licenses>, a child of <project>; dependencies never carry one.
    for licenses in root:
        if _local(licenses.tag) != "licenses":
            continue
        for element in licenses:
            if _local(element.tag) != "license":
                continue
            fields = {_local(child.tag): (child.text or "").strip() for child in element}
            names.append(fields.get("name") or _licence_url(fields.get("url", "")))
    return _choice(names)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


_URLS = {
    r"apache\.org/licenses/license-2\.0": "Apache-2.0",
    r"opensource\.org/licenses?/mit": "MIT",
    r"gnu\.org/licenses/gpl-3\.0": "GPL-3.0-only",
    r"gnu\.org/licenses/gpl-2\.0": "GPL-2.0-only",
    r"gnu\.org/licenses/lgpl-3\.0": "LGPL-3.0-only",
    r"gnu\.org/licenses/lgpl-2\.1": "LGPL-2.1-only",
    r"gnu\.org/licenses/agpl-3\.0": "AGPL-3.0-only",
    r"mozilla\.org/(?:en-us/)?mpl/2\.0": "MPL-2.0",
    r"cecill\.info/licences/licence_cecill-b_": "CECILL-B",
    r"cecill\.info/licences/licence_cecill-c_": "CECILL-C",
    r"cecill\.info/licences/licence_cecill_v2\.1": "CECILL-2.1",
    r"eupl/eupl-text-eupl-12|eupl-1\.2": "EUPL-1.2",
    r"eclipse\.org/legal/epl-2\.0": "EPL-2.0",
}


def _licence_url(url: str) -> str | None:
    """A licence URL (Maven lets ``<url>`` stand without ``<name>``) → an SPDX id."""
    lower = url.lower()
    for pattern, licence in _URLS.items():
        if re.search(pattern, lower):
            return licence
    return url or None


def _table(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strings(value: Any) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []
