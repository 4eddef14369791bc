"""Licence detection against ScanCode's licence database: every licence text ScanCode keeps,
given to ``detect``, and the ids we give compared with ScanCode's SPDX keys.

ScanCode's data is not kept here and is never a dependency of this project. Get it by hand
(about 126 MB), then run this script on the wheel (nothing is extracted; 2,455 texts in
about 25 s of CPU here):

    pip download --no-deps scancode-toolkit-mini==32.5.0 -d /tmp/scancode
    .venv/bin/python bench/licence_scancode.py /tmp/scancode/scancode_toolkit_mini-32.5.0-*.whl

Each ``licensedcode/data/licenses/*.LICENSE`` file is YAML front matter (``spdx_license_key``,
``other_spdx_license_keys``, ``is_deprecated``) then the text. Deprecated and empty texts are
left out. A text "differs" when we give it an id (not NOASSERTION/NONE) that is neither its
``spdx_license_key`` nor one of its ``other_spdx_license_keys``; each is printed, to be judged
by hand (the same text under another key, the same licence in another official language, or a
wrong id). ``--ids`` also prints the texts that got ScanCode's id.
"""

from __future__ import annotations

import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crawler.licences import NOASSERTION, NONE, detect

PREFIX = "licensedcode/data/licenses/"
FRONT_MATTER = re.compile(r"---\n(.*?)\n---[ \t]*(?:\n|$)(.*)", re.S)


def texts(wheel: Path) -> list[tuple[str, dict[str, Any], str]]:
    """(key, front matter, text) of every licence file of the wheel, sorted by key."""
    found = []
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            if not (name.startswith(PREFIX) and name.endswith(".LICENSE")):
                continue
            content = archive.read(name).decode("utf-8")
            matched = FRONT_MATTER.match(content)
            if matched is None:
                raise ValueError(f"{name}: no YAML front matter")
            front, text = matched.groups()
            found.append((name[len(PREFIX) : -len(".LICENSE")], yaml.safe_load(front), text))
    return found


def main() -> None:
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(arguments) != 1:
        sys.exit(__doc__)
    checked = identified = 0
    agreeing: list[str] = []
    differing: list[str] = []
    for key, front, text in texts(Path(arguments[0])):
        if front.get("is_deprecated") or not text.strip():
            continue
        checked += 1
        found = detect(text, "LICENSE")
        if found.licence in {NOASSERTION, NONE}:
            continue
        identified += 1
        theirs = {str(front.get("spdx_license_key"))}
        theirs.update(str(k) for k in front.get("other_spdx_license_keys") or [])
        line = f"{key}: {found.licence} ({found.reference}; ScanCode: {', '.join(sorted(theirs))})"
        (agreeing if found.licence in theirs else differing).append(line)
    print(f"{checked} texts, {identified} got an id, {len(differing)} differ from ScanCode's")
    for line in differing:
        print("  differs:", line)
    if "--ids" in sys.argv:
        for line in agreeing:
            print("  same:", line)


if __name__ == "__main__":
    main()
