"""Standard licence notices: the few lines a licence asks projects to put in their files
("This software is governed by the CeCILL-C license under French law…", the GNU "either version 3
of the License, or (at your option) any later version", Apache's boilerplate, the EUPL's, the
MPL's). Some repositories carry only that notice in their LICENSE file, or in their README.

A notice names its licence and, for the GNU licences, says whether later versions may be chosen:
``-or-later`` when it offers them, ``-only`` when it names one version and no later one. A notice
that names two licences is a choice (``A OR B``) only when the text says so; otherwise nothing is
claimed.
"""

from __future__ import annotations

import re

from crawler.licences import text as licence_text
from crawler.licences.spdx import NOASSERTION, lookup

#: Words a notice may not carry when it stands for a free licence: a modified or restricted
#: licence mentions the original in its notice too ("Apache License… with the following
#: modification").
_BLOCKERS = re.compile(
    r"\b(?:modification|modifications to it|modified version of the apache|following modification|"
    r"non[- ]?commercial|commercial use|except that|exception|provided that you do not|"
    r"later versions?\s+(?:that\s+(?:is|are)\s+)?(?:accepted|approved)\s+by|"
    r"acts?\s+as\s+a\s+proxy)\b"
)

_GNU = re.compile(
    r"(?:gnu\s+)?(?P<kind>lesser\s+|library\s+|affero\s+)?general\s+public\s+licen[cs]e"
    r"(?:\s*\((?:[a-z]+)\))?,?\s+as\s+published\s+by\s+the\s+free\s+software\s+foundation"
    r"[,;:]?\s+(?:either\s+)?(?:version|v\.?)\s*(?P<version>[123](?:\.[01])?)"
    r"(?:\s+of\s+the\s+licen[cs]e)?(?P<later>[,;]?\s*(?:\(\s*)?or\s*(?:\(?\s*at\s+your\s+option"
    r"\s*\)?,?\s*)?(?:at\s+)?(?:any\s+)?later\s+version)?",
)
_GNU_FR = re.compile(
    r"licence\s+publique\s+generale\s+(?P<kind>limitee\s+|amoindrie\s+|affero\s+)?gnu"
    r"[^.]{0,80}?version\s*(?P<version>[123](?:\.[01])?)(?P<later>[^.]{0,60}?ulterieure)?",
)
_CECILL = re.compile(
    r"(?:governed\s+by\s+the|regi\s+par\s+la(?:\s+licence)?)\s+(?P<name>cecill[- ]?(?:[bc]|v?\s*"
    r"\d(?:\.\d)?)?)(?:\s+(?:license|licence))?\s+(?:under\s+french\s+law|soumise?\s+au\s+droit"
    r"\s+francais)",
)
_APACHE = re.compile(
    r"licensed\s+under\s+the\s+apache\s+licen[cs]e,?\s+version\s+2\.0\s+\(the\s+\W?licen[cs]e\W?\)"
    r"[;,]?\s+you\s+may\s+not\s+use\s+this\s+file\s+except\s+in\s+compliance\s+with\s+the\s+"
    r"licen[cs]e",
)
_EUPL = re.compile(
    r"licensed\s+under\s+the\s+eupl,?\s+(?:version|v\.?)\s*(?P<version>1\.[012])"
    r"|sous\s+(?:la\s+)?licence\s+eupl,?\s+(?:version|v\.?)\s*(?P<fr>1\.[012])",
)
_MPL = re.compile(
    r"subject\s+to\s+the\s+terms\s+of\s+the\s+mozilla\s+public\s+licen[cs]e,?\s+v(?:ersion)?\.?"
    r"\s*2\.0",
)
#: Words that make two named licences a choice.
_CHOICE = re.compile(
    r"\bdual[- ]licen[cs]ed\b|\bdouble licence\b|\bdual licen[cs]ing\b"
    r"|\bat your (?:option|choice)\b"
    r"|\bau choix\b|\bvotre choix\b|\bchoose either\b|\beither of the following\b"
    r"|\byou may choose\b|\bvous pouvez choisir\b",
)


def _flat(text: str) -> str:
    """Folded (lower case, no accents), one space between words, comment markers removed."""
    lines = (
        re.sub(r"^[\s#*/;!|>-]+|[\s*/]+$", " ", line)
        for line in licence_text.fold(text.replace("\r", "\n")).split("\n")
    )
    return " ".join(" ".join(lines).split())


def _gnu_id(kind: str, version: str, later: bool) -> str | None:
    kind = kind.strip()
    prefix = {"": "GPL", "lesser": "LGPL", "library": "LGPL", "limitee": "LGPL"}.get(kind)
    prefix = prefix or {"amoindrie": "LGPL", "affero": "AGPL"}.get(kind)
    if prefix is None:
        return None
    if "." not in version:
        version += ".0"
    if prefix == "LGPL" and version == "2.0" and kind == "lesser":
        version = "2.1"
    found = f"{prefix}-{version}-{'or-later' if later else 'only'}"
    return found if lookup(found) == found else None


def notices(text: str) -> tuple[list[str], str]:
    """The licences named by the standard notices in ``text``, in order, and the text with the
    notices removed (what is left to look at)."""
    flat = _flat(text)
    found: list[tuple[int, str]] = []
    spans: list[tuple[int, int]] = []
    for match in _GNU.finditer(flat):
        licence = _gnu_id(match["kind"] or "", match["version"], bool(match["later"]))
        if licence:
            found.append((match.start(), licence))
            spans.append(match.span())
    for match in _GNU_FR.finditer(flat):
        licence = _gnu_id(match["kind"] or "", match["version"], bool(match["later"]))
        if licence:
            found.append((match.start(), licence))
            spans.append(match.span())
    for match in _CECILL.finditer(flat):
        licence = lookup(match["name"].replace(" ", "-"))
        found.append((match.start(), licence if licence else NOASSERTION))
        spans.append(match.span())
    for pattern, licence in ((_APACHE, "Apache-2.0"), (_MPL, "MPL-2.0")):
        for match in pattern.finditer(flat):
            found.append((match.start(), licence))
            spans.append(match.span())
    for match in _EUPL.finditer(flat):
        found.append((match.start(), f"EUPL-{match['version'] or match['fr']}"))
        spans.append(match.span())
    rest = flat
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + " " + rest[end:]
    ordered: list[str] = []
    for _, licence in sorted(found):
        if licence not in ordered:
            ordered.append(licence)
    return ordered, rest


def from_notice(text: str) -> str | None:
    """The licence (or choice of licences) that the standard notices of ``text`` give.

    Returns:
        An SPDX id or ``A OR B`` expression; NOASSERTION when a notice is there but cannot name
        one licence (a CeCILL notice without its version, two licences without a word saying
        they are a choice, a notice with a modification or restriction); None when there is no
        standard notice.
    """
    named, rest = notices(text)
    if not named:
        return None
    if _BLOCKERS.search(_flat(text)):
        return NOASSERTION
    if NOASSERTION in named:
        return NOASSERTION
    if len(named) == 1:
        return named[0]
    if _CHOICE.search(rest):
        return " OR ".join(named)
    return NOASSERTION
