"""The licence a README's "License" / "Licence" section gives, for repositories without a licence
file: the section may hold the licence's text, its standard notice, or name it ("This project is
licensed under the MIT License", "Licence : EUPL-1.2", a badge ``![License: MIT](…)``).

Only the section is read, never the whole README: a README mentions other projects' licences
(dependencies, data sources) elsewhere. A section naming two licences is a choice only when it
says so ("dual-licensed", "at your option", "au choix"); otherwise nothing is claimed.
"""

from __future__ import annotations

import re

from crawler.licences import text as licence_text
from crawler.licences.detect import Detection, detect
from crawler.licences.notices import from_notice
from crawler.licences.spdx import NOASSERTION, NONE, lookup, normalise

#: A README longer than this is not searched (the section is near the end of most READMEs).
MAX_CHARS = 512 * 1024
#: Longest name after "under": "the GNU Affero General Public License version 3 or later".
_MAX_NAME_WORDS = 12

_HEADING_WORDS = re.compile(
    r"^(?:\W*\s*)?(?:licen[cs]es?|licensing|copyright|droits?|legal|mentions?)\b.*licen[cs]|"
    r"^\W*(?:licen[cs]es?|licensing|licen[cs]e\s+and\s+copyright|licence\s+et\s+droits?"
    r"|droits?\s+d.auteur)\W*$|^\W*licen[cs]es?\b",
)
_ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+|~+|\^+|\*+)\s*$")
_RST_OVERLINE = re.compile(r"^\s*([=\-~^*#+])\1{2,}\s*$")
_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\n]*)\)")
_UNDER = re.compile(
    r"(?:licen[cs]ed|released|distributed|published|available|provided|covered|placed|"
    r"under\s+the\s+terms|diffus[ée]e?s?|distribu[ée]e?s?|publi[ée]e?s?|plac[ée]e?s?|"
    r"disponibles?|mis\s+à\s+disposition)?\s*"
    r"(?:under|sous)\s+(?:the\s+terms\s+of\s+)?(?:the\s+|la\s+|les\s+termes\s+de\s+la\s+|une\s+)?"
    r"(?:licen[cs]e\s+)?(?P<name>(?:[^.,;:()\[\]\n]|\.(?=\d)){2,120})",
    re.IGNORECASE,
)
#: "A or B", "A and B", "A / B": each side may be a name; "or (any) later" is not a split.
_SPLIT = re.compile(
    r"\s+(?:or|ou|and|et)\s+(?!(?:\(?at\s+your\s+option\)?,?\s*)?(?:any\s+)?later|"
    r"(?:toute\s+)?(?:version\s+)?ult[ée]rieure|newer|greater)|\s*/\s*",
    re.IGNORECASE,
)
#: Words after a licence's name that make it another licence ("Apache 2.0 with Commons Clause").
_QUALIFIERS = frozenset({"with", "except", "plus", "avec", "sauf", "modified", "modifiee", "+"})
_LABEL = re.compile(r"^\W*licen[cs]e\s*:\s*(?P<name>[^\n]{2,120})$", re.IGNORECASE)
_CHOICE = re.compile(
    r"\bdual[- ]licen[cs]ed\b|\bdual licen[cs]ing\b|\bdouble licence\b"
    r"|\bat your (?:option|choice)\b"
    r"|\bau choix\b|\bvotre choix\b|\beither\b|\bsoit\b|\bvous pouvez choisir\b|\byou may choose\b",
    re.IGNORECASE,
)


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """(line index, level, text) of the Markdown (ATX, setext) and reStructuredText headings."""
    found: list[tuple[int, int, str]] = []
    for index, line in enumerate(lines):
        atx = _ATX.match(line)
        if atx:
            found.append((index, len(atx.group(1)), atx.group(2)))
            continue
        if index and lines[index - 1].strip() and _SETEXT.match(line):
            previous = lines[index - 1]
            if _ATX.match(previous) or _SETEXT.match(previous):
                continue
            level = 1 if line.strip()[0] in "=#" else 2
            found.append((index - 1, level, previous.strip()))
    return found


def licence_section(text: str) -> str | None:
    """The body of the README's first "License"/"Licence" section, or None."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    headings = _headings(lines)
    for position, (index, level, title) in enumerate(headings):
        folded = licence_text.fold(re.sub(r"[*_`\[\]]", "", title)).strip()
        if not _HEADING_WORDS.search(folded):
            continue
        end = len(lines)
        # By index, not over a slice: a slice per heading made a README of thousands of empty
        # licence headings quadratic (seconds for 400 kB).
        for following in range(position + 1, len(headings)):
            next_index, next_level, _ = headings[following]
            if next_level <= level:
                end = next_index
                break
        start = index + 1
        if start < len(lines) and _SETEXT.match(lines[start]):
            start += 1
        body = "\n".join(lines[start:end]).strip()
        if body:
            return body
    return None


def _names(section: str) -> list[str]:
    """The licences the section names, in order of appearance."""
    candidates: list[str] = []
    for match in _LINK.finditer(section):
        label = match.group(1)
        candidates.append(re.sub(r"^\s*licen[cs]e\s*[:-]?\s*", "", label, flags=re.I))
        # shields.io badges: …/badge/License-MIT-yellow.svg
        badge = re.search(r"/badge/licen[cs]e-([^-/]+(?:--[^-/]+)*)-", match.group(2), re.I)
        if badge:
            candidates.append(badge.group(1).replace("--", "-").replace("_", " "))
    plain = _LINK.sub(lambda m: f" {m.group(1)} ", section)
    plain = re.sub(r"[*_`]+", "", plain)
    for line in plain.split("\n"):
        label = _LABEL.match(line.strip())
        if label:
            candidates.append(label.group("name"))
        candidates.extend(m.group("name") for m in _UNDER.finditer(line))
        candidates.append(line.strip(" \t-*>#:."))
    named: list[str] = []
    for candidate in candidates:
        for part in [candidate, *_SPLIT.split(candidate)]:
            found = _longest_name(part)
            if found is not None and found not in named:
                named.append(found)
    return named


def _longest_name(candidate: str) -> str | None:
    """The licence named at the start of ``candidate``: the longest run of its first words that
    is a licence id or name ("MIT License - see the LICENSE file" → MIT)."""
    words = candidate.split()[:_MAX_NAME_WORDS]
    for size in range(len(words), 0, -1):
        phrase = " ".join(words[:size]).strip(" .,;:!-–")
        if not phrase:
            continue
        found = lookup(phrase)
        if found is None and re.search(r"\s(?:AND|OR|WITH)\s", phrase):
            found = normalise(phrase)
        if found is not None:
            rest = words[size:]
            if found in {NOASSERTION, NONE} or (rest and rest[0].lower() in _QUALIFIERS):
                return None
            return found
    return None


def licence_from_readme(text: str | bytes | None) -> Detection | None:
    """The licence a README's licence section gives (``source="readme"``), or None when the
    README has no such section or the section names no licence we can tell.

    Args:
        text: the README's content (Markdown, reStructuredText or plain text).
    """
    if text is None:
        return None
    content = licence_text.decode(text)
    if len(content) > MAX_CHARS:
        return None
    section = licence_section(content)
    if section is None:
        return None
    whole = detect(section)
    if whole.licence not in {NONE, NOASSERTION}:
        return Detection(whole.licence, whole.confidence, whole.reference, source="readme")
    noticed = from_notice(section)
    if noticed is not None:
        if noticed == NOASSERTION:
            return None
        return Detection(noticed, 0.95, "README licence notice", source="readme")
    named = _names(section)
    if not named:
        return None
    if len(named) == 1:
        return Detection(named[0], 0.9, "README licence section", source="readme")
    if _CHOICE.search(section):
        return Detection(" OR ".join(named), 0.9, "README licence section", source="readme")
    return None


def readme_licence_id(text: str | bytes | None) -> str | None:
    """The SPDX id (or expression) of ``licence_from_readme``, for the forges' README step
    (``crawler.forges.reads.ReadmeLicence``)."""
    found = licence_from_readme(text)
    return found.licence if found is not None else None
