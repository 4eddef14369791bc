"""GitHub's licence objects, and the text the local forge serves in licence files.

GitHub reports a repository's licence as a License object (``key``, ``spdx_id``, ``name``) chosen
by its licensee gem. The 2021 CSV only keeps the licence *name*, so the objects are rebuilt here by
name. GitHub still uses the old SPDX ids for the GNU family (``GPL-3.0``, not ``GPL-3.0-only``), and
answers ``other`` / ``NOASSERTION`` when a licence file exists but is not recognised.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path

LICENCE_TEXT_DIR = Path(__file__).parent / "data" / "licences"
#: The crawler's reference texts (SPDX, CeCILL and Etalab publications, see their SOURCES.md):
#: the local forge serves them as the repositories' licence files, so that detection runs on
#: real texts. Data only: nothing of the crawler is imported.
REFERENCE_TEXT_DIR = Path(__file__).parent.parent / "crawler" / "licences" / "data" / "texts"
#: Licences whose French text public repositories usually carry.
_FRENCH_FIRST = ("CECILL", "etalab")


@dataclass(frozen=True, slots=True)
class Licence:
    """A licence as GitHub describes it."""

    key: str
    """GitHub's key, lower case (``mit``, ``gpl-3.0``, ``other``)."""
    spdx_id: str
    """GitHub's SPDX id (old style for the GNU family; ``NOASSERTION`` for ``other``)."""
    name: str
    """GitHub's display name (``MIT License``)."""
    number: int
    """Our own stable number, used to build the licence's node id."""

    @property
    def node_id(self) -> str:
        return base64.b64encode(f"07:License{self.number}".encode()).decode()

    @property
    def is_other(self) -> bool:
        return self.key == "other"


def _table(*rows: tuple[str, str, str]) -> dict[str, Licence]:
    return {name: Licence(key, spdx, name, number) for number, (key, spdx, name) in enumerate(rows)}


#: Every licence name of the 2021 CSV, plus a few other licences GitHub recognises.
LICENCES_BY_NAME: dict[str, Licence] = _table(
    ("other", "NOASSERTION", "Other"),
    ("mit", "MIT", "MIT License"),
    ("agpl-3.0", "AGPL-3.0", "GNU Affero General Public License v3.0"),
    ("gpl-3.0", "GPL-3.0", "GNU General Public License v3.0"),
    ("gpl-2.0", "GPL-2.0", "GNU General Public License v2.0"),
    ("lgpl-3.0", "LGPL-3.0", "GNU Lesser General Public License v3.0"),
    ("lgpl-2.1", "LGPL-2.1", "GNU Lesser General Public License v2.1"),
    ("apache-2.0", "Apache-2.0", "Apache License 2.0"),
    ("bsd-3-clause", "BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License'),
    ("bsd-2-clause", "BSD-2-Clause", 'BSD 2-Clause "Simplified" License'),
    ("0bsd", "0BSD", "BSD Zero Clause License"),
    ("epl-2.0", "EPL-2.0", "Eclipse Public License 2.0"),
    ("epl-1.0", "EPL-1.0", "Eclipse Public License 1.0"),
    ("isc", "ISC", "ISC License"),
    ("cc-by-sa-4.0", "CC-BY-SA-4.0", "Creative Commons Attribution Share Alike 4.0 International"),
    ("cc-by-4.0", "CC-BY-4.0", "Creative Commons Attribution 4.0 International"),
    ("cc0-1.0", "CC0-1.0", "Creative Commons Zero v1.0 Universal"),
    ("unlicense", "Unlicense", "The Unlicense"),
    ("wtfpl", "WTFPL", "Do What The Fuck You Want To Public License"),
    ("mpl-2.0", "MPL-2.0", "Mozilla Public License 2.0"),
    ("eupl-1.2", "EUPL-1.2", "European Union Public License 1.2"),
    ("eupl-1.1", "EUPL-1.1", "European Union Public License 1.1"),
    ("bsl-1.0", "BSL-1.0", "Boost Software License 1.0"),
    ("artistic-2.0", "Artistic-2.0", "Artistic License 2.0"),
    ("zlib", "Zlib", "zlib License"),
)
OTHER = LICENCES_BY_NAME["Other"]
LICENCES_BY_KEY: dict[str, Licence] = {lic.key: lic for lic in LICENCES_BY_NAME.values()}

#: Licences GitHub does not recognise (it reports "Other" for them), common in the French public
#: sector: the text of an "Other" licence file is one of these.
UNRECOGNISED_SPDX: tuple[str, ...] = ("etalab-2.0", "CECILL-2.1", "CECILL-B", "CECILL-C")

#: Names for the texts written when no reference text exists, beyond GitHub's own names.
_EXTRA_NAMES = {
    "etalab-2.0": "Licence Ouverte / Open Licence version 2.0",
    "CECILL-2.1": "CeCILL Free Software License Agreement v2.1",
    "CECILL-B": "CeCILL-B Free Software License Agreement",
    "CECILL-C": "CeCILL-C Free Software License Agreement",
}


def licence_for_name(name: str | None) -> Licence | None:
    """The License object GitHub gives for a licence name; an unknown name is ``other``.

    Args:
        name: the licence name of the CSV; empty or ``None`` means no licence detected.
    """
    if not name:
        return None
    return LICENCES_BY_NAME.get(name, OTHER)


def licence_display_name(spdx_id: str) -> str:
    for lic in LICENCES_BY_NAME.values():
        if lic.spdx_id == spdx_id:
            return lic.name
    return _EXTRA_NAMES.get(spdx_id, spdx_id)


@functools.lru_cache(maxsize=64)
def licence_text(spdx_id: str) -> str:
    """The text of a licence file for ``spdx_id``.

    The reference text ``data/licences/<SPDX>.txt`` when it exists (an ``-or-later`` id has the
    text of its ``-only`` licence: the same text); otherwise a short text that names the licence,
    enough for a reader (not for a text-matching detector).
    """
    path = LICENCE_TEXT_DIR / f"{spdx_id}.txt"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    languages = ("fr", "en") if spdx_id.startswith(_FRENCH_FIRST) else ("en", "fr")
    bare = spdx_id.removesuffix("-or-later")
    for candidate in (spdx_id, f"{bare}-only"):  # GitHub's bare GPL ids mean -only
        for language in languages:
            reference = REFERENCE_TEXT_DIR / f"{candidate}.{language}.txt"
            if reference.is_file():
                return reference.read_text(encoding="utf-8")
    name = licence_display_name(spdx_id)
    return (
        f"{name}\n\n"
        f"This software is distributed under the terms of the {name}.\n"
        f"SPDX-License-Identifier: {spdx_id}\n\n"
        "See the full text of the licence for the conditions of use, copy, modification and\n"
        "distribution of this software.\n"
    )
