"""The SILL's free-text licences, mapped to SPDX when the mapping is not a guess.

The SILL gives licences as typed by people: real SPDX ids (``LGPL-2.0-only``), deprecated SPDX
ids (``GPL-3.0``, ``GPL-2.0+``), near-misses (``GPL V2.0``, ``LGPL-v2.1``, ``AGPLv3``), names
(``Apache 2.0``, ``CeCILL v2.1``, ``EUPL 1.2``, ``Licence Ouverte 2.0``) and prose (``GNU``,
``MPL 2.0 et EPL 1.0``). ``spdx_licence`` returns an SPDX id or expression for all but prose:
the raw text is kept beside it in any case.

The normalisation is the crawler's (``crawler.licences.normalise``), so that a licence has one
id whether a forge, a licence file or the SILL gives it. The SILL adds two stricter rules:
- a GNU licence without a version (``GPL``, ``GNU LGPL``) is not mapped, nor is any name several
  licences answer to (the crawler says NOASSERTION for those; here it is ``None``);
- an expression is mapped only if it uses SPDX's own operators (``AND``, ``OR``, ``WITH``) and
  every id in it maps; lists with commas, slashes or "et" are prose (dual licensing or not?)
  and stay unmapped.
"""

from __future__ import annotations

import re

from crawler.licences import NOASSERTION, NONE, normalise

_OPERATOR = re.compile(r"\s(?:AND|OR|WITH)\s")


def spdx_licence(raw: str | None) -> str | None:
    """The SPDX id or expression for a licence as the SILL gives it, or ``None``.

    >>> spdx_licence("GPL-3.0"), spdx_licence("LGPL-v2.1"), spdx_licence("GNU")
    ('GPL-3.0-only', 'LGPL-2.1-only', None)
    """
    if raw is None or not raw.strip():
        return None
    text = " ".join(raw.split())
    found = normalise(text)
    if found is None or found in {NOASSERTION, NONE}:
        return None
    if _OPERATOR.search(found) and not _OPERATOR.search(text):
        return None  # "MIT/Apache-2.0": a list, not an SPDX expression
    return found
