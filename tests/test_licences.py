"""Licences: SPDX normalisation, detection from real licence files, manifests, the catalogue."""

from __future__ import annotations

import importlib
import time
from importlib import resources
from pathlib import Path

import pytest

from crawler.licences import (
    NOASSERTION,
    NONE,
    detect,
    detect_files,
    from_manifest,
    licence_catalogue,
    normalise,
)
from crawler.licences.detect import THRESHOLD, references
from crawler.licences.text import decode, normalise_text, word_set

FIXTURES = Path(__file__).parent / "fixtures" / "licences"
TEXTS = Path(__file__).parents[1] / "crawler" / "licences" / "data" / "texts"

#: The module itself: ``crawler.licences.detect`` as an attribute is the re-exported function.
detect_module = importlib.import_module("crawler.licences.detect")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- normalise ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # GitHub's licenseInfo.spdxId (licensee), deprecated bare GNU ids included
        ("MIT", "MIT"),
        ("Apache-2.0", "Apache-2.0"),
        ("GPL-3.0", "GPL-3.0-only"),
        ("GPL-2.0", "GPL-2.0-only"),
        ("LGPL-2.1", "LGPL-2.1-only"),
        ("LGPL-3.0", "LGPL-3.0-only"),
        ("AGPL-3.0", "AGPL-3.0-only"),
        ("GPL-3.0+", "GPL-3.0-or-later"),
        ("GPL-3.0-or-later", "GPL-3.0-or-later"),
        ("CECILL-2.1", "CECILL-2.1"),
        ("EUPL-1.2", "EUPL-1.2"),
        ("BSD-3-Clause", "BSD-3-Clause"),
        ("NOASSERTION", NOASSERTION),
        # GitLab's license.key (lower-case licensee keys)
        ("mit", "MIT"),
        ("apache-2.0", "Apache-2.0"),
        ("gpl-3.0", "GPL-3.0-only"),
        ("gpl-2.0", "GPL-2.0-only"),
        ("lgpl-2.1", "LGPL-2.1-only"),
        ("lgpl-3.0", "LGPL-3.0-only"),
        ("agpl-3.0", "AGPL-3.0-only"),
        ("bsd-2-clause", "BSD-2-Clause"),
        ("bsd-3-clause", "BSD-3-Clause"),
        ("mpl-2.0", "MPL-2.0"),
        ("unlicense", "Unlicense"),
        ("epl-2.0", "EPL-2.0"),
        ("cc0-1.0", "CC0-1.0"),
        ("cc-by-4.0", "CC-BY-4.0"),
        ("eupl-1.2", "EUPL-1.2"),
        ("isc", "ISC"),
        ("0bsd", "0BSD"),
        ("wtfpl", "WTFPL"),
        ("odbl-1.0", "ODbL-1.0"),
        ("cecill-b", "CECILL-B"),
        ("etalab-2.0", "etalab-2.0"),
        ("gfdl-1.3", "GFDL-1.3-only"),
        ("other", NOASSERTION),
        # unknown until checked
        (None, None),
        ("", None),
        ("   ", None),
        # anything else
        ("my-own-licence", NOASSERTION),
        ("GPL", NOASSERTION),
        ("CeCILL", NOASSERTION),
        ("NONE", NONE),
    ],
)
def test_normalise_forge_ids(given: str | None, expected: str | None) -> None:
    assert normalise(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
        ("(mit or apache-2.0)", "MIT OR Apache-2.0"),
        ("MIT/Apache-2.0", "MIT OR Apache-2.0"),
        (
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
        ),
        ("MIT AND (LGPL-2.1 OR BSD-3-Clause)", "MIT AND (LGPL-2.1-only OR BSD-3-Clause)"),
        ("MIT OR", NOASSERTION),
        ("MIT OR Foo", NOASSERTION),
        ("Apache License, Version 2.0", "Apache-2.0"),
        ("The MIT License", "MIT"),
        ("GNU General Public License v3 or later (GPLv3+)", "GPL-3.0-or-later"),
        ("GPLv2", "GPL-2.0-only"),
        ("Licence Ouverte 2.0", "etalab-2.0"),
        ("CeCILL v2.1", "CECILL-2.1"),
        ("CeCILL-C", "CECILL-C"),
        ("European Union Public Licence 1.2 (EUPL 1.2)", "EUPL-1.2"),
    ],
)
def test_normalise_expressions_and_names(given: str, expected: str) -> None:
    assert normalise(given) == expected


# --- text normalisation ---------------------------------------------------------------------


def test_text_normalisation_evens_out_what_copies_change() -> None:
    plain = "The licence is granted. See https://www.gnu.org/licenses/ for the organisation."
    variant = (
        "## THE *LICENSE* IS GRANTED.\r\n\r\n"
        "See [the FSF](http://www.gnu.org/licenses/) for the\r\n   organization."
    )
    assert word_set(plain) == word_set(variant) - {"fsf"}
    assert normalise_text("Réutilisation de l’« Information » : « Concédant »") == (
        "reutilisation de information concedant"
    )
    assert normalise_text("Copyright (c) 2021 DINUM\nAll rights reserved.\nPermission granted") == (
        "permission granted"
    )
    assert normalise_text("1. first\n  (a) second\n  * third\n5.3.4 CITATIONS") == (
        "first second third citations"
    )
    assert normalise_text("non-exclusive distri-\nbution") == "nonexclusive distribution"


def test_decode_reads_utf8_cp1252_and_latin1() -> None:
    assert decode("Concédant".encode()) == "Concédant"
    assert decode("\ufeffLicence".encode()) == "Licence"
    assert decode("Concédant « 2.0 »".encode("cp1252")) == "Concédant « 2.0 »"
    assert decode(b"Conc\xe9dant \x81") == "Conc\xe9dant \x81"  # not cp1252: Latin-1


# --- detect: one file -----------------------------------------------------------------------

#: Real licence files (see tests/fixtures/licences/README.md) and what they must give.
EXPECTED = {
    "LICENSE.mit-dinum": "MIT",
    "LICENSE.mit.md": "MIT",
    "LICENSE.bsd2": "BSD-2-Clause",
    "LICENSE.bsd3-ign": "BSD-3-Clause",
    "LICENSE.isc": "ISC",
    "LICENSE.apache2-debian": "Apache-2.0",
    "LICENSE.mpl2-debian": "MPL-2.0",
    "LICENSE.cc0-debian": "CC0-1.0",
    "COPYING.gpl2-debian": "GPL-2.0-only",
    "COPYING.gpl2-old-address": "GPL-2.0-only",
    "COPYING.gpl3-debian": "GPL-3.0-only",
    "LICENSE.gpl3.md": "GPL-3.0-only",
    "COPYING.lgpl21-debian": "LGPL-2.1-only",
    "COPYING.LESSER.lgpl3-debian": "LGPL-3.0-only",
    "LICENSE.agpl3": "AGPL-3.0-only",
    "LICENSE.cecill-b-fr-crlf": "CECILL-B",
    "LICENSE.cecill-c-fr-latin1": "CECILL-C",
    "LICENCE.cecill21-fr.md": "CECILL-2.1",
    "LICENSE.cecill-b-en": "CECILL-B",
    "LICENSE.cecill-b-bilingual": "CECILL-B",
    "LICENSE.etalab-en.md": "etalab-2.0",
    "LICENSE.etalab-fr-cp1252": "etalab-2.0",
    "LICENSE.spdx-tag": "EUPL-1.2",
    "LICENSE.notice-fr": "CECILL-B",
    # not a licence we can name
    "LICENSE.lorem": NOASSERTION,
    "LICENSE.gpl3-truncated": NOASSERTION,
    "LICENSE.gpl-summary.md": NOASSERTION,
    "LICENSE.mit-noncommercial": NOASSERTION,
    # no licence at all
    "LICENSE.copyright-only": NONE,
    "COPYRIGHT.rights-reserved": NONE,
    "LICENSE.empty": NONE,
}


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.name != "README.md"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_detect_real_files(name: str, expected: str) -> None:
    found = detect(fixture(name), name)
    assert found.licence == expected
    if expected not in {NOASSERTION, NONE}:
        assert found.confidence >= 0.9
        assert found.reference


def test_detect_reports_the_reference_and_confidence() -> None:
    found = detect(fixture("LICENSE.cecill-b-fr-crlf"))
    assert (found.licence, found.reference) == ("CECILL-B", "CECILL-B (fr)")
    assert found.confidence >= THRESHOLD
    english = detect(fixture("LICENSE.etalab-en.md"))
    assert english.reference == "etalab-2.0 (en)"
    unknown = detect(fixture("LICENSE.gpl3-truncated"))
    assert unknown.closest == "GPL-3.0-only (en)"
    assert unknown.confidence < THRESHOLD


def test_every_reference_text_finds_itself() -> None:
    for path in sorted(TEXTS.glob("*.txt")):
        licence = path.name.removesuffix(".txt").rsplit(".", 1)[0].split("+")[0]
        assert detect(path.read_text(encoding="utf-8")).licence == licence, path.name


def test_gpl2_and_gpl3_are_not_confused() -> None:
    assert detect(fixture("COPYING.gpl2-debian")).licence == "GPL-2.0-only"
    assert detect(fixture("COPYING.gpl3-debian")).licence == "GPL-3.0-only"
    # The GPL v3 beside its close relatives: the AGPL and the LGPL+GPL file
    agpl = (TEXTS / "AGPL-3.0-only.en.txt").read_text()
    assert detect(agpl).licence == "AGPL-3.0-only"
    both = (TEXTS / "LGPL-3.0-only+GPL-3.0.en.txt").read_text()
    assert detect(both).licence == "LGPL-3.0-only"


def test_near_relatives_are_told_apart_or_not_named() -> None:
    cecill_b = (TEXTS / "CECILL-B.fr.txt").read_text()
    cecill_c = (TEXTS / "CECILL-C.fr.txt").read_text()
    assert detect(cecill_b).licence == "CECILL-B"
    assert detect(cecill_c).licence == "CECILL-C"
    # CeCILL-C's distribution articles (5.3.2 to 5.3.4) grafted into a CeCILL-B text.
    start, end = "5.3.2 DISTRIBUTION DU LOGICIEL MODIFIE", "    Article 6"
    hybrid = (
        cecill_b[: cecill_b.index(start)]
        + cecill_c[cecill_c.index(start) : cecill_c.index(end)]
        + cecill_b[cecill_b.index(end) :]
    )
    assert detect(hybrid).licence == NOASSERTION
    # BSD-3 without its third clause is BSD-2; with a fourth (advertising) clause, BSD-4.
    bsd3 = fixture("LICENSE.bsd3-ign").decode()
    clause3 = bsd3[bsd3.index("3. Neither") : bsd3.index("THIS SOFTWARE")]
    assert detect(bsd3.replace(clause3, "")).licence == "BSD-2-Clause"
    for licence in ("CC-BY-4.0", "CC-BY-SA-4.0", "CC-BY-NC-4.0", "CC-BY-ND-4.0"):
        assert detect((TEXTS / f"{licence}.en.txt").read_text()).licence == licence


def test_never_a_wrong_id_when_a_text_is_damaged() -> None:
    """Texts cut down step by step give their own id or NOASSERTION, never another id."""
    for name, licence in [
        ("COPYING.gpl3-debian", "GPL-3.0-only"),
        ("COPYING.gpl2-debian", "GPL-2.0-only"),
        ("LICENSE.cecill-b-fr-crlf", "CECILL-B"),
        ("LICENSE.bsd3-ign", "BSD-3-Clause"),
        ("LICENSE.mit-dinum", "MIT"),
    ]:
        text = fixture(name).decode("utf-8")
        for fraction in (0.95, 0.9, 0.8, 0.6, 0.4):
            cut = text[: int(len(text) * fraction)]
            assert detect(cut).licence in {licence, NOASSERTION, NONE}, (name, fraction)


def test_detection_is_fast() -> None:
    references()  # loaded once per process
    names = sorted(EXPECTED)
    worst = 0.0
    for name in names:
        content = fixture(name)
        best = min(_timed(content) for _ in range(3))
        worst = max(worst, best)
    assert worst < 0.05, f"slowest detection took {worst * 1000:.1f} ms"


def test_huge_file_is_not_read() -> None:
    assert detect(fixture("COPYING.gpl3-debian") * 10).licence == NOASSERTION


def _timed(content: bytes) -> float:
    """The CPU time the detection takes: the wall clock would measure the other processes too
    when the suite runs in parallel (pytest-xdist) on a busy machine."""
    detect_module._RECOGNISED.clear()  # the matching itself, not the memo of a known text
    start = time.thread_time()
    detect(content)
    return time.thread_time() - start


def test_a_text_seen_before_is_not_matched_again() -> None:
    content = fixture("COPYING.gpl3-debian")
    first = detect(content, "COPYING")
    assert detect(content, "LICENSE") is first  # same text, any name: the memo answers
    # a REUSE name still speaks for its own file
    assert detect(content, "LICENSES/GPL-3.0-or-later.txt").licence == "GPL-3.0-or-later"


# --- detect_files: a repository's files -----------------------------------------------------


def test_files_lgpl_beside_gpl_is_the_lgpl() -> None:
    found = detect_files(
        {
            "COPYING": fixture("COPYING.gpl3-debian"),
            "COPYING.LESSER": fixture("COPYING.LESSER.lgpl3-debian"),
        }
    )
    assert found.licence == "LGPL-3.0-only"


def test_files_known_dual_licence() -> None:
    found = detect_files(
        {
            "LICENSE-MIT": fixture("LICENSE.mit-dinum"),
            "LICENSE-APACHE": fixture("LICENSE.apache2-debian"),
        }
    )
    assert found.licence == "MIT OR Apache-2.0"


def test_files_different_licences_are_noassertion() -> None:
    found = detect_files(
        {"LICENSE": fixture("LICENSE.mit-dinum"), "COPYING": fixture("COPYING.gpl3-debian")}
    )
    assert found.licence == NOASSERTION


def test_files_same_licence_in_two_languages() -> None:
    found = detect_files(
        {
            "LICENSE.fr": fixture("LICENSE.cecill-b-fr-crlf"),
            "LICENSE.en": fixture("LICENSE.cecill-b-en"),
        }
    )
    assert found.licence == "CECILL-B"


def test_files_order_of_likelihood_and_unreadable_extras() -> None:
    found = detect_files(
        {"COPYRIGHT": fixture("LICENSE.lorem"), "LICENSE.md": fixture("LICENSE.mit.md")}
    )
    assert (found.licence, found.path) == ("MIT", "LICENSE.md")


def test_files_reuse_folder() -> None:
    gpl = fixture("COPYING.gpl3-debian")
    assert detect_files({"LICENSES/GPL-3.0-or-later.txt": gpl}).licence == "GPL-3.0-or-later"
    several = {
        "LICENSES/EUPL-1.2.txt": (TEXTS / "EUPL-1.2.en.txt").read_bytes(),
        "LICENSES/CC0-1.0.txt": fixture("LICENSE.cc0-debian"),
    }
    assert detect_files(several).licence == NOASSERTION
    # The root licence file speaks for the project; LICENSES/ only when the root says nothing.
    several["LICENSE"] = (TEXTS / "EUPL-1.2.en.txt").read_bytes()
    assert detect_files(several).licence == "EUPL-1.2"


def test_files_none_then_manifest() -> None:
    assert detect_files({}).licence == NONE
    assert detect_files({"LICENSE": fixture("LICENSE.copyright-only")}).licence == NONE
    found = detect_files(
        {"LICENSE": fixture("LICENSE.copyright-only"), "package.json": b'{"license": "MIT"}'}
    )
    assert (found.licence, found.source, found.path) == ("MIT", "manifest", "package.json")
    found = detect_files(
        {
            "LICENSE": fixture("LICENSE.lorem"),
            "pyproject.toml": b'[project]\nlicense = "CECILL-B"\n',
        }
    )
    assert (found.licence, found.source) == ("CECILL-B", "manifest")
    found = detect_files({"LICENSE": fixture("LICENSE.mit-dinum"), "package.json": b"{}"})
    assert (found.licence, found.source) == ("MIT", "detected")


# --- manifests ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "text", "expected"),
    [
        ("package.json", '{"name": "x", "license": "MIT"}', "MIT"),
        ("package.json", '{"license": "(MIT OR Apache-2.0)"}', "MIT OR Apache-2.0"),
        ("package.json", '{"license": {"type": "GPL-3.0", "url": "…"}}', "GPL-3.0-only"),
        (
            "package.json",
            '{"licenses": [{"type": "MIT"}, {"type": "Apache-2.0"}]}',
            "MIT OR Apache-2.0",
        ),
        ("package.json", '{"license": "UNLICENSED"}', NONE),
        ("package.json", '{"license": "SEE LICENSE IN LICENCE.md"}', None),
        ("package.json", '{"name": "x"}', None),
        ("package.json", "{not json", None),
        ("composer.json", '{"license": "AGPL-3.0-or-later"}', "AGPL-3.0-or-later"),
        (
            "composer.json",
            '{"license": ["LGPL-2.1-only", "GPL-3.0-or-later"]}',
            "LGPL-2.1-only OR GPL-3.0-or-later",
        ),
        ("composer.json", '{"license": "proprietary"}', NONE),
        ("pyproject.toml", '[project]\nname = "x"\nlicense = "EUPL-1.2"\n', "EUPL-1.2"),
        ("pyproject.toml", '[project]\nlicense = {text = "CeCILL-B"}\n', "CECILL-B"),
        ("pyproject.toml", '[project]\nlicense = {file = "LICENSE"}\n', None),
        (
            "pyproject.toml",
            '[project]\nclassifiers = ["License :: OSI Approved :: '
            'GNU Affero General Public License v3 or later (AGPLv3+)"]\n',
            "AGPL-3.0-or-later",
        ),
        ("pyproject.toml", '[tool.poetry]\nlicense = "MIT"\n', "MIT"),
        ("pyproject.toml", "[project\n", None),
        (
            "setup.cfg",
            "[metadata]\nname = x\nlicense = Apache Software License 2.0\n",
            "Apache-2.0",
        ),
        (
            "setup.cfg",
            "[metadata]\nclassifiers =\n    License :: CeCILL-C Free Software License Agreement "
            "(CECILL-C)\n    Programming Language :: Python\n",
            "CECILL-C",
        ),
        (
            "setup.cfg",
            "[metadata]\nclassifiers =\n    License :: OSI Approved :: MIT License\n"
            "    License :: OSI Approved :: BSD License\n",
            NOASSERTION,
        ),
        (
            "Cargo.toml",
            '[package]\nname = "x"\nlicense = "MIT OR Apache-2.0"\n',
            "MIT OR Apache-2.0",
        ),
        ("Cargo.toml", '[package]\nlicense = "MIT/Apache-2.0"\n', "MIT OR Apache-2.0"),
        ("Cargo.toml", '[package]\nlicense-file = "LICENSE"\n', None),
        (
            "pom.xml",
            '<project xmlns="http://maven.apache.org/POM/4.0.0"><licenses><license>'
            "<name>Apache License, Version 2.0</name>"
            "<url>https://www.apache.org/licenses/LICENSE-2.0.txt</url>"
            "</license></licenses></project>",
            "Apache-2.0",
        ),
        (
            "pom.xml",
            "<project><licenses><license><url>http://www.cecill.info/licences/"
            "Licence_CeCILL-B_V1-fr.html</url></license></licenses></project>",
            "CECILL-B",
        ),
        (
            "pom.xml",
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><project/>',
            None,
        ),
        ("path/to/Cargo.toml", '[package]\nlicense = "MPL-2.0"\n', "MPL-2.0"),
        ("README.md", "# licence: MIT", None),
    ],
)
def test_from_manifest(filename: str, text: str, expected: str | None) -> None:
    assert from_manifest(filename, text) == expected


# --- catalogue ------------------------------------------------------------------------------


def test_licence_catalogue() -> None:
    rows = {row.spdx_id: row for row in licence_catalogue()}
    assert len(rows) == len(licence_catalogue()) > 500
    assert "GPL-3.0" not in rows  # deprecated, normalised away
    mit = rows["MIT"]
    assert (mit.is_osi_approved, mit.is_fsf_libre, mit.is_free, mit.family) == (
        True,
        True,
        True,
        "permissive",
    )
    assert rows["CECILL-B"].family == "permissive"
    assert rows["CECILL-C"].family == "weak copyleft"
    assert rows["CECILL-2.1"].family == "strong copyleft"
    assert rows["GPL-3.0-or-later"].family == "strong copyleft"
    assert rows["LGPL-2.1-only"].family == "weak copyleft"
    assert rows["CC0-1.0"].family == "public domain"
    assert rows["ODbL-1.0"].family == "open data"
    etalab = rows["etalab-2.0"]
    assert (etalab.is_osi_approved, etalab.is_fsf_libre, etalab.is_free) == (False, False, True)
    assert not rows["CC-BY-NC-4.0"].is_free
    assert rows["CC-BY-NC-4.0"].family == "other"
    for required in (
        "CECILL-2.1", "CECILL-B", "CECILL-C", "etalab-2.0", "EUPL-1.2", "Apache-2.0",
        "GPL-2.0-only", "GPL-3.0-only", "LGPL-2.1-only", "LGPL-3.0-only", "AGPL-3.0-only",
        "MPL-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "CC0-1.0", "Unlicense", "EPL-2.0",
        "CC-BY-4.0", "ODbL-1.0",
    ):  # fmt: skip
        assert rows[required].is_free, required


def test_reuse_folder_listed_by_name_only():
    # A crawler lists LICENSES/ without reading each file: REUSE names files by SPDX id.
    assert detect_files({"LICENSES/EUPL-1.2.txt": None}).licence == "EUPL-1.2"
    assert detect_files({"LICENSES/LicenseRef-ministere.txt": None}).licence == "NOASSERTION"
    several = {"LICENSES/EUPL-1.2.txt": None, "LICENSES/CC-BY-4.0.txt": None}
    assert detect_files(several).licence == "NOASSERTION"


def test_manifest_speaks_only_when_files_say_nothing():
    files = {"LICENSES/LicenseRef-x.txt": None, "package.json": '{"license": "ISC"}'}
    found = detect_files(files)
    assert (found.licence, found.source, found.path) == ("ISC", "manifest", "package.json")
    reuse = {"LICENSES/MIT.txt": None, "package.json": '{"license": "ISC"}'}
    assert detect_files(reuse).licence == "MIT"


def test_a_hostile_readme_gives_nothing_and_costs_little() -> None:
    """A README is crawled text like any other: past the size cap, binary, or built to make
    the section finder work (thousands of licence headings, a list nested thousands deep), it
    gives no licence, raises nothing and stays cheap."""
    from crawler.licences.readme import MAX_CHARS, licence_from_readme

    mit = b"## License\n\nThis project is licensed under the MIT License.\n"
    assert licence_from_readme(mit) is not None  # what the cases below must not give
    oversized = mit + b"x" * MAX_CHARS
    binary = bytes(range(256)) * 4096
    headings = b"## Licence\n" * 40_000
    nested = b"## Licence\n" + b"".join(b"  " * depth + b"- item\n" for depth in range(3_000))
    for hostile in (oversized, binary, headings, nested):
        start = time.thread_time()
        assert licence_from_readme(hostile) is None
        assert time.thread_time() - start < 2.0


def test_addresses_are_dropped_line_by_line_as_from_the_whole_text() -> None:
    """Web and e-mail addresses are searched only in the lines that can hold one: the words
    must be those of the pattern applied to the whole text, on every reference text and on
    addresses at the start, middle and end of lines, in angle brackets, on adjacent lines."""
    from crawler.licences import text as licence_text

    crafted = (
        "See <https://example.org/licence> and www.example.org/x\n"
        "https://a.example/b\nmail: <jane.doe+x@example.fr>, bob@example.com\n"
        "ftp://files.example/licence.txt)\n\nwww.gnu.org is not\nan@address.here.\n"
    )
    texts = [crafted, *(ref.name for ref in references())]
    folder = resources.files("crawler.licences").joinpath("data/texts")
    texts += [e.read_text(encoding="utf-8") for e in folder.iterdir() if e.name.endswith(".txt")]
    for text in texts:
        whole = licence_text._EMAIL.sub(" ", licence_text._URL.sub(" ", text))
        lines = licence_text._sub_lines(licence_text._URL, text, ("://", "www."))
        assert licence_text._sub_lines(licence_text._EMAIL, lines, ("@",)) == whole


def test_the_words_of_a_text_are_a_new_list_at_every_call() -> None:
    """Normalised words are remembered for the texts seen last; a caller that changes the list
    it got changes nothing for the next caller."""
    from crawler.licences import text as licence_text

    text = "Permission is hereby granted, free of charge, to any person obtaining a copy"
    first = licence_text.tokens(text)
    first.append("tampered")
    assert licence_text.tokens(text) == first[:-1]


def test_a_hostile_licence_file_costs_little() -> None:
    """A licence file is crawled text: built to make the normalisation's patterns backtrack
    (a run of name characters before an ``@``, brackets, link openings with no ``)``), up to
    the size the detector reads, it gives no licence and stays cheap. Each of these took from
    33 s to two minutes of CPU before the patterns were made linear."""
    from crawler.licences.detect import MAX_CHARS

    size = MAX_CHARS - 10
    hostile = {
        "e-mail run": "a" * size + "@x",
        "brackets": "[" * size,
        "link openings": "[a](" * (size // 4),
        "images": "![a](" * (size // 5),
    }
    for name, text in hostile.items():
        start = time.thread_time()
        assert detect(text).licence in {NOASSERTION, NONE}, name
        assert time.thread_time() - start < 2.0, name
