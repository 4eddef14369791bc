"""Licence text normalisation: what may differ between two copies of the same licence is removed,
so that a word set compares the licence and nothing else.

Handled: encodings (UTF-8, else Windows-1252, else Latin-1), CRLF, case, accents (French texts),
HTML entities, markdown markup (headers, emphasis, links, quotes), URLs (so http and https are
equal), e-mail addresses, copyright and "all rights reserved" lines, bullets and list numbering,
hyphenation and hyphenated words (``non-exclusive`` = ``nonexclusive``), British and American
spellings, rewrapping and whitespace, and the optional appendix after "END OF TERMS AND
CONDITIONS". A title line needs no special case: it adds two or three words to a set of a hundred
or more, and the licence's name in it is a distinguishing word worth keeping (CeCILL-B, CeCILL-C).
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from dataclasses import dataclass, field

#: British → American spellings met in licence texts (tokens after lower-casing).
_SPELLINGS = {
    "licence": "license",
    "licences": "licenses",
    "licenced": "licensed",
    "licencing": "licensing",
    "licencee": "licensee",
    "licencees": "licensees",
    "licencor": "licensor",
    "licencors": "licensors",
    "sublicence": "sublicense",
    "sublicences": "sublicenses",
    "behaviour": "behavior",
    "organisation": "organization",
    "organisations": "organizations",
    "authorise": "authorize",
    "authorised": "authorized",
    "authorises": "authorizes",
    "authorisation": "authorization",
    "recognise": "recognize",
    "recognised": "recognized",
    "favour": "favor",
    "honour": "honor",
    "colour": "color",
    "centre": "center",
    "programme": "program",
    "programmes": "programs",
    "analyse": "analyze",
    "acknowledgement": "acknowledgment",
    "acknowledgements": "acknowledgments",
    "judgement": "judgment",
    "offence": "offense",
    "defence": "defense",
    "cancelled": "canceled",
    "labelled": "labeled",
    "modelling": "modeling",
    "whilst": "while",
    "utilise": "utilize",
    "characterise": "characterize",
    "summarise": "summarize",
    "minimise": "minimize",
    "maximise": "maximize",
    "artefact": "artifact",
    "artefacts": "artifacts",
    "fulfil": "fulfill",
}

_END_OF_TERMS = re.compile(r"^[\s#*_=>-]*end of (?:the )?terms and conditions\b.*$", re.M)
#: A Markdown link or image, its text kept (``_markdown_links``). The text holds no ``[``: a link
#: is matched from the last ``[`` before its ``](`` (the same words), and a line of ``[[[[…``
#: costs one pass, not one per bracket (a 20,000-character one took 3.4 s).
_MARKDOWN_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\([^)\n]*\)")
_URL = re.compile(r"<?\b(?:https?|ftp)://[^\s>)\]]*>?|<?\bwww\.[^\s>)\]]+>?")
#: An e-mail address, from the start of its run of name characters only (the lookbehind): every
#: later start reaches the same ``@`` and fails or matches alike, and trying them all made a long
#: run before an ``@`` quadratic (200,000 characters: two minutes).
_EMAIL = re.compile(r"<?(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+>?")
#: A copyright notice: "Copyright (c) 2021 …", "Copyright 2021 …", "© …", "(c) 2021 …",
#: SPDX-FileCopyrightText, and lines that only reserve rights.
_COPYRIGHT = re.compile(
    r"^[\s#*>/;!|_-]*(?:copyright\s*(?:\(c\)|©|\d|<|\[|\{|:|\(|$)|©|\(c\)\s*\d|"
    r"spdx-filecopyrighttext|spdx-license-identifier|all rights reserved|"
    r"tous droits reserves)",
)
_LIST_MARKER = re.compile(
    r"^\s*(?:[-*+•·▪◦‣>]+|\(?(?:\d+(?:\.\d+)*|[a-z]|[ivx]+)[.)]|\d+(?:\.\d+)+)(?=\s)"
)
#: BSD's third clause names the copyright holder in many copies ("Neither the name of the
#: Institut national … nor the names of its contributors"): brought back to the template's words.
_BSD_NAME = re.compile(
    r"neither\s+the\s+names?\s+of\s+(?:(?!\bnor\b).){1,300}?\s+nor\s+the\s+names", re.S
)
_HYPHEN_BREAK = re.compile(r"(?<=[a-z])-\n\s*(?=[a-z])")
_HYPHEN_WORD = re.compile(r"(?<=[a-z0-9])[-‐‑–](?=[a-z0-9])")
_WORD = re.compile(r"[a-z0-9]+")

#: Fewer words than this left after normalisation cannot be a licence text (the shortest
#: licences, WTFPL and 0BSD, keep 40 and more distinct words).
MIN_WORDS = 12


def decode(data: str | bytes) -> str:
    """Bytes → text: UTF-8 (with or without BOM), else Windows-1252, else Latin-1."""
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


#: Non-ASCII character → its folded form, filled as characters are met.
_FOLDED: dict[int, str] = {}


def fold(text: str) -> str:
    """Lower case without accents or ligatures (``Œuvre`` → ``oeuvre``)."""
    if text.isascii():
        return text.casefold()
    # Character by character through a table (NFKD, combining marks dropped): the same result
    # as normalising the whole text, several times faster on a 40,000-character licence.
    missing = {ord(c) for c in set(text) if ord(c) > 127 and ord(c) not in _FOLDED}
    for code in missing:
        decomposed = unicodedata.normalize("NFKD", chr(code))
        _FOLDED[code] = "".join(c for c in decomposed if not unicodedata.combining(c))
    return text.translate(_FOLDED).casefold().replace("œ", "oe").replace("æ", "ae")


def normalise_text(text: str) -> str:
    """The licence text reduced to its words, one space apart (for tests and debugging)."""
    return " ".join(tokens(text))


def _sub_lines(pattern: re.Pattern[str], text: str, needles: tuple[str, ...]) -> str:
    """``pattern.sub(" ", text)`` for a pattern whose matches hold one of ``needles`` and never
    cross a line: only the lines holding a needle are searched. The same result, without
    scanning every position of a 30,000-character licence (the e-mail pattern alone took a
    quarter of the time of a licence's normalisation, and most licences hold no ``@``)."""
    if not any(needle in text for needle in needles):
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if any(needle in line for needle in needles):
            lines[index] = pattern.sub(" ", line)
    return "\n".join(lines)


def _markdown_links(text: str) -> str:
    """``_MARKDOWN_LINK.sub(r" \1 ", text)``, line by line (a link never crosses one), each line
    only up to its last ``)``: a link's target ends at the first ``)`` after its ``](``, so none
    ends after it, and a ``](`` with no ``)`` after it no longer costs a scan to the end of the
    line each (``[a](`` repeated over 200,000 characters took 33 s)."""
    if "](" not in text:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        end = line.rfind(")") + 1
        if "](" in line[:end]:
            lines[index] = _MARKDOWN_LINK.sub(r" \1 ", line[:end]) + line[end:]
    return "\n".join(lines)


def tokens(text: str) -> list[str]:
    """The words of a licence text after normalisation, in order."""
    return list(_words(text))


@functools.lru_cache(maxsize=64)
def _words(text: str) -> tuple[str, ...]:
    """The words of the last texts normalised, remembered: a text's words are asked for several
    times (its word set, its sequence, its translations), and the references' at every start.
    The texts are the detector's, 200,000 characters at most each."""
    return tuple(_tokens(text))


def _tokens(text: str) -> list[str]:
    text = fold(html.unescape(text.replace("\r\n", "\n").replace("\r", "\n")))
    end = _END_OF_TERMS.search(text)
    if end:
        text = text[: end.start()]
    text = _markdown_links(text)
    text = _sub_lines(_URL, text, ("://", "www."))
    text = _sub_lines(_EMAIL, text, ("@",))
    text = _HYPHEN_BREAK.sub("", text)
    text = _BSD_NAME.sub("neither the name of the copyright holder nor the names", text)
    kept = []
    in_copyright = False
    for line in text.split("\n"):
        if _COPYRIGHT.match(line):
            in_copyright = True
            previous = line
            continue
        if in_copyright and line.strip() and _continues(previous, line):
            continue
        in_copyright = False
        kept.append(_LIST_MARKER.sub(" ", line))
    text = _HYPHEN_WORD.sub("", "\n".join(kept))
    return [_SPELLINGS.get(word, word) for word in _WORD.findall(text) if len(word) > 1]


def _continues(previous: str, line: str) -> bool:
    """True when ``line`` carries on the copyright statement of ``previous``: more indented
    (holders aligned under the first one), or starting with "and"/"&". A line at the same indent
    is kept: the FSF's address after its copyright line is part of the GPL's text."""
    indent = len(line) - len(line.lstrip())
    previous_indent = len(previous) - len(previous.lstrip())
    return indent > previous_indent or line.lstrip().startswith(("and ", "& ", "et "))


def word_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def is_copyright(line: str) -> bool:
    """True for a copyright or "all rights reserved" line."""
    return _COPYRIGHT.match(fold(line)) is not None


#: Title words that name no licence in particular.
_GENERIC_TITLE_WORDS = frozenset(
    {
        "license",
        "licenses",
        "licensed",
        "licensing",
        "public",
        "general",
        "version",
        "the",
        "of",
        "and",
        "agreement",
        "free",
        "software",
        "open",
        "source",
        "terms",
        "conditions",
        "dated",
        "du",
        "de",
        "la",
        "le",
        "des",
        "contrat",
        "logiciel",
        "libre",
        "international",
        "unported",
        "universal",
        "legal",
        "code",
        "notice",
        "for",
        "use",
        "copying",
        "copyright",
        "project",
        "projet",
        "readme",
        "to",
        "by",
        "in",
        "on",
        "or",
        "et",
        "en",
        "a",
        "an",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "avril",
        "juin",
    }
)
_DECORATION = re.compile(r"^[\s=\-*_#~+.:|]*$")
_VERSION = re.compile(r"\b(?:version|v)\.?\s*(\d+(?:\.\d+)*)|\b(\d+(?:\.\d+)+)\b")
#: Title lines are short and are not sentences.
_TITLE_MAX_WORDS = 10


@dataclass(frozen=True)
class Title:
    """A licence text's title lines ("Apache License", "Version 2.0, January 2004")."""

    words: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()
    """Version numbers without trailing ``.0`` (``2.0`` → ``2``, ``2.0.1`` stays)."""
    name_words: frozenset[str] = frozenset()
    """The words that name the licence (``apache``, ``mozilla``), generic ones left out."""
    text: str = ""
    """The first title line as written, for a look-up among licence names."""
    lines: tuple[int, ...] = field(default=(), compare=False)
    """Indices of the title lines in the text's lines."""


def _title_line(line: str) -> str:
    return line.strip().strip("#*_>`").strip()


def title(text: str) -> Title:
    """The title of a licence text: its first short line (after copyright lines and
    decorations), and the next one when it gives a version ("Version 2.0, January 2004")."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found: list[int] = []
    for index, raw in enumerate(lines[:40]):
        line = _title_line(raw)
        if not line or _DECORATION.match(line) or is_copyright(line):
            continue
        count = len(_WORD.findall(fold(line)))
        short = 0 < count <= _TITLE_MAX_WORDS and not line.endswith(".")
        if not found:
            if not short:
                break
            found.append(index)
            continue
        folded = fold(line)
        if short and (folded.startswith("version") or _VERSION.search(folded)):
            found.append(index)
        break
    if not found:
        return Title()
    text_lines = [_title_line(lines[i]) for i in found]
    folded = fold(" ".join(text_lines))
    versions = frozenset(
        re.sub(r"(?:\.0)+$", "", a or b) for a, b in _VERSION.findall(folded) if (a or b)
    )
    words = word_set(" ".join(text_lines))
    named = frozenset(w for w in words if w not in _GENERIC_TITLE_WORDS and not w.isdigit())
    return Title(words, versions, named, text_lines[0], tuple(found))


#: A line that states a licence's version: "Version 2, June 1991" under a title, "Version 1.1
#: of 10/26/2004" or "Version 2.0 du 2006-09-05." at the end of a CeCILL text.
_VERSION_LINE = re.compile(
    r"version\s+(\d+(?:\.\d+)*)(?:\s*$|\s*[,(–-]|\.?\s+(?:of|du|dated|dd)\b|\.$)"
)
#: Where version lines are read: the first lines (the title's) and the last ones.
_HEAD_VERSION_LINES = 6
_TAIL_VERSION_LINES = 3


def stated_versions(text: str) -> frozenset[str]:
    """The versions a licence text states of itself: its title's, and those of the lines that
    begin with "Version N" among its first and last lines (without trailing ``.0``, as
    ``Title.versions``). A version line too long for a title (AGPL 1.0's runs on with the
    Affero address) still counts, and CeCILL texts state theirs on their last line only. A
    text without a title line, whose first line runs on from its title into its first
    sentence ("European Union Public Licence V.1.0 EUPL (c) the European Community 2007 This
    European Union Public Licence…"), states the versions of that line's first words."""
    lines = [
        _title_line(line).lstrip("-–•* \t")
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    lines = [line for line in lines if line and not _DECORATION.match(line)]
    read = lines[:_HEAD_VERSION_LINES] + lines[_HEAD_VERSION_LINES:][-_TAIL_VERSION_LINES:]
    own = title(text)
    found = set(own.versions)
    if not own.words:
        first = next((line for line in lines if not is_copyright(line)), "")
        lead = fold(" ".join(first.split()[:_TITLE_MAX_WORDS]))
        found.update(re.sub(r"(?:\.0)+$", "", a or b) for a, b in _VERSION.findall(lead))
    for line in read:
        matched = _VERSION_LINE.match(fold(line))
        if matched:
            found.add(re.sub(r"(?:\.0)+$", "", matched.group(1)))
    return frozenset(found)


_LICENCE_WORD = re.compile(r"\blicen[cs]e\b")


def inner_title(text: str, lines_read: int = 12) -> Title:
    """The title of a licence text whose first line is not one: a sentence before it ("The
    Netizen Open Source License (NOSL) is a license based on the Mozilla Public License."), or
    its owner's name ("Tanuki Software, Inc.") before "Community Software License Agreement".
    The first short line among the first ``lines_read`` that says "license", with its version
    line; an empty Title when there is none."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    seen = 0
    for index, raw in enumerate(lines):
        line = _title_line(raw)
        if not line or _DECORATION.match(line):
            continue
        seen += 1
        if seen > lines_read:
            break
        folded = fold(line).lower()
        count = len(_WORD.findall(folded))
        if (
            index
            and 0 < count <= _TITLE_MAX_WORDS
            and not line.endswith(".")
            and (_LICENCE_WORD.search(folded))
        ):
            found = title("\n".join(lines[index:]))
            return Title(found.words, found.versions, found.name_words, found.text)
    return Title()


def without_title(text: str) -> str:
    """The text without its title lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    skip = set(title(text).lines)
    return "\n".join(line for index, line in enumerate(lines) if index not in skip)
