"""The rows of the ``licences`` table: SPDX's own data (name, OSI approval, FSF "libre" flag) from
the kept licence list, plus whether the licence is free and its family.

Families (a small hand-kept mapping, by SPDX id pattern, first match wins):

- ``permissive``: use, change and share, keep the notice (MIT, BSD, Apache, ISC, CeCILL-B…).
  ``etalab-2.0`` (Licence Ouverte) is here: for code it asks only for attribution, and French
  administrations publish code under it.
- ``weak copyleft``: changes to the licensed files stay free, larger works may use another
  licence (LGPL, MPL, EPL, CDDL, CeCILL-C…).
- ``strong copyleft``: the whole derived work stays under the licence (GPL, AGPL, CeCILL 1.x/2.x,
  EUPL, OSL).
- ``public domain``: dedications that waive rights (CC0, Unlicense, PDDL).
- ``open data``: licences written for data and content (Creative Commons BY and BY-SA, ODbL,
  ODC-By, UK OGL); copyleft strength is a software notion they do not share.
- ``other``: everything else, including the non-free (non-commercial, no-derivatives…).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from crawler.licences.spdx import current_id, spdx_list

#: Free licences that neither OSI nor the FSF list (in SPDX's data) but that the French
#: public-sector decree n° 2017-638 or the EU recognise as free and open licences.
KNOWN_FREE = frozenset(
    {
        "etalab-2.0",
        "CECILL-1.0",
        "CECILL-1.1",
        "CECILL-2.0",
        "CECILL-2.1",
        "CECILL-B",
        "CECILL-C",
        "EUPL-1.0",
        "EUPL-1.1",
        "EUPL-1.2",
        "ODbL-1.0",
        "ODC-By-1.0",
        "PDDL-1.0",
    }
)

_FAMILIES: tuple[tuple[str, str], ...] = (
    (r"CC-BY(-SA)?-\d|ODbL-|ODC-By-|OGL-UK-|OGL-Canada-|OGDL-|DL-DE-BY-|NLOD-", "open data"),
    (r"CC0-|Unlicense$|PDDL-|CC-PDDC$|CC-PDM-", "public domain"),
    (r"CECILL-B$|etalab-", "permissive"),
    (r"CECILL-C$|LGPL|MPL-|EPL-|CDDL-|MS-RL$|CPL-|ErlPL-|SPL-|APSL-2", "weak copyleft"),
    (r"A?GPL-|CECILL-[12]|EUPL-|OSL-|RPL-|Sleepycat$|QPL-", "strong copyleft"),
    (
        r"MIT|BSD|Apache-|ISC$|0BSD$|Zlib$|BSL-1|X11|PostgreSQL$|NCSA$|UPL-|Python-2|PSF-|"
        r"Artistic-2|Unicode-|WTFPL$|MS-PL$|MulanPSL-|AFL-|ECL-|ZPL-|curl$|libpng|BlueOak-|"
        r"Beerware$|FSFAP$|HPND|ICU$|NTP$|OpenSSL$|PHP-3|W3C|Vim$|Ruby$|AAL$|Fair$",
        "permissive",
    ),
)
_FAMILY_RULES = tuple((re.compile(pattern), family) for pattern, family in _FAMILIES)


@dataclass(frozen=True)
class LicenceInfo:
    """One row of the ``licences`` table."""

    spdx_id: str
    name: str
    is_osi_approved: bool
    is_fsf_libre: bool
    is_free: bool
    """OSI-approved, FSF-libre or a known free licence (``KNOWN_FREE``)."""
    family: str
    """permissive | weak copyleft | strong copyleft | public domain | open data | other."""


def family(spdx_id: str) -> str:
    """The family of an SPDX id (see the module's docstring)."""
    if re.search(r"-NC-|-NC$|-ND-|-ND$", spdx_id):
        return "other"
    for pattern, name in _FAMILY_RULES:
        if pattern.match(spdx_id):
            return name
    return "other"


def licence_catalogue() -> list[LicenceInfo]:
    """Every SPDX licence the crawler can report: the current ids of the kept SPDX list, and the
    deprecated ids that have no simple replacement (``normalise`` keeps those)."""
    spdx = spdx_list()
    rows = []
    for licence in spdx.licences.values():
        if current_id(spdx, licence.id) != licence.id:
            continue
        rows.append(
            LicenceInfo(
                spdx_id=licence.id,
                name=licence.name,
                is_osi_approved=licence.is_osi_approved,
                is_fsf_libre=licence.is_fsf_libre,
                is_free=(
                    licence.is_osi_approved or licence.is_fsf_libre or licence.id in KNOWN_FREE
                ),
                family=family(licence.id),
            )
        )
    return sorted(rows, key=lambda row: row.spdx_id.lower())


def spdx_version() -> str:
    """Version of the kept SPDX licence list (``3.27.0``)."""
    return spdx_list().version
