"""Which licence a licence file holds, licensee-style: normalise the text, then compare its set
of words with the reference texts kept in ``data/texts/`` (Sørensen–Dice on word sets).

Never a wrong id: an answer needs

1. a similarity of at least ``THRESHOLD`` with one reference text;
2. for every reference of another licence that comes close (within ``RIVAL_MARGIN``), the words
   that tell the two apart must side with the answer: the file holds most of the words only the
   answer's text has, and few of the words only the rival's text has (GPL-2.0 / GPL-3.0,
   GPL-3.0 / AGPL-3.0, BSD-2 / BSD-3, CeCILL-B / CeCILL-C, CC-BY / CC-BY-SA, LGPL / GPL…);
3. no "red flag" word that the reference does not have (``non-commercial``, ``evil``…): a
   permissive text plus one restrictive sentence is a different licence, however similar;
4. a title that agrees with the reference's (licensee's Dice matcher checks the title too): no
   "Modified"/"custom" in it, no other version number ("Modified Apache 2.0 License, Version
   2.0.1"), no other licence's name; and the licence's own name words that its body repeats
   (``mozilla`` in the MPL, ``cecill``, ``eupl``) still there, so a licence renamed throughout
   (an MPL-2.0 turned "Foundation Center Public License") is not the original, although 99 % of
   its words are the same;
5. no other version stated than the reference's: its title's, or a "Version N…" line among its
   first and last lines (CeCILL states its version on its last line only: an English CeCILL
   1.0 is not CeCILL 1.1);
6. for short licences (MIT, BSD, ISC, zlib…), compared word by word in order: no condition
   added, no clause removed, and key sentences (the grant, the list of what may be done, the
   conditions) not reworded: two words are enough ("the associated README documentation
   file" makes ScanCode's ``mit-readme``, not MIT-0).

A file that is not a licence text but holds a licence's standard notice (CeCILL, GNU, Apache,
EUPL, MPL: ``crawler.licences.notices``) names that licence.

Otherwise the answer is NOASSERTION. Near relatives of the required licences (BSD-4-Clause,
MIT-0, CeCILL 2.0, CC-BY-NC…) are kept as references too, so a text close to one of them finds
its own id instead of its neighbour's.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from crawler.licences import text as licence_text
from crawler.licences.manifests import MANIFESTS, from_manifest
from crawler.licences.notices import from_notice
from crawler.licences.spdx import NOASSERTION, NONE, lookup, normalise, spdx_list

log = logging.getLogger(__name__)

#: Minimum Sørensen–Dice similarity between the file's word set and a reference's.
#: licensee asks 98 % of its own measure. Measured on the tests' real files, a copy of the right
#: licence scores 0.985–1.0 after normalisation (a title or an institution's name costs a word or
#: two), a third of the GPL 0.69, lorem ipsum 0.02. 0.95 leaves a short licence (MIT: ~90 words)
#: room for a few added words; what added words could change is left to the distinguishing words
#: and the red flags below, not to the threshold: the closest different licences (CC-BY-4.0 /
#: CC-BY-ND-4.0) score 0.994 against each other.
THRESHOLD = 0.95
#: Longer files are not licence texts (the longest references are ~45,000 characters): reading
#: them would cost time for no answer.
MAX_CHARS = 200_000
#: References of other licences scoring within this margin of the best are checked word by word.
RIVAL_MARGIN = 0.1
#: Share of the best reference's own words (those the rival lacks) the file must hold.
MIN_OWN_COVERAGE = 0.7
#: Most of the rival's own words (those the best reference lacks) the file may hold.
MAX_RIVAL_COVERAGE = 0.3
#: Enough of the best's own words when the file holds none of the rival's.
MIN_OWN_HITS = 8
#: Short licences (MIT, BSD, ISC, zlib: a few hundred words) are also compared word by word in
#: order: one added condition changes them, and costs too few distinct words to show in a set.
MAX_SEQUENCE = 450
#: Words that make an added passage a condition rather than a pointer or a name.
_OPERATIVE = frozenset(
    {
        "must", "shall", "not", "only", "unless", "prohibited", "without", "except",
        "provided", "unmodified", "cannot", "restricted", "may", "required", "requires",
        "forbidden", "never", "neither", "nor", "condition", "conditions",
    }
)  # fmt: skip
#: An added passage shorter than this is a name or a word, not a condition.
MIN_ADDED_WORDS = 2
#: A file shorter than this many words may be a standard notice rather than a licence text.
MAX_NOTICE_WORDS = 600

#: Words that turn a free licence into another one when added to it.
_RED_FLAGS = frozenset(
    {
        "noncommercial",
        "commercial",
        "commercially",
        "evil",
        "military",
        "weapon",
        "weapons",
        "ethical",
        "prohibited",
        "forbidden",
        "interdit",
        "interdite",
        "commerciale",
        "commerciales",
        "commerciaux",
    }
)

_SPDX_TAG = re.compile(r"SPDX-License-Identifier\s*:\s*([^\n\r]*?)\s*(?:\*/|-->|#\}|$)", re.M)

#: Same-licence references in two languages are also compared as one bilingual text, the way
#: some French repositories ship the French and English CeCILL or Etalab texts in one file.
_BILINGUAL = ("fr", "en")

#: Licence pairs found in separate files that make one known answer.
_KNOWN_COMBINATIONS = {
    frozenset({"MIT", "Apache-2.0"}): "MIT OR Apache-2.0",
    frozenset({"MIT", "Unlicense"}): "Unlicense OR MIT",
    # COPYING.LESSER beside COPYING: the LGPL needs the GPL's text, the project is LGPL.
    frozenset({"LGPL-3.0-only", "GPL-3.0-only"}): "LGPL-3.0-only",
    frozenset({"LGPL-2.1-only", "GPL-2.0-only"}): "LGPL-2.1-only",
    frozenset({"LGPL-2.0-only", "GPL-2.0-only"}): "LGPL-2.0-only",
}


@dataclass(frozen=True)
class Detection:
    """What a licence file (or a repository's licence files) says."""

    licence: str
    """An SPDX id or expression, ``NOASSERTION`` (a text not recognised) or ``NONE`` (no licence
    text: empty, or only a copyright line)."""
    confidence: float
    """0–1: the similarity with the matched reference; 1.0 for an SPDX-License-Identifier tag and
    for NONE; for NOASSERTION, the similarity with the closest reference (see ``closest``)."""
    reference: str | None = None
    """The reference text that matched, e.g. ``CECILL-B (fr)``, or how the answer was found
    (``SPDX-License-Identifier``, ``licence name``, ``REUSE file name``, ``package.json``)."""
    closest: str | None = None
    """For NOASSERTION, the closest reference, so an author sees how far the file is from it."""
    source: str = "detected"
    """``detected`` (from a licence file) or ``manifest`` (from a package manifest)."""
    path: str | None = None
    """The file the answer came from, for ``detect_files``."""


@dataclass(frozen=True)
class Reference:
    licence: str
    """SPDX id this reference text stands for."""
    name: str
    """Shown in Detection.reference, e.g. ``CECILL-B (fr)``."""
    words: frozenset[str]
    body: frozenset[str] = frozenset()
    """The words without the title lines: what tells two licences apart, since many copies
    carry no title (an MIT file without "MIT License" is still MIT, not MIT-0)."""
    title: licence_text.Title = field(default_factory=licence_text.Title)
    """The title lines' words and versions, to compare with a file's own title."""
    required: frozenset[str] = frozenset()
    """The licence's name words that its body repeats (``mozilla``, ``cecill``, ``eupl``): a
    copy with those renamed is another licence, however similar the rest."""
    sequence: tuple[str, ...] = ()
    """The words in order, for short licences only (see ``_added_condition``)."""
    title_size: int = 0
    """How many of ``sequence``'s first words are the title's."""
    versions: frozenset[str] = frozenset()
    """The versions the text states of itself (``licence_text.stated_versions``): its title's
    and its version lines' ("Version 1.1 of 10/26/2004" ends the CeCILL 1.1)."""
    key: tuple[bool, ...] = ()
    """For each word of ``sequence``: whether it belongs to a key sentence (see
    ``_key_sentences``), where two words reworded make another licence."""


_loading = threading.Lock()


def references() -> tuple[Reference, ...]:
    """The reference texts, read and normalised once (about 70 texts, ~0.2 s).

    Under a lock: a crawl detects from dozens of threads at once, and an unguarded cache let
    each of them load its own copy on the first call (hundreds of MB at the peak)."""
    with _loading:
        return _references()


@cache
def _references() -> tuple[Reference, ...]:
    folder = resources.files(__package__).joinpath("data/texts")
    loaded: list[Reference] = []
    by_language: dict[tuple[str, str], frozenset[str]] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".txt"):
            continue
        stem, language = entry.name.removesuffix(".txt").rsplit(".", 1)
        licence, _, variant = stem.partition("+")
        content = entry.read_text(encoding="utf-8")
        words = licence_text.word_set(content)
        title = licence_text.title(content)
        body = licence_text.word_set(licence_text.without_title(content))
        name = (
            f"{licence} ({language})" if not variant else f"{licence} with {variant} ({language})"
        )
        required = title.name_words & body
        sequence = licence_text.tokens(content)
        short = tuple(sequence) if len(sequence) <= MAX_SEQUENCE else ()
        title_size = len(sequence) - len(licence_text.tokens(licence_text.without_title(content)))
        key = _key_sentences(content, sequence) if short else ()
        versions = licence_text.stated_versions(content)
        loaded.append(
            Reference(
                licence,
                name,
                words,
                body,
                title,
                required,
                short,
                max(title_size, 0),
                versions,
                key,
            )
        )
        if not variant:
            by_language[(licence, language)] = words
    for licence in sorted({licence for licence, _ in by_language}):
        texts = [by_language.get((licence, language)) for language in _BILINGUAL]
        if all(texts):
            union = frozenset().union(*(t for t in texts if t))
            parts = [r for r in loaded if r.licence == licence and "with" not in r.name]
            loaded.append(
                Reference(
                    licence,
                    f"{licence} ({'+'.join(_BILINGUAL)})",
                    union,
                    frozenset().union(*(r.body for r in parts)),
                    licence_text.Title(
                        frozenset().union(*(r.title.words for r in parts)),
                        frozenset().union(*(r.title.versions for r in parts)),
                        frozenset().union(*(r.title.name_words for r in parts)),
                    ),
                    frozenset(),
                    versions=frozenset().union(*(r.versions for r in parts)),
                )
            )
    return tuple(loaded)


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b))


def _distinguished(words: frozenset[str], best: Reference, rival: Reference) -> bool:
    """True when the words that tell ``best`` from ``rival`` side with ``best``.

    The bodies are compared, not the titles: a copy without its title is common. A file that
    holds none of the rival's own words and a good number of the best's also sides with the
    best (a copy without the EUPL's appendix still differs from the EUPL 1.1 in its body)."""
    return _sides_with(words, best.body, rival.body) or _sides_with(words, best.words, rival.words)


def _sides_with(words: frozenset[str], best: frozenset[str], rival: frozenset[str]) -> bool:
    own = best - rival
    theirs = rival - best
    if not own and not theirs:
        return False
    own_hits = len(words & own)
    own_coverage = own_hits / len(own) if own else 1.0
    rival_coverage = len(words & theirs) / len(theirs) if theirs else 0.0
    if rival_coverage == 0.0 and own_hits >= MIN_OWN_HITS:
        return True
    return own_coverage >= MIN_OWN_COVERAGE and rival_coverage <= MAX_RIVAL_COVERAGE


#: Words in a title that make a licence another one ("Modified Apache 2.0 License").
_MODIFIERS = frozenset(
    {
        "modified",
        "modification",
        "amended",
        "custom",
        "customized",
        "derived",
        "derivative",
        "variant",
        "adapted",
        "modifiee",
        "adaptee",
        "unofficial",
    }
)


#: "X Public License": a licence's own name, which copies of another licence do not carry.
_PUBLIC_LICENCE = re.compile(r"\bpublic\s+licen[cs]e\b")


def _renamed(
    title: licence_text.Title,
    words: frozenset[str],
    best: Reference,
    *,
    own_title: bool = True,
    head: frozenset[str] = frozenset(),
) -> str | None:
    """Why a text close to ``best`` is not ``best`` (its title names another licence, another
    version, or says it is modified; the licence's own name is gone from its body), or None.
    ``own_title``: ``title`` is the file's first line (not a title found further down), which
    may name something else when the reference's own name follows in ``head``, the first lines
    (a project's name above "Apache License, Version 2.0")."""
    missing = best.required - words
    if own_title and missing:
        return f"without the name words {sorted(missing)}"
    if not title.words:
        return None
    if (
        _LICENCE_WORD.search(title.text.lower())
        and title.name_words
        and best.title.name_words
        and not _stems(title.name_words) & _stems(best.title.name_words)
        and not (own_title and _stems(best.title.name_words) <= _stems(head))
    ):
        return f"a title naming another licence ({title.text!r})"
    modifiers = (title.words & _MODIFIERS) - best.title.words
    if modifiers:
        return f"a title that says {sorted(modifiers)}"
    if best.title.versions and title.versions - best.title.versions:
        return f"version {sorted(title.versions)} in its title"
    if (
        _PUBLIC_LICENCE.search(title.text.lower())
        and title.name_words
        and best.title.name_words
        and not title.name_words & best.title.name_words
    ):
        return f"a title naming another public licence ({title.text!r})"
    named = lookup(title.text) if title.text else None
    if (
        named not in {None, NOASSERTION}
        and _family(named or "") != _family(best.licence)
        and best.title.name_words
        and not title.name_words & best.title.name_words
    ):
        return f"a title naming {named}"
    return None


_LICENCE_WORD = re.compile(r"\blicen[cs]e\b")
#: Lines at the top of a file where the reference's own name may follow a project's title.
_HEAD_LINES = 15


def _stems(words: frozenset[str]) -> frozenset[str]:
    """Name words without a version glued to them ("OSL-3.0" reads ``osl3``)."""
    return frozenset(w.rstrip("0123456789") or w for w in words)


def _head(content: str) -> frozenset[str]:
    """The words of the first lines, where a licence's full title stands."""
    lines = [line for line in content.split("\n") if line.strip()][:_HEAD_LINES]
    return frozenset(licence_text.tokens("\n".join(lines)))


def _family(licence: str) -> str:
    return licence.removesuffix("-or-later").removesuffix("-only")


#: Words that stand for a name in a licence's text ("the copyright holder", "the Regents of
#: the University", "X Consortium"): a copy puts its own names there.
_NAME_WORDS = frozenset(
    {
        "copyright", "holder", "holders", "owner", "owners", "author", "authors", "contributor",
        "contributors", "organization", "organisation", "regents", "university", "california",
        "its", "their", "his", "her", "the", "of", "and", "or", "x", "consortium", "inc",
    }
)  # fmt: skip
#: Reference words removed in one place (a whole clause: "Redistributions in binary form must
#: reproduce…" is 20 words) that make a short licence another one.
MIN_REMOVED_WORDS = 5
#: Words added in one place, inside the text, that make it another licence even without an
#: operative word ("in this position and unchanged", "in both source and binary form").
MIN_INSERTED_WORDS = 3
#: Reference words replaced by others over the whole text ("Software" → "Materials" nine
#: times: Khronos's licence, not MIT); names put in the place of name words do not count.
MIN_REWORDED = 3
#: How much change in a short licence's key sentences (its grant, the list of what may be
#: done, its conditions; weighed by ``_key_changed``) makes it another licence: a word
#: replaced by another, a permission dropped, or two words added, dropped or misspelt.
#: "documentation files" → "README documentation file" is ScanCode's ``mit-readme``, not
#: MIT-0, though it is two words and the word set hardly moves. One typo or one added word is
#: left to copies, and template words that copies drop (ISC's "and/or" → "and") are name-like
#: words that do not count.
MIN_KEY_CHANGED = 2
#: Words that make a sentence of a short licence a key one: it grants, lists what may be done,
#: or sets a condition.
_KEY_WORDS = frozenset(
    {
        "permission", "permitted", "granted", "grant", "grants", "redistribution",
        "redistributions", "must", "shall", "provided", "included", "retain", "reproduce",
        "use", "copy", "modify", "distribute", "sublicense", "sell", "endorse", "promote",
    }
)  # fmt: skip
#: Words of a disclaimer, which is not a key sentence (its copies vary more, and what it says
#: does not change what may be done: ScanCode's ``x11-acer`` is ISC with a typo there).
_DISCLAIMER_WORDS = frozenset({"warranty", "warranties", "liable", "liability", "damages"})
#: Where a sentence ends in a licence text (a full stop, colon or semicolon before a space; a
#: blank line, after a heading or a name), and the word that marks it among the tokens.
_SENTENCE_END = re.compile(r"(?<=[.:;!?])(?=[ \t\r\n])")
_PARAGRAPH_END = re.compile(r"\n[ \t\r]*\n")
_SENTENCE_MARK = "qqsentenceendqq"
#: Words whose insertion changes nothing ("the associated files").
_ARTICLES = frozenset({"the", "a", "an"})
#: A word inserted this many times along a text is a prefix of its lines, not a word of it.
_PREFIX_REPEATS = 4
#: List numbering inside a sentence ("either (i) … or (ii) …"), which copies write or drop
#: (at a line's start it is removed as a list marker).
_ENUMERATOR = re.compile(r"^(?:[ivx]+|\d+)$")


def _key_sentences(content: str, sequence: list[str]) -> tuple[bool, ...]:
    """For each word of a short reference's ``sequence``, whether its sentence is a key one:
    it holds a word of ``_KEY_WORDS`` and none of ``_DISCLAIMER_WORDS``. Sentences are cut
    where the text has a full stop, colon or semicolon before a space, and at blank lines; an
    empty tuple when the cut text does not give the same words (then no sentence is taken for
    a key one). The title is no key sentence: what a copy puts between it and the text is a
    header."""
    cut = _SENTENCE_END.sub(f" {_SENTENCE_MARK} ", content)
    marked = licence_text.tokens(_PARAGRAPH_END.sub(f"\n\n{_SENTENCE_MARK}\n\n", cut))
    if [w for w in marked if w != _SENTENCE_MARK] != sequence:
        log.warning("reference text not cut into sentences: %s", " ".join(sequence[:8]))
        return ()
    mask: list[bool] = []
    sentence: list[str] = []
    for word in [*marked, _SENTENCE_MARK]:
        if word != _SENTENCE_MARK:
            sentence.append(word)
            continue
        words = set(sentence)
        key = bool(words & _KEY_WORDS) and not words & _DISCLAIMER_WORDS
        mask.extend([key] * len(sentence))
        sentence = []
    title_size = len(sequence) - len(licence_text.tokens(licence_text.without_title(content)))
    return tuple(index >= title_size and key for index, key in enumerate(mask))


def _key_changed(
    best: Reference,
    tag: str,
    span: tuple[int, int],
    removed: Sequence[str],
    added: Sequence[str],
    *,
    ignored: frozenset[str] = frozenset(),
) -> float:
    """How much one difference changes a key sentence of ``best``:

    - 1 for each word inserted inside the sentence or removed from it, and for a word replaced
      by a form of itself (a typo, a plural: "files" → "file", "limitation" → "limiting");
      ½ for a word inserted that the licence uses elsewhere (BSD copies whose "Redistributions
      of source code of this software must retain…");
    - 2 for a word replaced by another ("excluding commercial applications"), and for a
      removed word that says what may be done (``_GRANTED``: "use, copy, publish" without
      "modify", "in source forms" without "binary"): each changes what the sentence allows
      by itself;
    - nothing for names put in the place of name words, for two words written as one, and
      for name words, articles, list numbering and ``ignored`` words (a prefix repeated on
      every line) added.

    A word added alone may not change the licence (ScanCode's MIT rules hold copies "of this
    font software"); two do, or a word added and a plural ("the associated README
    documentation file")."""
    key = best.key
    if not key:
        return 0
    ref_start, ref_end = span
    added = [w for w in added if not _filler(w) and w not in ignored]
    if tag == "insert":
        inside = 0 < ref_start < len(key) and key[ref_start - 1] and key[ref_start]
        return sum(0.5 if w in best.words else 1 for w in added) if inside else 0
    if not any(key[ref_start:ref_end]):
        return 0
    named = all(word in _SLOT_WORDS for word in removed) and not _RESTRICTING.intersection(added)
    if named or "".join(removed) == "".join(added):  # not "and/or sell" → "but not sell"
        return 0
    removed = [w for w in removed if not _filler(w)]
    if len(removed) == len(added) and all(map(_same_word, removed, added)):
        return len(removed)
    if tag == "delete":
        return sum(2 if w in _GRANTED else 1 for w in removed)
    return 2 * max(len(removed), len(added))


#: Words of the places where copies put names ("Neither the name of the copyright holder":
#: "Neither the author", "Neither the name of Foo").
_SLOT_WORDS = _NAME_WORDS | {"name", "names"}
#: Words that restrict, put in a name slot or in the place of name-like words ("and/or sell"
#: → "but not sell"); "nor" is not one: BSD copies list several names ("Neither the name of
#: the University nor the name of X nor the names of its contributors").
_RESTRICTING = frozenset(
    {
        "not", "no", "but", "only", "unless", "except", "without", "never", "cannot", "must",
        "shall", "provided", "prohibited", "forbidden", "restricted",
    }
)  # fmt: skip
#: Words that say what a short licence allows: removing one changes it.
_GRANTED = frozenset(
    {
        "use", "copy", "modify", "merge", "publish", "distribute", "sublicense", "sell",
        "redistribute", "redistribution", "alter", "reproduce", "display", "execute",
        "transmit", "prepare", "binary", "source", "with", "commercial", "permission",
        "permitted", "granted",
    }
)  # fmt: skip
#: Endings of the forms of one word ("copies"/"copy", "limitation"/"limiting").
_ENDINGS = ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s", "y", "e")


def _filler(word: str) -> bool:
    return word in _SLOT_WORDS or word in _ARTICLES or _ENUMERATOR.match(word) is not None


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def _same_word(a: str, b: str) -> bool:
    """True when ``b`` is ``a`` misspelt (one letter added, removed or changed) or another
    form of it (``_stem``)."""
    if _stem(a) == _stem(b):
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _added_condition(sequence: list[str], best: Reference) -> str | None:
    """What makes a text close to a short reference another licence, word by word in order: a
    passage added that reads as a condition ("must not be modified", "only for…"; ScanCode's
    ``bsd-new-nomod``, ``mit-proprietary``), a passage added inside the text ("in this position
    and unchanged": ``bsd-unchanged``), a clause removed (BSD-3 without its binary clause:
    ``bsd-source-code``), or words of the text replaced by others (``khronos``); all of which
    hardly change its set of words. The reference's title, names in the place of its name
    words, and what is added before or after the text (a header, a pointer to the README) do
    not count."""
    if not best.sequence or len(sequence) > 3 * len(best.sequence):
        return None
    matcher = difflib.SequenceMatcher(None, best.sequence, sequence, autojunk=False)
    end = len(best.sequence)
    reworded = 0
    key_changed = 0.0
    key_words: list[str] = []
    seen: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()
    started = False  # what differs before the text's first words is a header (NCSA's names)
    opcodes = matcher.get_opcodes()
    inserted = Counter(
        word
        for tag, _, _, start, stop in opcodes
        if tag != "equal"
        for word in sequence[start:stop]
    )
    # the same word inserted all along the text: a prefix of each line ("%%Copyright:")
    prefixes = frozenset(word for word, count in inserted.items() if count >= _PREFIX_REPEATS)
    for tag, ref_start, ref_end, start, stop in opcodes:
        if tag == "equal":
            started = started or (
                ref_start >= best.title_size and ref_end - ref_start >= MIN_REMOVED_WORDS
            )
            continue
        if ref_end <= best.title_size:
            continue
        removed = best.sequence[ref_start:ref_end]
        added = sequence[start:stop]
        named = bool(removed) and all(word in _NAME_WORDS for word in removed)
        operative = _OPERATIVE.intersection(added) and not named
        if operative and (len(added) >= MIN_ADDED_WORDS or tag == "insert"):
            return "an added condition: " + " ".join(added[:12])
        if started and len(removed) - len(added) >= MIN_REMOVED_WORDS and not named:
            return "a clause removed: " + " ".join(removed[:12])
        inside = started and best.title_size < ref_start < end
        if inside and not named and len(added) - len(removed) >= MIN_INSERTED_WORDS:
            return "words added inside the text: " + " ".join(added[:12])
        if tag == "replace" and not named:
            reworded += sum(word not in _NAME_WORDS for word in removed)
        # the same change made twice is one choice of words ("disclaimers" in both clauses)
        change = (tuple(removed), tuple(added))
        changed = (
            _key_changed(best, tag, (ref_start, ref_end), removed, added, ignored=prefixes)
            if ref_start > best.title_size and change not in seen
            else 0
        )
        seen.add(change)
        if changed:
            key_changed += changed
            key_words.extend(added or removed)
    if reworded >= MIN_REWORDED:
        return f"{reworded} words of the text replaced"
    if key_changed >= MIN_KEY_CHANGED:
        return "a key sentence reworded: " + " ".join(key_words[:12])
    return None


def _match(
    words: frozenset[str],
    title: licence_text.Title | None = None,
    sequence: list[str] | None = None,
    inner: licence_text.Title | None = None,
    *,
    head: frozenset[str] = frozenset(),
    stated: frozenset[str] = frozenset(),
) -> Detection:
    scored = sorted(
        ((_dice(words, ref.words), ref) for ref in references()),
        key=lambda pair: pair[0],
        reverse=True,
    )
    score, best = scored[0]
    if score < THRESHOLD:
        return Detection(NOASSERTION, round(score, 4), closest=best.name)
    flags = (words & _RED_FLAGS) - best.words
    if flags:
        log.debug("%s-like text with restrictive words %s", best.licence, sorted(flags))
        return Detection(NOASSERTION, round(score, 4), closest=best.name)
    for rival_score, rival in scored[1:]:
        if rival_score < score - RIVAL_MARGIN:
            break
        if rival.licence == best.licence:
            continue
        if not _distinguished(words, best, rival):
            log.debug("%s and %s cannot be told apart", best.name, rival.name)
            return Detection(NOASSERTION, round(score, 4), closest=best.name)
    why = _renamed(title or licence_text.Title(), words, best, head=head)
    own = title or licence_text.Title()
    if (
        why is None
        and inner is not None
        and inner.versions
        and not _LICENCE_WORD.search(own.text.lower())
    ):
        # no title at the top (a sentence, an owner's name): the one a few lines down
        why = _renamed(inner, words, best, own_title=False)
    if why is None and best.versions and stated - best.versions:
        # "Version 1 of 06/21/2004" at the end of a CeCILL close to the 1.1's text
        why = f"version {sorted(stated)} stated, not {sorted(best.versions)}"
    if why is None and sequence is not None:
        why = _added_condition(sequence, best)
    if why is not None:
        log.debug("%s-like text with %s", best.licence, why)
        return Detection(NOASSERTION, round(score, 4), closest=best.name)
    return Detection(best.licence, round(score, 4), best.name)


#: In a long file, only the tags of its first lines are its own: a licence text may quote one
#: for another work (the Community Specification License quotes ``CC-BY-4.0``).
_TAG_LINES = 10


def _spdx_tags(text: str) -> Detection | None:
    """The SPDX-License-Identifier lines of a file, when they all agree."""
    found = {m.group(1).strip() for m in _SPDX_TAG.finditer(text) if m.group(1).strip()}
    if found and len(licence_text.tokens(text)) > MAX_NOTICE_WORDS:
        top = "\n".join(text.lstrip().split("\n")[:_TAG_LINES])
        if not _SPDX_TAG.search(top):  # quoted for another work: whose is the text, then?
            return Detection(NOASSERTION, 1.0, "SPDX-License-Identifier")
    if not found:
        return None
    ids = {normalise(expression) for expression in found}
    if len(ids) == 1:
        (licence,) = ids
        if licence is not None:
            return Detection(licence, 1.0, "SPDX-License-Identifier")
    return Detection(NOASSERTION, 1.0, "SPDX-License-Identifier")


def _short_text(text: str) -> Detection:
    """A file too short to be a licence text: a licence name alone, else no licence."""
    lines = [line.strip(" \t#*_>-:.") for line in text.splitlines()]
    lines = [line for line in lines if line and not licence_text.is_copyright(line)]
    candidates = [" ".join(lines), *lines] if lines else []
    for candidate in candidates:
        found = lookup(_strip_lead_in(candidate))
        if found is not None and found != NOASSERTION:
            return Detection(found, 0.9, "licence name")
    return Detection(NONE, 1.0)


_LEAD_IN = re.compile(
    r"^(?:(?:this|the)\s+(?:project|software|program|code|work|repository)\s+is\s+|"
    r"(?:ce|le)\s+(?:logiciel|projet|programme|code|depot|dépôt)\s+est\s+)?"
    r"(?:licen[cs]ed\s+under|released\s+under|distributed\s+under|"
    r"(?:distribu[ée]|publi[ée]|plac[ée])e?\s+sous|sous|licen[cs]e\s*:?)\s+(?:the\s+|la\s+)?"
    r"(?:licen[cs]e\s+|terms\s+of\s+the\s+)?",
    re.IGNORECASE,
)


def _strip_lead_in(line: str) -> str:
    return _LEAD_IN.sub("", line).strip(" .")


def detect(text: str | bytes | None, filename: str | None = None) -> Detection:
    """The licence of one licence file.

    Args:
        text: the file's content, as text or bytes (UTF-8, Windows-1252 or Latin-1); ``None``
            for a REUSE file known by its name only (REUSE requires the name to be the SPDX
            id, so a crawler can list ``LICENSES/`` without reading each file).
        filename: its path in the repository; a REUSE ``LICENSES/<id>.txt`` name is a declaration
            that the text confirms or that stands when the text is not recognised.

    Returns:
        The SPDX id (``NOASSERTION`` when the text is not recognised, ``NONE`` when it is empty
        or only a copyright line), with its confidence and the reference that matched.
    """
    if text is None:
        named = _reuse_name(filename)
        if named is None:  # a LicenseRef-… file, or not a REUSE path at all
            return Detection(NOASSERTION, 0.0)
        return Detection(named, 1.0, "REUSE file name")
    content = licence_text.decode(text)
    if len(content) > MAX_CHARS:
        log.debug("%s: %d characters, too long for a licence text", filename, len(content))
        return Detection(NOASSERTION, 0.0)
    found = _recognised(content)
    declared = _reuse_name(filename)
    if declared is not None and found.licence in {NOASSERTION, _version_family(declared)}:
        return Detection(declared, found.confidence, "REUSE file name", found.closest)
    return found


#: Texts already recognised, by digest: the same licence file (MIT with another holder is
#: another text, but forks, templates and vendored copies repeat texts exactly) is matched once.
_RECOGNISED: OrderedDict[bytes, Detection] = OrderedDict()
_RECOGNISED_SIZE = 4096
_recognised_lock = threading.Lock()


def _recognised(content: str) -> Detection:
    """What the text of a licence file says, whatever its name (memoised by content)."""
    key = hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    with _recognised_lock:
        known = _RECOGNISED.get(key)
        if known is not None:
            _RECOGNISED.move_to_end(key)
            return known
    found = _recognise(content)
    with _recognised_lock:
        _RECOGNISED[key] = found
        if len(_RECOGNISED) > _RECOGNISED_SIZE:
            _RECOGNISED.popitem(last=False)
    return found


def _recognise(content: str) -> Detection:
    tagged = _spdx_tags(content)
    if tagged is not None:
        return tagged
    words = licence_text.tokens(content)
    if len(words) < licence_text.MIN_WORDS:
        found = _short_text(content)
    else:
        found = _match(
            frozenset(words),
            licence_text.title(content),
            words,
            licence_text.inner_title(content),
            head=_head(content),
            stated=licence_text.stated_versions(content),
        )
    if found.licence in {NONE, NOASSERTION} and len(words) <= MAX_NOTICE_WORDS:
        noticed = _notice(content, frozenset(words))
        if noticed is not None:
            found = noticed
    if found.licence == NOASSERTION and len(words) > MAX_NOTICE_WORDS:
        found = _translations(content) or found
    return found


#: A line that separates the parts of a file holding a licence in several languages.
_SEPARATOR = re.compile(r"^\s*(?:[-=_*~]\s*){5,}$", re.M)
#: Words a translation may hold beyond the recognised part's (a preamble, a dual-licensing note).
_TRANSLATION_RATIO = (0.5, 2.0)


def _translations(content: str) -> Detection | None:
    """One licence in several languages, one after another, cut by separator lines (the EUPL in
    English, German, French and Italian, as European projects ship it): the answer of the one
    part we recognise, when every other part is its translation, not another text.

    A part is taken for a translation when it is not recognised as anything, is about as long
    as the recognised part (half to twice its words), and names the licence with its version
    (``EUPL`` and ``1.2`` are written alike in every language). A short first part (a note
    before the texts, ``MAX_NOTICE_WORDS`` at most) is read as a preamble when it names the
    licence too."""
    parts = [p for p in _SEPARATOR.split(content) if len(licence_text.tokens(p)) >= 50]
    if len(parts) < 2:
        return None
    found = [(part, _recognise(part)) for part in parts]
    named = {d.licence for _, d in found if d.licence not in {NONE, NOASSERTION}}
    if len(named) != 1:
        return None
    (licence,) = named
    best = next(d for _, d in found if d.licence == licence)
    size = len(licence_text.tokens(next(p for p, d in found if d.licence == licence)))
    name, _, version = licence.partition("-")
    name_word = licence_text.fold(name).lower()
    version = version.removesuffix("-only").removesuffix("-or-later")
    for index, (part, detection) in enumerate(found):
        if detection.licence == licence:
            continue
        if detection.licence != NOASSERTION:
            return None
        words = licence_text.tokens(part)
        folded = licence_text.fold(part).lower()
        names_it = name_word in words and (not version or version in folded)
        low, high = _TRANSLATION_RATIO
        preamble = index == 0 and len(words) <= MAX_NOTICE_WORDS
        if not names_it or not (preamble or low * size <= len(words) <= high * size):
            return None
    return Detection(licence, best.confidence, f"{best.reference}, translated", path=None)


#: A notice followed by terms of its author's own is another licence (ScanCode's
#: ``gpl-2.0-koterov``: the GPL's notice, then "ADDITIONAL LICENSE TERMS").
_ADDED_TERMS = re.compile(
    r"\badditional\s+(?:licen[cs]e\s+)?(?:terms|conditions|restrictions)\b", re.IGNORECASE
)


def _notice(content: str, words: frozenset[str]) -> Detection | None:
    """A file that holds a licence's standard notice rather than its text; not a document of
    its own that mentions one (its title carries another version: "Samba Developer's
    Declaration, Version 1.0"), nor a notice with added terms."""
    if words & _RED_FLAGS or _ADDED_TERMS.search(content):
        return None
    named = from_notice(content)
    if named is None:
        return None
    own = licence_text.title(content)
    if own.versions and named != NOASSERTION:
        version = re.sub(r"(?:\.0)+$", "", _family(named).rpartition("-")[2])
        if version not in own.versions:
            return Detection(NOASSERTION, 0.0, "licence notice")
    if named == NOASSERTION:
        return Detection(NOASSERTION, 0.0, "licence notice")
    return Detection(named, 0.95, "licence notice")


def _reuse_name(filename: str | None) -> str | None:
    """The SPDX id a REUSE ``LICENSES/<id>.<ext>`` file name declares."""
    if not filename:
        return None
    path = PurePosixPath(filename)
    if len(path.parts) < 2 or path.parts[-2].lower() not in {"licenses", "licences"}:
        return None
    stem = path.name.rsplit(".", 1)[0] if "." in path.name else path.name
    licence = spdx_list().by_lower.get(stem.lower())
    return normalise(licence) if licence else None


def _version_family(licence: str) -> str:
    """The id our detector gives for the text of ``licence``: ``GPL-3.0-or-later`` → ``-only``."""
    if licence.endswith("-or-later"):
        return licence.removesuffix("-or-later") + "-only"
    return licence


def _rank(path: str) -> tuple[int, int, str]:
    """Order of likelihood: LICENSE, LICENCE, COPYING, LICENSE.md/.txt…, then LICENSES/."""
    pure = PurePosixPath(path)
    name = pure.name.lower()
    base = re.split(r"[-_.]", name, maxsplit=1)[0]
    extension = name[len(base) :]
    in_reuse_dir = len(pure.parts) > 1 and pure.parts[-2].lower() in {"licenses", "licences"}
    order = ("license", "licence", "copying", "unlicense", "copyright", "ofl")
    rank = order.index(base) if base in order else len(order)
    return (len(order) + 1 if in_reuse_dir else rank, len(extension), name)


def detect_files(files: Mapping[str, str | bytes | None]) -> Detection:
    """The licence of a repository from its licence files (and manifests, as a fallback).

    Args:
        files: path in the repository → content, for the licence files (LICENSE, COPYING,
            LICENSES/…) and, optionally, the package manifests of the root. A ``LICENSES/``
            file's content may be ``None``: its REUSE name says the licence.

    Returns:
        One Detection: the licence all recognised files agree on; a known combination
        (``MIT OR Apache-2.0``, COPYING.LESSER + COPYING → the LGPL); NOASSERTION when files
        disagree or none is recognised, in which case a manifest's declared licence is used
        (``source="manifest"``); NONE when there is no licence text at all. Root files come
        before REUSE's LICENSES/ folder, which only speaks when the root says nothing.
    """
    manifests = {p: c for p, c in files.items() if PurePosixPath(p).name in MANIFESTS}
    licence_files = sorted((p for p in files if p not in manifests), key=_rank)
    root = [p for p in licence_files if len(PurePosixPath(p).parts) == 1]
    reuse = [p for p in licence_files if p not in root]
    result = _combine((p, detect(files[p], p)) for p in root)
    if result.licence in {NONE, NOASSERTION} and reuse:
        from_reuse = _combine((p, detect(files[p], p)) for p in reuse)
        if from_reuse.licence != NONE:
            result = from_reuse
    if result.licence in {NONE, NOASSERTION}:
        for path in sorted(manifests, key=lambda p: MANIFESTS.index(PurePosixPath(p).name)):
            text = manifests[path]
            if text is None:
                continue
            declared = from_manifest(path, licence_text.decode(text))
            # A manifest saying "proprietary" does not overrule a licence file we cannot read.
            if (
                declared is None
                or declared == NOASSERTION
                or (declared == NONE and result.licence == NOASSERTION)
            ):
                continue
            return Detection(declared, 1.0, PurePosixPath(path).name, None, "manifest", path)
    return result


def _combine(results: Iterable[tuple[str, Detection]]) -> Detection:
    found = [(path, d) for path, d in results if d.licence != NONE]
    if not found:
        return Detection(NONE, 1.0)
    recognised = [(path, d) for path, d in found if d.licence != NOASSERTION]
    if not recognised:
        path, closest = max(found, key=lambda pair: pair[1].confidence)
        return Detection(NOASSERTION, closest.confidence, None, closest.closest, path=path)
    licences = {d.licence for _, d in recognised}
    path, first = recognised[0]
    if len(licences) == 1:
        return Detection(first.licence, first.confidence, first.reference, path=path)
    combined = _KNOWN_COMBINATIONS.get(frozenset(licences))
    if combined is not None:
        confidence = min(d.confidence for _, d in recognised)
        names = ", ".join(sorted({d.reference or "" for _, d in recognised}))
        return Detection(combined, confidence, names, path=path)
    log.debug("several licences in one repository: %s", sorted(licences))
    return Detection(NOASSERTION, first.confidence, None, path=path)
