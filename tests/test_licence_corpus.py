"""Licence detection on a corpus of real licence files (issue 13): modified licences never get
the original's id, ordinary variations still match, standard notices name their licence,
README licence sections, licence file names, and one SPDX normalisation for the SILL."""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict
from pathlib import Path

import pytest

from crawler.licences import NOASSERTION, detect, detect_files, normalise
from crawler.licences import text as licence_text
from crawler.licences.detect import THRESHOLD, references
from crawler.licences.notices import from_notice
from crawler.licences.readme import licence_from_readme, licence_section
from crawler.rootfiles import classify
from sill.licences import spdx_licence

#: The module (``crawler.licences.detect`` is also the function's name in the package).
detect_module = importlib.import_module("crawler.licences.detect")
CORPUS = Path(__file__).parent / "fixtures" / "licence_corpus"
TEXTS = Path(__file__).parents[1] / "crawler" / "licences" / "data" / "texts"

#: What a careful human names each corpus file (its expected.json, which the
#: bench reads too).
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def corpus(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def similarity(text: str, licence: str) -> float:
    words = licence_text.word_set(text)
    ref = next(r for r in references() if r.name == f"{licence} (en)")
    return 2 * len(words & ref.words) / (len(words) + len(ref.words))


def test_every_corpus_file_has_an_expectation() -> None:
    on_disk = {p.name for p in CORPUS.iterdir() if p.name not in ("SOURCES.md", "expected.json")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_corpus_file(name: str, expected: str) -> None:
    assert detect(corpus(name), "LICENSE").licence == expected


# --- modified licences ----------------------------------------------------------------------


def test_a_modified_licence_98_percent_similar_is_refused() -> None:
    for name, original in [
        ("Modified-Apache-2.0.1.txt", "Apache-2.0"),
        ("Foundation-Center-Public-License.txt", "MPL-2.0"),
    ]:
        text = corpus(name)
        assert similarity(text, original) >= 0.98 > THRESHOLD
        found = detect(text)
        assert found.licence == NOASSERTION
        assert found.closest == f"{original} (en)"


def test_a_title_version_or_modifier_is_enough_to_refuse() -> None:
    apache = (TEXTS / "Apache-2.0.en.txt").read_text()
    assert detect(apache).licence == "Apache-2.0"
    retitled = apache.replace("Version 2.0, January 2004", "Version 2.1, January 2004", 1)
    assert detect(retitled).licence == NOASSERTION
    modified = apache.replace("Apache License", "Modified Apache License", 1)
    assert detect(modified).licence == NOASSERTION
    mpl = (TEXTS / "MPL-2.0.en.txt").read_text()
    assert detect(mpl.replace("Mozilla", "Acme")).licence == NOASSERTION
    # only the title renamed ("THOR Public Licence" is the MPL 1.1 under another name)
    retitled = mpl.replace("Mozilla Public License Version 2.0", "THOR Public Licence", 1)
    assert "Mozilla" in retitled and detect(retitled).licence == NOASSERTION


# A licence's text under another version of it than the one it states: the version of the
# title, of the line under it, or of the last line (CeCILL states its own there only).
OTHER_VERSIONS = [
    ("GPL-2.0-only", "Version 2, June 1991", "Version 3, June 1991"),
    ("GPL-3.0-only", "Version 3, 29 June 2007", "Version 2, 29 June 2007"),
    ("LGPL-2.1-only", "Version 2.1, February 1999", "Version 2, February 1999"),
    ("LGPL-3.0-only", "Version 3, 29 June 2007", "Version 2.1, 29 June 2007"),
    ("AGPL-1.0-only", "Version 1, March 2002", "Version 3, March 2002"),  # a long line
    ("AGPL-3.0-only", "Version 3, 19 November 2007", "Version 1, 19 November 2007"),
    ("MPL-1.1", "Mozilla Public License Version 1.1", "Mozilla Public License Version 1.0"),
    ("MPL-2.0", "Mozilla Public License Version 2.0", "Mozilla Public License Version 1.1"),
    ("EUPL-1.1", "European Union Public Licence V. 1.1", "European Union Public Licence V. 1.2"),
    ("EUPL-1.2", "EUROPEAN UNION PUBLIC LICENCE v. 1.2", "EUROPEAN UNION PUBLIC LICENCE v. 1.1"),
    ("Apache-1.1", "License, Version 1.1", "License, Version 1.0"),
    ("Apache-2.0", "Version 2.0, January 2004", "Version 1.1, January 2004"),
    ("CC-BY-4.0", "Attribution 4.0 International", "Attribution 3.0 International"),
    ("CC-BY-SA-3.0", "Attribution-ShareAlike 3.0 Unported", "Attribution-ShareAlike 2.5 Unported"),
    ("CECILL-2.1", "Version 2.1 dated 2013-06-21", "Version 2.0 dated 2013-06-21"),
    ("CECILL-2.0", "Version 2.0 dated 2006-09-05.", "Version 2.1 dated 2006-09-05."),
    ("CECILL-B", "Version 1.0 dated 2006-09-05.", "Version 1.1 dated 2006-09-05."),
    ("CECILL-C", "Version 1.0 dated 2006-09-05.", "Version 2.0 dated 2006-09-05."),
    ("CECILL-1.1", "Version 1.1 of 10/26/2004", "Version 1 of 06/21/2004"),
]


@pytest.mark.parametrize(("licence", "old", "new"), OTHER_VERSIONS)
def test_a_text_stating_another_version_does_not_get_the_references_id(
    licence: str, old: str, new: str
) -> None:
    text = reference_text(licence, old)
    # neither the reference's id nor the id of the version it states: its text is not that one
    assert detect(text.replace(old, new, 1)).licence == NOASSERTION


def test_an_english_cecill_1_0_is_cecill_1_0_and_never_1_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ScanCode's ``cecill-1.0-en``: CeCILL 1.0 in English, an official text (both CeCILL 1.0
    texts say "Le Contrat est rédigé en langue française et en langue anglaise"; French
    prevails). It states "Version 1 of 06/21/2004" on its last line only."""
    text = corpus("cecill-1.0-en.scancode.txt")
    assert licence_text.stated_versions(text) == {"1"}
    assert detect(text).licence == "CECILL-1.0"
    # Without our English 1.0 reference, its closest text is the English 1.1's, whose version
    # it does not state: NOASSERTION, not CECILL-1.1 (the answer before this reference).
    kept = tuple(r for r in references() if r.licence != "CECILL-1.0")
    monkeypatch.setattr(detect_module, "references", lambda: kept)
    monkeypatch.setattr(detect_module, "_RECOGNISED", OrderedDict())
    assert similarity(text, "CECILL-1.1") >= THRESHOLD
    found = detect(text)
    assert found.licence == NOASSERTION and found.closest == "CECILL-1.1 (en)"


def test_an_added_condition_in_a_short_licence_is_refused() -> None:
    """A few added words that read as a condition change a short licence, though its word set
    hardly moves: BSD-3 "without modification", MIT with a proprietary clause."""
    bsd = corpus("bsd-new-nomod.scancode.txt")
    assert similarity(bsd, "BSD-3-Clause") > THRESHOLD
    assert detect(bsd).licence == NOASSERTION
    assert detect(bsd.replace(", without modification.", ".")).licence == "BSD-3-Clause"
    assert detect(corpus("mit-proprietary.scancode.txt")).licence == NOASSERTION
    # a sentence that only points elsewhere is not a condition
    assert detect(corpus("MIT.readme-pointer.txt")).licence == "MIT"


@pytest.mark.parametrize(
    ("name", "original", "why"),
    [
        ("khronos.scancode.txt", "MIT", "words of the text replaced"),  # Software → Materials
        ("bsd-source-code.scancode.txt", "BSD-3-Clause", "a clause removed"),  # no binary clause
        ("bsd-unchanged.scancode.txt", "BSD-2-Clause", "words added inside"),  # "…unchanged"
        ("xfree86-1.0.scancode.txt", "X11", "a clause removed"),  # no trademark sentence
    ],
)
def test_scancode_near_variants_of_short_licences_are_not_the_original(
    name: str, original: str, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    text = corpus(name)
    assert similarity(text, original) >= THRESHOLD  # close enough to be taken for it
    with caplog.at_level("DEBUG", logger="crawler.licences.detect"):
        # one more newline: a text not yet in the memo of texts recognised, so it is logged
        found = detect(text + "\n")
    assert found.licence == NOASSERTION and found.closest == f"{original} (en)"
    assert why in caplog.text


def test_an_mpl_derivative_whose_title_follows_a_sentence_is_not_the_mpl() -> None:
    text = corpus("nosl-1.0.scancode.txt")  # "The Netizen Open Source License (NOSL) is…"
    assert licence_text.title(text).text == ""  # the first line is a sentence
    assert licence_text.inner_title(text).text == "NETIZEN OPEN SOURCE LICENSE Version 1.0"
    assert similarity(text, "MPL-1.1") >= THRESHOLD
    assert detect(text).licence == NOASSERTION


def test_a_notice_followed_by_terms_of_its_own_is_not_the_gpl() -> None:
    text = corpus("gpl-2.0-koterov.scancode.txt")
    assert from_notice(text) == "GPL-2.0-or-later"  # the notice alone would say so
    assert detect(text).licence == NOASSERTION


def test_a_header_of_names_missing_is_still_ncsa() -> None:
    # ScanCode's NCSA text has no "Developed by: <names>" block: a header, not a clause
    assert detect(corpus("uoi-ncsa.scancode.txt")).licence == "NCSA"


def test_a_two_word_rewording_of_a_key_sentence_is_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """ScanCode's ``mit-readme``: MIT-0 whose grant covers "the associated README documentation
    file" instead of "associated documentation files", two words in 139, is not MIT-0."""
    text = corpus("mit-readme.scancode.txt")
    assert similarity(text, "MIT-0") >= THRESHOLD  # 0.97: no title, two words
    with caplog.at_level("DEBUG", logger="crawler.licences.detect"):
        found = detect(text + "\n")  # not in the memo of texts recognised: logged
    assert found.licence == NOASSERTION and found.closest == "MIT-0 (en)"
    assert "a key sentence reworded: readme file" in caplog.text
    # the same two words in the MIT licence's grant
    mit = (TEXTS / "MIT.en.txt").read_text(encoding="utf-8")
    readme = mit.replace("associated documentation files", "associated README documentation file")
    assert readme != mit and detect(readme).licence == NOASSERTION


# The grant, the list of what may be done, the condition: a word replaced by another, a
# permission dropped, or two words changed, in a short licence.
KEY_REWORDINGS = [
    ("MIT", "copy, modify, merge, publish", "copy, publish"),
    ("MIT", "to permit persons to whom", "to permit persons for whom"),
    ("MIT", "sublicense, and/or sell", "sublicense, but not sell"),  # name-like words replaced
    ("MIT", "included in all copies or substantial", "included in all binary copies or any"),
    ("X11", "to deal in the Software", "to deal with the Software"),
    ("ISC", "for any purpose with or without fee", "for any purpose without fee"),
    ("ISC", "for any purpose with", "for any lawful internal purpose with"),
    ("0BSD", "copy, modify, and/or distribute", "copy, and/or distribute"),
    ("BSD-2-Clause", "with or without modification, are", "without modification, are"),
    ("BSD-3-Clause", "in source and binary forms, with", "in source forms, with"),
    (
        "BSD-3-Clause",
        "must retain the above copyright notice",
        "must keep the above copyright notice",
    ),
    ("Zlib", "including commercial applications", "excluding commercial applications"),
]
# What copies do to a short licence and which leaves it the same licence.
KEY_VARIATIONS = [
    ("ISC", "modify, and/or distribute", "modify, and distribute"),  # OpenBSD's ISC
    ("MIT", "documentation files", "documentation file"),  # one plural
    ("MIT", "sublicense,", "sub license,"),
    ("MIT", "a copy of this software", "a copy of this font software"),  # one word added
    ("ISC", "OTHER TORTIOUS ACTION", "OTHER TORTUOUS ACTION"),  # a typo (ScanCode's x11-acer)
    ("BSD-2-Clause", "disclaimer.", "disclaimers."),
    (
        "BSD-3-Clause",
        "the copyright holder nor",
        "the Institut national de l'information\ngéographique et forestière nor",
    ),
]


def reference_text(licence: str, old: str) -> str:
    """The English reference text of ``licence``, which holds ``old`` and is found as itself."""
    text = (TEXTS / f"{licence}.en.txt").read_text(encoding="utf-8")
    assert old in text and detect(text).licence == licence
    return text


@pytest.mark.parametrize(("licence", "old", "new"), KEY_REWORDINGS)
def test_a_rewording_of_a_short_licences_key_sentence_is_refused(
    licence: str, old: str, new: str
) -> None:
    text = reference_text(licence, old)
    reworded = text.replace(old, new)
    assert similarity(reworded, licence) >= THRESHOLD  # the word set hardly moves
    assert detect(reworded).licence == NOASSERTION


@pytest.mark.parametrize(("licence", "old", "new"), KEY_VARIATIONS)
def test_ordinary_variations_of_a_short_licence_still_match(
    licence: str, old: str, new: str
) -> None:
    text = (TEXTS / f"{licence}.en.txt").read_text(encoding="utf-8")
    assert old in text
    assert detect(text.replace(old, new)).licence == licence


def test_eupl_in_four_languages_after_a_dual_licensing_note() -> None:
    text = corpus("EUPL-1.2.multilingual.md")
    found = detect(text, "LICENSE-EUPL.md")
    assert found.licence == "EUPL-1.2" and found.reference == "EUPL-1.2 (en), translated"
    # the English part alone is a quarter of the words: the file as a whole matches nothing
    assert similarity(text, "EUPL-1.2") < THRESHOLD


def test_a_licence_followed_by_another_text_is_not_taken_for_translations() -> None:
    parts = corpus("EUPL-1.2.multilingual.md").split("-" * 87)
    english = parts[1]
    apache = (TEXTS / "Apache-2.0.en.txt").read_text(encoding="utf-8")
    # as long as a translation, but naming neither the EUPL nor its version
    unnamed = parts[2].replace("EUPL", "Lizenz").replace("1.2", "")
    separator = "\n" + "-" * 40 + "\n"
    assert detect(english + separator + parts[2]).licence == "EUPL-1.2"  # a real translation
    assert detect(english + separator + apache).licence == NOASSERTION  # two licences
    assert detect(english + separator + unnamed).licence == NOASSERTION


def test_pixar_is_pixar_not_apache() -> None:
    assert detect(corpus("Pixar.spdx.txt")).licence == "Pixar"
    assert similarity(corpus("Pixar.spdx.txt"), "Apache-2.0") > 0.9


# --- ordinary variations --------------------------------------------------------------------


def test_choosealicense_list_is_in_the_reference_set() -> None:
    choosealicense = {
        "0BSD", "AFL-3.0", "AGPL-3.0-only", "Apache-2.0", "Artistic-2.0", "BlueOak-1.0.0",
        "BSD-2-Clause", "BSD-2-Clause-Patent", "BSD-3-Clause", "BSD-3-Clause-Clear",
        "BSD-4-Clause", "BSL-1.0", "CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "CECILL-2.1",
        "CERN-OHL-P-2.0", "CERN-OHL-S-2.0", "CERN-OHL-W-2.0", "ECL-2.0", "EPL-1.0", "EPL-2.0",
        "EUPL-1.1", "EUPL-1.2", "GFDL-1.3-only", "GPL-2.0-only", "GPL-3.0-only", "ISC",
        "LGPL-2.1-only", "LGPL-3.0-only", "LPPL-1.3c", "MIT", "MIT-0", "MPL-2.0", "MS-PL",
        "MS-RL", "MulanPSL-2.0", "NCSA", "ODbL-1.0", "OFL-1.1", "OSL-3.0", "PostgreSQL",
        "UPL-1.0", "Unlicense", "Vim", "WTFPL", "Zlib",
    }  # fmt: skip
    assert choosealicense <= {r.licence for r in references()}
    for licence in sorted(choosealicense):
        path = next(TEXTS.glob(f"{licence}.*.txt"))
        assert detect(path.read_text()).licence == licence, licence


def test_copyright_over_several_lines_before_bsd3() -> None:
    text = corpus("BSD-3-Clause.multi-holder.txt")
    assert "Centre national de la recherche scientifique" in text
    assert detect(text).licence == "BSD-3-Clause"


def test_markdown_licence_like_etalab_lo_md() -> None:
    text = corpus("etalab-2.0.LO.md")
    assert "# LICENCE OUVERTE" in text and "**" in text and "](" in text and "\n1. " in text
    assert detect(text, "LO.md").licence == "etalab-2.0"


# --- standard notices -----------------------------------------------------------------------


def test_notice_naming_two_licences_is_a_choice_only_when_it_says_so() -> None:
    apache = corpus("NOTICE.apache-2.0.txt")
    mpl = "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0."
    both = f"{apache}\n{mpl}\n"
    assert detect(both).licence == NOASSERTION
    chosen = f"This project is dual-licensed; at your option:\n\n{apache}\nor\n\n{mpl}\n"
    assert detect(chosen).licence == "Apache-2.0 OR MPL-2.0"


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        (
            "This library is free software; you can redistribute it and/or modify it under the "
            "terms of the GNU Lesser General Public License as published by the Free Software "
            "Foundation; either version 2.1 of the License, or (at your option) any later "
            "version.",
            "LGPL-2.1-or-later",
        ),
        (
            "under the terms of the GNU Affero General Public License as published by the Free "
            "Software Foundation, either version 3 of the License, or (at your option) any "
            "later version.",
            "AGPL-3.0-or-later",
        ),
        (
            "you can redistribute it and/or modify it under the terms of the GNU General Public "
            "License version 2 as published by the Free Software Foundation.",
            None,  # the version before "as published": not the standard wording, not claimed
        ),
        ("Ce logiciel est régi par la licence CeCILL-B soumise au droit français.", "CECILL-B"),
        (
            "under the terms of the GNU General Public License as published by the Free "
            "Software Foundation; either version 2 of the License or (at your option) version 3 "
            "or any later version accepted by the membership of KDE e.V.",
            NOASSERTION,  # KDE's own "or later": not GPL-2.0-or-later
        ),
        (
            'Licensed under the Apache License, Version 2.0 (the "License"); you may not use '
            "this file except in compliance with the License, with the following exception: "
            "no commercial use.",
            NOASSERTION,
        ),
    ],
)
def test_notices(notice: str, expected: str | None) -> None:
    assert from_notice(notice) == expected


# --- README licence sections ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("readme", "expected"),
    [
        (
            "# Projet\n\nUn outil.\n\n## Licence\n\nLe code source est publié sous licence "
            "EUPL 1.2.\n\n## Contact\n\nÉcrire à l'équipe (dépendances sous licence MIT).\n",
            "EUPL-1.2",
        ),
        (
            "Tool\n====\n\nLicense\n-------\n\nThis project is licensed under the MIT License - "
            "see the [LICENSE.md](LICENSE.md) file for details.\n",
            "MIT",
        ),
        (
            "# Tool\n\n## License\n\n[![License: AGPL v3](https://img.shields.io/badge/License-"
            "AGPL_v3-blue.svg)](https://www.gnu.org/licenses/agpl-3.0)\n",
            "AGPL-3.0-only",
        ),
        ("# T\n\n## License\n\nReleased under the GNU GPL v3 or later.\n", "GPL-3.0-or-later"),
        ("# T\n\n## Licence\n\nLicence Ouverte 2.0\n", "etalab-2.0"),
        (
            "# T\n\n## License\n\nDual-licensed under MIT or Apache-2.0, at your option.\n",
            "MIT OR Apache-2.0",
        ),
        # two licences without a choice, a modified licence, a pointer, no section: nothing
        ("# T\n\n## License\n\nCode under MIT, documentation under CC-BY-4.0.\n", None),
        (
            "# T\n\n## License\n\nReleased under the Apache License 2.0 with Commons Clause.\n",
            None,
        ),
        ("# T\n\n## License\n\nSee the LICENSE file.\n", None),
        ("# T\n\n## Usage\n\nThis uses a library under the MIT license.\n", None),
        ("# T\n\n## Licence\n\nPubliée sous licence EUPL.\n", None),
    ],
)
def test_licence_from_readme(readme: str, expected: str | None) -> None:
    found = licence_from_readme(readme)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.licence == expected and found.source == "readme"


def test_readme_section_holding_a_whole_licence_text_or_a_notice() -> None:
    mit = corpus("MIT.readme-pointer.txt")
    readme = f"# Outil\n\nDescription.\n\n## Licence\n\n{mit}\n## Remerciements\n\nMerci.\n"
    found = licence_from_readme(readme)
    assert found is not None and (found.licence, found.source) == ("MIT", "readme")
    gpl = corpus("NOTICE.gpl-3.0-or-later.txt")
    found = licence_from_readme(f"Outil\n=====\n\nLicense\n-------\n\n{gpl}")
    assert found is not None and found.licence == "GPL-3.0-or-later"


def test_readme_section_ends_at_the_next_heading_of_its_level() -> None:
    readme = "# A\n\n## License\n\nMIT\n\n### Third parties\n\nzlib\n\n## Next\n\nBSD\n"
    section = licence_section(readme)
    assert section is not None and "zlib" in section and "BSD" not in section


# --- file names -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "LICENSE_1_0.txt",
        "LICENSE-MIT",
        "COPYING.LESSER",
        "UNLICENSE",
        "LICENCE.md",
        "LICENSE.rst",
        "OFL.txt",
        "MIT-LICENSE.txt",
        "COPYRIGHT",
    ],
)
def test_licensee_licence_file_names(name: str) -> None:
    files = classify([(name, "blob"), ("README.md", "blob")])
    assert files.has_licence_file and files.licence_files == (name,)


def test_licence_files_read_order() -> None:
    names = ["OFL.txt", "LICENSE-MIT", "COPYING", "LICENSE_1_0.txt", "LICENSE.md", "LICENSE"]
    files = classify([(n, "blob") for n in names])
    assert files.licence_files[:3] == ("LICENSE", "LICENSE.md", "LICENSE-MIT")
    assert files.licence_files[-1] == "OFL.txt"


def test_boost_licence_file_is_detected() -> None:
    found = detect_files({"LICENSE_1_0.txt": (TEXTS / "BSL-1.0.en.txt").read_text()})
    assert (found.licence, found.path) == ("BSL-1.0", "LICENSE_1_0.txt")


# --- one SPDX normalisation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Apache 2.0", "Apache-2.0"),
        ("CeCILL v2.1", "CECILL-2.1"),
        ("EUPL 1.2", "EUPL-1.2"),
        ("Licence Ouverte 2.0", "etalab-2.0"),
        ("GPL-3.0", "GPL-3.0-only"),
    ],
)
def test_sill_and_crawler_agree(raw: str, expected: str) -> None:
    assert normalise(raw) == expected
    assert spdx_licence(raw) == expected


def test_sill_keeps_its_stricter_rules() -> None:
    assert normalise("MIT/Apache-2.0") == "MIT OR Apache-2.0"
    assert spdx_licence("MIT/Apache-2.0") is None  # a list, not an SPDX expression
    assert spdx_licence("MPL 2.0 et EPL 1.0") is None
    assert spdx_licence("GPL") is None and normalise("GPL") == NOASSERTION
