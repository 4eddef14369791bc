"""The SILL's free-text licences, mapped to SPDX when the mapping is not a guess.

The SILL gives licences as typed by people: real SPDX ids (``LGPL-2.0-only``), deprecated SPDX
ids (``GPL-3.0``, ``GPL-2.0+``), near-misses (``GPL V2.0``, ``LGPL-v2.1``, ``AGPLv3``) and prose
(``GNU``, ``MPL 2.0 et EPL 1.0``). ``spdx_licence`` returns an SPDX id or expression for the
first three kinds and ``None`` for prose: the raw text is kept beside it in any case.

Rules, so that the mapping stays predictable:
- a GNU licence with a version and no "or later" is ``-only``, which is how SPDX itself reads
  its deprecated bare ids (``GPL-3.0`` = ``GPL-3.0-only``); ``+`` or "or later" is ``-or-later``;
- a GNU licence without a version (``GPL``, ``GNU LGPL``) is not mapped;
- an expression is mapped only if it uses SPDX's own operators (``AND``, ``OR``, ``WITH``) and
  every id in it maps; lists with commas or "et" are prose (dual licensing or not?) and stay
  unmapped.
"""

from __future__ import annotations

import re

#: SPDX ids met in the SILL and in public-sector repositories, in SPDX's own spelling.
_SPDX_IDS = (
    "0BSD",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "APL-1.0",
    "APSL-2.0",
    "Artistic-1.0",
    "Artistic-2.0",
    "BlueOak-1.0.0",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "CECILL-1.0",
    "CECILL-1.1",
    "CECILL-2.0",
    "CECILL-2.1",
    "CECILL-B",
    "CECILL-C",
    "CPAL-1.0",
    "CPL-1.0",
    "ECL-2.0",
    "EPL-1.0",
    "EPL-2.0",
    "etalab-2.0",
    "EUPL-1.0",
    "EUPL-1.1",
    "EUPL-1.2",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "IPL-1.0",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "LPPL-1.3c",
    "MIT",
    "MIT-0",
    "MPL-1.0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "MS-RL",
    "NCSA",
    "ODbL-1.0",
    "OFL-1.1",
    "OLDAP-2.8",
    "OSL-3.0",
    "PHP-3.0",
    "PHP-3.01",
    "PostgreSQL",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zimbra-1.3",
    "Zlib",
    "ZPL-2.1",
)
_BY_KEY = {spdx.lower(): spdx for spdx in _SPDX_IDS}
_EXCEPTIONS = {e.lower(): e for e in ("Classpath-exception-2.0", "LLVM-exception", "OpenSSL")}

_GNU = re.compile(
    r"""^(?:gnu[\s-]*)?(?P<kind>a|l)?gpl[\s-]*v?(?P<major>[123])(?:\.(?P<minor>[01]))?
        (?P<later>\+|[\s-]*or[\s-]*later|[\s-]*only)?$""",
    re.IGNORECASE | re.VERBOSE,
)


def _gnu(text: str) -> str | None:
    found = _GNU.match(text.strip())
    if not found:
        return None
    kind = (found["kind"] or "").upper()
    major = found["major"]
    minor = found["minor"] or "0"
    later = found["later"] or ""
    suffix = "-or-later" if later == "+" or "later" in later.lower() else "-only"
    spdx = f"{kind}GPL-{major}.{minor}{suffix}"
    return spdx if spdx.lower() in _BY_KEY else None


def _one(token: str) -> str | None:
    key = token.strip().lower()
    if key in _BY_KEY:
        return _BY_KEY[key]
    return _gnu(token)


def spdx_licence(raw: str | None) -> str | None:
    """The SPDX id or expression for a licence as the SILL gives it, or ``None``.

    >>> spdx_licence("GPL-3.0"), spdx_licence("LGPL-v2.1"), spdx_licence("GNU")
    ('GPL-3.0-only', 'LGPL-2.1-only', None)
    """
    if raw is None or not raw.strip():
        return None
    text = " ".join(raw.split())
    single = _one(text)
    if single is not None:
        return single
    tokens = re.split(r"\s+(AND|OR|WITH)\s+", text)
    if len(tokens) < 3:
        return None
    out: list[str] = []
    for index, token in enumerate(tokens):
        if index % 2:
            out.append(token)
            continue
        previous = tokens[index - 1] if index else ""
        mapped = _EXCEPTIONS.get(token.lower()) if previous == "WITH" else _one(token)
        if mapped is None:
            return None
        out.append(mapped)
    return " ".join(out)
