"""SPDX identifiers: the licence list kept in ``data/spdx/``, and ``normalise`` for every id or
name a forge or a manifest gives.

Decisions:

- GitHub (licensee) and GitLab report the GNU licences with SPDX's *deprecated* bare ids
  (``GPL-3.0``, ``gpl-3.0``, ``LGPL-2.1``…). SPDX defines each deprecated bare id as the
  ``-only`` licence (its licence list names ``GPL-3.0`` "GNU General Public License v3.0 only"),
  so ``GPL-3.0`` becomes ``GPL-3.0-only`` and ``GPL-3.0+`` becomes ``GPL-3.0-or-later``.
  licensee cannot tell "or later" from a licence text alone (the text is the same), so
  ``-only`` here means "version 3 of the text, no later version claimed", the same answer as our
  own detector gives for the same file: one repository never gets two ids depending on who read
  its licence. An explicit ``-or-later`` (SPDX tag, manifest, REUSE file name) is kept.
- ``other``, ``NOASSERTION`` and any string that is not a known id or name become
  ``NOASSERTION``; null or empty stays ``None`` (unknown until checked).
- A name without a version (``GPL``, ``BSD``, ``CeCILL``, ``Licence Ouverte``, ``EUPL``) is
  ``NOASSERTION``: several licences answer to it and a wrong version would be a wrong id.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

NOASSERTION = "NOASSERTION"
NONE = "NONE"

#: Version of the SPDX licence list kept in ``data/spdx/licenses.json``.
SPDX_DATA = "data/spdx/licenses.json"
SPDX_EXCEPTIONS = "data/spdx/exceptions.json"

#: Deprecated ids whose replacement is not simply ``-only`` / ``-or-later``.
_DEPRECATED_REPLACEMENTS = {
    "BSD-2-Clause-FreeBSD": "BSD-2-Clause",
    "BSD-2-Clause-NetBSD": "BSD-2-Clause",
    "StandardML-NJ": "SMLNJ",
    "bzip2-1.0.5": "bzip2-1.0.6",
}

#: Free-form names seen in forges, manifests and trove classifiers, as loose keys (see
#: ``_loose``), that SPDX's ids and names do not already cover.
_ALIASES: dict[str, str] = {
    # Permissive
    "apache": NOASSERTION,
    "apache2": "Apache-2.0",
    "asl2": "Apache-2.0",
    "apachesoftware2": "Apache-2.0",
    "mit": "MIT",
    "expat": "MIT",
    "mitx11": "MIT",
    "isc": "ISC",
    "iscl": "ISC",
    "bsd": NOASSERTION,
    "newbsd": "BSD-3-Clause",
    "modifiedbsd": "BSD-3-Clause",
    "revisedbsd": "BSD-3-Clause",
    "bsd3": "BSD-3-Clause",
    "3clausebsd": "BSD-3-Clause",
    "bsd3clausenew": "BSD-3-Clause",
    "simplifiedbsd": "BSD-2-Clause",
    "freebsd": "BSD-2-Clause",
    "bsd2": "BSD-2-Clause",
    "2clausebsd": "BSD-2-Clause",
    "zlib": "Zlib",
    "boostsoftware": "BSL-1.0",
    "boost": "BSL-1.0",
    "unlicense": "Unlicense",
    "cc0": "CC0-1.0",
    "wtfpl": "WTFPL",
    # GNU, when the version is given
    "gpl": NOASSERTION,
    "gnugpl": NOASSERTION,
    "lgpl": NOASSERTION,
    "agpl": NOASSERTION,
    "gpl2": "GPL-2.0-only",
    "gpl2+": "GPL-2.0-or-later",
    "gpl3": "GPL-3.0-only",
    "gpl3+": "GPL-3.0-or-later",
    "lgpl2": "LGPL-2.0-only",
    "lgpl2+": "LGPL-2.0-or-later",
    "lgpl2.1": "LGPL-2.1-only",
    "lgpl2.1+": "LGPL-2.1-or-later",
    "lgpl3": "LGPL-3.0-only",
    "lgpl3+": "LGPL-3.0-or-later",
    "agpl3": "AGPL-3.0-only",
    "agpl3+": "AGPL-3.0-or-later",
    "generalpublic2": "GPL-2.0-only",
    "generalpublic2+": "GPL-2.0-or-later",
    "generalpublic3": "GPL-3.0-only",
    "generalpublic3+": "GPL-3.0-or-later",
    "lessergeneralpublic2.1": "LGPL-2.1-only",
    "lessergeneralpublic2.1+": "LGPL-2.1-or-later",
    "lessergeneralpublic3": "LGPL-3.0-only",
    "lessergeneralpublic3+": "LGPL-3.0-or-later",
    "librarygeneralpublic2": "LGPL-2.0-only",
    "librarygeneralpublic2+": "LGPL-2.0-or-later",
    "afferogeneralpublic3": "AGPL-3.0-only",
    "afferogeneralpublic3+": "AGPL-3.0-or-later",
    "mpl2": "MPL-2.0",
    "mozillapublic2": "MPL-2.0",
    "epl2": "EPL-2.0",
    "eclipsepublic2": "EPL-2.0",
    # French and European public sector
    "cecill": NOASSERTION,
    "cecill2.1": "CECILL-2.1",
    "cecillb": "CECILL-B",
    "cecillb1": "CECILL-B",
    "cecillc": "CECILL-C",
    "cecillc1": "CECILL-C",
    "ceacnrsinrialogiciellibre2.1": "CECILL-2.1",
    "ceacnrsinrialogiciellibre": NOASSERTION,
    "cecillfreesoftwareagreement2.1": "CECILL-2.1",
    "cecillbfreesoftwareagreement": "CECILL-B",
    "cecillcfreesoftwareagreement": "CECILL-C",
    "etalab": NOASSERTION,
    "etalab2": "etalab-2.0",
    "etalabopen2": "etalab-2.0",
    "licenceouverte": NOASSERTION,
    "ouverte": NOASSERTION,
    "ouverte2": "etalab-2.0",
    "ouverteopen2": "etalab-2.0",
    "open2ouverte2": "etalab-2.0",
    "ouverteetalab2": "etalab-2.0",
    "lo2": "etalab-2.0",
    "eupl": NOASSERTION,
    "europeanunionpublic": NOASSERTION,
    "eupl1.2": "EUPL-1.2",
    "eupl1.1": "EUPL-1.1",
    "europeanunionpublic1.2": "EUPL-1.2",
    "europeanunionpublic1.1": "EUPL-1.1",
    # Data and content
    "odbl": "ODbL-1.0",
    "opendatabase": "ODbL-1.0",
    "ccby": NOASSERTION,
    "ccby4": "CC-BY-4.0",
    "ccbysa4": "CC-BY-SA-4.0",
    "creativecommonsattribution4": "CC-BY-4.0",
    "creativecommonsattributionsharealike4": "CC-BY-SA-4.0",
    # Explicitly unknown
    "other": NOASSERTION,
    "noassertion": NOASSERTION,
    "unknown": NOASSERTION,
    "publicdomain": NOASSERTION,
    "custom": NOASSERTION,
}


@dataclass(frozen=True)
class SpdxLicence:
    """One entry of SPDX's licence list."""

    id: str
    name: str
    is_osi_approved: bool
    is_fsf_libre: bool
    is_deprecated: bool


@dataclass(frozen=True)
class SpdxList:
    version: str
    release_date: str
    licences: dict[str, SpdxLicence]
    """By SPDX id, exact case."""
    by_lower: dict[str, str]
    """Lower-case id → id, deprecated ids included."""
    exceptions: dict[str, str]
    """Lower-case exception id → exception id."""
    loose: dict[str, str]
    """Loose key of ids, names and aliases → normalised id (or NOASSERTION when ambiguous)."""


def _read_json(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


_loading = threading.Lock()


def spdx_list() -> SpdxList:
    """SPDX's licence list, loaded once from the kept data file (under a lock: crawler
    threads ask for it at the same time)."""
    with _loading:
        return _spdx_list()


@cache
def _spdx_list() -> SpdxList:
    raw = _read_json(SPDX_DATA)
    licences = {
        entry["licenseId"]: SpdxLicence(
            id=entry["licenseId"],
            name=entry["name"],
            is_osi_approved=bool(entry.get("isOsiApproved", False)),
            is_fsf_libre=bool(entry.get("isFsfLibre", False)),
            is_deprecated=bool(entry.get("isDeprecatedLicenseId", False)),
        )
        for entry in raw["licenses"]
    }
    exceptions = {
        entry["licenseExceptionId"].lower(): entry["licenseExceptionId"]
        for entry in _read_json(SPDX_EXCEPTIONS)["exceptions"]
    }
    by_lower = {licence_id.lower(): licence_id for licence_id in licences}
    spdx = SpdxList(
        version=str(raw["licenseListVersion"]),
        release_date=str(raw.get("releaseDate", "")),
        licences=licences,
        by_lower=by_lower,
        exceptions=exceptions,
        loose={},
    )
    spdx.loose.update(_build_loose(spdx))
    return spdx


def _build_loose(spdx: SpdxList) -> dict[str, str]:
    """Loose keys of every id and name; a key two different licences share is ambiguous."""
    found: dict[str, set[str]] = {}
    for licence in spdx.licences.values():
        current = current_id(spdx, licence.id)
        for text in (licence.id, licence.name):
            found.setdefault(_loose(text), set()).add(current)
    table = {key: ids.pop() if len(ids) == 1 else NOASSERTION for key, ids in found.items()}
    table.update(_ALIASES)
    table.pop("", None)
    return table


def current_id(spdx: SpdxList, licence_id: str) -> str:
    """The current id for a (possibly deprecated) id of the list."""
    licence = spdx.licences[licence_id]
    if not licence.is_deprecated:
        return licence_id
    if licence_id in _DEPRECATED_REPLACEMENTS:
        return _DEPRECATED_REPLACEMENTS[licence_id]
    if licence_id.endswith("+") and f"{licence_id[:-1]}-or-later" in spdx.licences:
        return f"{licence_id[:-1]}-or-later"
    if f"{licence_id}-only" in spdx.licences:
        return f"{licence_id}-only"
    return licence_id


_LOOSE_DROP = re.compile(
    r"\b(the|gnu|license|licenses|version|agreement|public domain dedication|universal|"
    r"international|generic|unported)\b"
)


def _loose(text: str) -> str:
    """A key that ignores case, accents, spacing, punctuation, 'License', 'Version', 'v' and '.0'.

    ``Apache License, Version 2.0``, ``apache-2.0`` and ``Apache 2`` share the key ``apache2``;
    ``GPLv3+``, ``GPL-3.0+`` and ``GPL 3 or later`` share ``gpl3+``.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("licence", "license")
    text = re.sub(
        r"\bor (any )?later( version)?\b|-or-later\b|\bor greater\b|\bor newer\b", "+", text
    )
    text = re.sub(r"-only\b|\bonly\b", "", text)
    text = _LOOSE_DROP.sub(" ", text)
    text = re.sub(r"\bv(?:ersion)?\.?\s*(?=\d)", "", text)
    text = re.sub(r"[^a-z0-9.+]", "", text)
    text = re.sub(r"(?<=[a-z])v(?=\d)", "", text)
    text = re.sub(r"(\d)(\.0)+(?![0-9])", r"\1", text)
    return text.strip(".")


def lookup(text: str) -> str | None:
    """One licence id or name → its current SPDX id, NOASSERTION when ambiguous, None if unknown."""
    spdx = spdx_list()
    stripped = text.strip()
    exact = spdx.by_lower.get(stripped.lower())
    if exact is not None:
        return current_id(spdx, exact)
    key = _loose(stripped)
    if key in spdx.loose:
        return spdx.loose[key]
    # Trove classifiers and some manifests end a name with its abbreviation: "… (GPLv3+)".
    match = re.fullmatch(r"(.*?)\s*\(([^()]+)\)", stripped)
    if match:
        for part in (match.group(2), match.group(1)):
            found = lookup(part) if part else None
            if found is not None:
                return found
    return None


def _expression(text: str) -> str | None:
    """Normalise an SPDX expression (``MIT OR Apache-2.0``, ``(MIT AND BSD-3-Clause)``…).

    Returns None when ``text`` is not an expression made of known ids.
    """
    spdx = spdx_list()
    parts = re.split(r"(\(|\)|\s+(?:AND|OR|WITH)\s+)", text, flags=re.IGNORECASE)
    out: list[str] = []
    expect_exception = False
    depth = 0
    operands = 0
    for raw in parts:
        part = raw.strip()
        if not part:
            continue
        upper = part.upper()
        if upper in {"AND", "OR", "WITH"}:
            if not out or out[-1] in {"AND", "OR", "WITH", "("}:
                return None
            out.append(upper)
            expect_exception = upper == "WITH"
        elif part in {"(", ")"}:
            depth += 1 if part == "(" else -1
            if depth < 0:
                return None
            out.append(part)
        elif expect_exception:
            exception = spdx.exceptions.get(part.lower())
            if exception is None:
                return None
            out.append(exception)
            expect_exception = False
        else:
            found = lookup(part)
            if found is None or found == NOASSERTION:
                return None
            out.append(found)
            operands += 1
    if depth != 0 or operands == 0 or (out and out[-1] in {"AND", "OR", "WITH"}):
        return None
    result = " ".join(out).replace("( ", "(").replace(" )", ")")
    if len(out) > 2 and out[0] == "(" and out[-1] == ")" and _balanced_inner(out[1:-1]):
        result = " ".join(out[1:-1]).replace("( ", "(").replace(" )", ")")
    return result


def _balanced_inner(parts: list[str]) -> bool:
    depth = 0
    for part in parts:
        depth += {"(": 1, ")": -1}.get(part, 0)
        if depth < 0:
            return False
    return depth == 0


def normalise(forge_id: str | None) -> str | None:
    """Any licence id a forge or a manifest gives → an SPDX id or expression.

    Args:
        forge_id: GitHub's ``spdxId`` (``GPL-3.0``, ``NOASSERTION``), GitLab's ``key``
            (``gpl-3.0``, ``other``), an SPDX expression or a licence name.

    Returns:
        The current SPDX id (or expression), ``NOASSERTION`` for ``other`` and anything not
        recognised, ``NONE`` for SPDX's ``NONE``, and None for null or empty (unknown until the
        licence file is checked).
    """
    if forge_id is None:
        return None
    text = forge_id.strip()
    if not text:
        return None
    if text.upper() == NONE:
        return NONE
    found = lookup(text)
    if found is not None:
        return found
    expression = _expression(text)
    if expression is not None:
        return expression
    # Cargo's old "MIT/Apache-2.0" means a choice.
    if "/" in text and "://" not in text:
        expression = _expression(" OR ".join(text.split("/")))
        if expression is not None:
            return expression
    return NOASSERTION


def is_known(licence_id: str) -> bool:
    """True for an id of SPDX's list (exact case)."""
    return licence_id in spdx_list().licences


_LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.-]+:)?LicenseRef-[A-Za-z0-9.-]+$")


def is_expression(text: str) -> bool:
    """True when ``text`` is a valid SPDX licence expression, strictly: ids of the list (any case,
    deprecated ones included), ``LicenseRef-…``, operators AND/OR/WITH and parentheses."""
    spdx = spdx_list()
    parts = re.findall(r"\(|\)|[^\s()]+", text)
    if not parts:
        return False
    depth = 0
    expect_operand = True
    after_with = False
    for part in parts:
        if part in {"AND", "OR", "WITH", "and", "or", "with"}:
            if expect_operand:
                return False
            expect_operand = True
            after_with = part.upper() == "WITH"
        elif part == "(":
            if not expect_operand or after_with:
                return False
            depth += 1
        elif part == ")":
            depth -= 1
            if depth < 0 or expect_operand:
                return False
        else:
            if not expect_operand:
                return False
            if after_with:
                known = part.lower() in spdx.exceptions
            else:
                base = part.removesuffix("+")
                known = base.lower() in spdx.by_lower or bool(_LICENSE_REF.match(part))
            if not known:
                return False
            expect_operand = after_with = False
    return depth == 0 and not expect_operand
