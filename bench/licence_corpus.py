"""Licence detection on a corpus: every reference text, the variants repositories make of them
(a copyright block over several lines, Markdown, CRLF and Windows-1252, rewrapping, a sentence
pointing to the README), modified copies that must not get the original's id (a "Modified"
title, another version in the title or in a version line such as CeCILL's last one), and the
real files of tests/fixtures/licence_corpus. Prints and writes into bench/README.md a table of
right / wrong / NOASSERTION per class, and files per second.

Run: ``.venv/bin/python bench/licence_corpus.py`` (a few seconds; ``--no-write`` to only print).
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import update_readme
from crawler.licences import NOASSERTION, detect
from crawler.licences.detect import _RECOGNISED, references
from crawler.licences.text import stated_versions, title

ROOT = Path(__file__).resolve().parent.parent
TEXTS = ROOT / "crawler" / "licences" / "data" / "texts"
CORPUS = ROOT / "tests" / "fixtures" / "licence_corpus"
#: What a careful human names each corpus file (its expected.json, which the
#: test reads too).
CORPUS_EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
#: A line that states a version: "Version 2, June 1991", "Version 1.1 of 10/26/2004".
VERSION_LINE = re.compile(r"^\s*(?:- )?Version\s+\d", re.I)
HOLDERS = (
    "Copyright (c) 2018-2024, Institut national de l'information géographique et forestière,\n"
    "                         Météo-France,\n"
    "                         Centre national d'études spatiales (CNES)\n\n"
)


def _rewrap(text: str) -> str:
    head, _, body = text.partition("\n\n")
    paragraphs = [" ".join(p.split()) for p in body.split("\n\n")]
    return head + "\n\n" + "\n\n".join(textwrap.fill(p, 60) for p in paragraphs if p)


def cases() -> Iterator[tuple[str, str, str | bytes, str]]:
    """(class, name, content, expected id)."""
    for path in sorted(TEXTS.glob("*.txt")):
        licence = re.sub(r"\.(en|fr)$", "", path.name.removesuffix(".txt")).split("+")[0]
        text = path.read_text(encoding="utf-8")
        yield "reference text", path.name, text, licence
        yield "copyright over several lines", path.name, HOLDERS + text, licence
        yield "rewrapped to 60 columns", path.name, _rewrap(text), licence
        yield (
            "CRLF, Windows-1252",
            path.name,
            text.replace("\n", "\r\n").encode("cp1252", errors="replace")
            if path.name.endswith(".fr.txt")
            else text.replace("\n", "\r\n"),
            licence,
        )
        yield "Markdown title", path.name, "# " + text.lstrip(), licence
        found = title(text)
        if found.words and not {"modified"} & found.words:
            lines = text.split("\n")
            first = found.lines[0]
            modified = lines.copy()
            modified[first] = "Modified " + lines[first].strip()
            yield 'modified: "Modified" title', path.name, "\n".join(modified), NOASSERTION
        if stated_versions(text):
            bumped = text
            lines = text.split("\n")
            versioned = [lines[i] for i in found.lines] + [
                line for line in lines if VERSION_LINE.match(line)
            ]
            for line in versioned:
                new = re.sub(r"(?<![A-Za-z0-9])(\d+\.\d+(?:\.\d+)*)", r"\1.7", line, count=1)
                if new == line:
                    new = re.sub(r"(?i)\b(version\s*|v\.?\s*)(\d+)\b", r"\g<1>\2.7", line, count=1)
                bumped = bumped.replace(line, new, 1)
            yield "modified: another version stated", path.name, bumped, NOASSERTION
    for name, expected in sorted(CORPUS_EXPECTED.items()):
        yield "real files (licence_corpus)", name, (CORPUS / name).read_bytes(), expected


def main() -> None:
    references()
    tally: dict[str, Counter[str]] = {}
    wrong: list[str] = []
    contents: list[str | bytes] = []
    for kind, name, content, expected in cases():
        contents.append(content)
        found = detect(content, "LICENSE").licence
        outcome = (
            "right" if found == expected else "NOASSERTION" if found == NOASSERTION else "wrong"
        )
        tally.setdefault(kind, Counter())[outcome] += 1
        if outcome != "right":
            wrong.append(f"{kind}: {name}: expected {expected}, got {found}")
    # Timed without the memo of texts already recognised (its hits would be all we timed).
    start = time.process_time()
    for content in contents:
        _RECOGNISED.clear()
        detect(content, "LICENSE")
    per_second = len(contents) / (time.process_time() - start)
    total: Counter[str] = Counter()
    lines = [
        "| class | files | right | wrong id | NOASSERTION instead of an id |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, counts in tally.items():
        total.update(counts)
        lines.append(
            f"| {kind} | {sum(counts.values())} | {counts['right']} | {counts['wrong']} | "
            f"{counts['NOASSERTION']} |"
        )
    files = sum(total.values())
    lines.append(
        f"| **all** | {files} | {total['right']} ({total['right'] / files:.1%}) | "
        f"{total['wrong']} | {total['NOASSERTION']} |"
    )
    lines.append("")
    lines.append(
        f"Speed: {per_second:.0f} files/s (CPU time, one thread), {date.today().isoformat()}."
    )
    print("\n".join(lines))
    for line in wrong:
        print("  ", line)
    if "--no-write" not in sys.argv:
        update_readme("licence-corpus", lines)


if __name__ == "__main__":
    main()
