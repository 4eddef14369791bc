"""File contents of the synthetic repositories, and their git object ids.

Contents are built on demand from the repository record (never stored: 50,000 repositories would
not fit the memory budget); object ids are real git ids of those contents.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from localforge import manifests
from localforge.data import Repository, TreeEntry
from localforge.licences import licence_display_name, licence_text

_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"

_GITIGNORE = "\n".join(
    (
        "# Dependencies",
        "node_modules/",
        "venv/",
        ".venv/",
        "",
        "# Build",
        "dist/",
        "build/",
        "*.egg-info/",
        "__pycache__/",
        "",
        "# Editors",
        ".idea/",
        ".vscode/",
        "*.swp",
        "",
        "# Environment",
        ".env",
        "",
    )
)


@dataclass(frozen=True, slots=True)
class Blob:
    path: str
    data: bytes
    is_binary: bool

    @property
    def text(self) -> str | None:
        return None if self.is_binary else self.data.decode("utf-8")

    @property
    def oid(self) -> str:
        return git_oid(b"blob", self.data)


def git_oid(kind: bytes, data: bytes) -> str:
    """The id git gives an object of this kind and content."""
    header = kind + b" " + str(len(data)).encode() + b"\0"
    return hashlib.sha1(header + data, usedforsecurity=False).hexdigest()


def tree_oid(repo: Repository, entries: tuple[TreeEntry, ...], path: str = "") -> str:
    """The git id of a tree (entries in git order, as :mod:`localforge.data` keeps them)."""
    body = bytearray()
    for entry in entries:
        entry_path = join(path, entry.name)
        if entry.type == "tree":
            mode, oid = b"40000", tree_oid(repo, entry.children, entry_path)
        else:
            mode, oid = b"100644", blob(repo, entry, entry_path).oid
        body += mode + b" " + entry.name.encode() + b"\0" + bytes.fromhex(oid)
    return git_oid(b"tree", bytes(body))


def join(path: str, name: str) -> str:
    return f"{path}/{name}" if path else name


def find(repo: Repository, path: str) -> TreeEntry | tuple[TreeEntry, ...] | None:
    """The entry at ``path`` of the default branch, or the root entries for ``""``; ``None``
    when nothing is there."""
    entries = repo.entries
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts:
        return entries
    found: TreeEntry | None = None
    for i, part in enumerate(parts):
        found = next((e for e in entries if e.name == part), None)
        if found is None or (found.type == "blob" and i < len(parts) - 1):
            return None
        entries = found.children
    return found


def blob(repo: Repository, entry: TreeEntry, path: str) -> Blob:
    """The content of the file ``entry`` (at ``path``) of ``repo``."""
    role = entry.role
    if role == "binary":
        seed = hashlib.blake2b(f"{repo.database_id}:{path}".encode(), digest_size=48).digest()
        return Blob(path, _PNG + seed, True)
    if role == "readme":
        text = _readme(repo, entry.name)
    elif role == "licence":
        text = licence_text(entry.spdx_id or repo.licence_file_spdx or "NOASSERTION")
    elif role == "contributing":
        text = _contributing(repo)
    elif role == "changelog":
        text = _changelog(repo)
    elif role == "publiccode":
        text = publiccode(repo)
    else:
        text = _ordinary(repo, entry.name)
    return Blob(path, text.encode("utf-8"), False)


def _title(repo: Repository) -> str:
    return manifests.title(repo)


#: How READMEs name the licences of ``localforge.data.README_LICENCES``.
_README_NAMES = {
    "MIT": "MIT License",
    "Apache-2.0": "Apache License 2.0",
    "GPL-3.0-or-later": "GNU General Public License v3.0 or later",
    "AGPL-3.0-only": "GNU Affero General Public License v3.0 only",
    "EUPL-1.2": "European Union Public License 1.2",
    "CECILL-2.1": "CeCILL v2.1",
    "etalab-2.0": "Licence Ouverte / Open Licence version 2.0",
    "MPL-2.0": "Mozilla Public License 2.0",
    "BSD-3-Clause": "BSD 3-Clause License",
    "LGPL-3.0-or-later": "GNU Lesser General Public License v3.0 or later",
}
#: The GNU licences' standard notice (the "How to Apply These Terms" text), for ``text``.
_GNU_NOTICE = (
    "This program is free software: you can redistribute it and/or modify it under the terms "
    "of the {name} as published by the Free Software Foundation, {version}.\n\n"
    "This program is distributed in the hope that it will be useful, but WITHOUT ANY "
    "WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS FOR A "
    "PARTICULAR PURPOSE. See the {name} for more details."
)
_GNU_NOTICES = {
    "GPL-3.0-or-later": (
        "GNU General Public License",
        "either version 3 of the License, or (at your option) any later version",
    ),
    "AGPL-3.0-only": ("GNU Affero General Public License", "version 3 of the License"),
    "LGPL-3.0-or-later": (
        "GNU Lesser General Public License",
        "either version 3 of the License, or (at your option) any later version",
    ),
}


def _readme_licence_section(repo: Repository) -> tuple[str, list[str]] | None:
    """The title and lines of the README's licence section (see
    :attr:`~localforge.data.Repository.readme_section`), or ``None``."""
    section, spdx_id = repo.readme_section, repo.readme_licence
    if section is None:
        return None
    if section == "none" or spdx_id is None:
        return "Licence", ["La licence de ce projet reste à choisir."]
    name = _README_NAMES.get(spdx_id, spdx_id)
    if section == "en":
        return "License", [f"This project is licensed under the {name}."]
    if section == "badge":
        label = spdx_id.replace("-", "--")
        return "Licence", [
            f"[![License: {spdx_id}](https://img.shields.io/badge/License-{label}-blue.svg)]"
            f"(https://spdx.org/licenses/{spdx_id}.html)"
        ]
    if section == "text" and spdx_id in _GNU_NOTICES:
        gnu, version = _GNU_NOTICES[spdx_id]
        return "License", _GNU_NOTICE.format(name=gnu, version=version).split("\n")
    if section == "text" and spdx_id in ("MIT", "BSD-3-Clause"):
        return "License", licence_text(spdx_id).strip().split("\n")
    return "Licence", [f"Ce logiciel est distribué sous la licence {name}."]


def _readme(repo: Repository, filename: str) -> str:
    licence = licence_display_name(repo.licence_file_spdx) if repo.licence_file_spdx else None
    section = ("Licence", [f"{licence}."]) if licence is not None else _readme_licence_section(repo)
    lines: list[str]
    if filename.lower().endswith(".rst"):
        lines = [
            repo.name,
            "=" * len(repo.name),
            "",
            _title(repo),
            "",
            "Installation",
            "------------",
            "",
            "Voir la documentation du projet.",
            "",
        ]
        if section:
            lines += [section[0], "-" * len(section[0]), "", *section[1], ""]
    else:
        lines = [f"# {repo.name}", "", _title(repo), ""]
        if repo.homepage:
            lines += [f"Site : {repo.homepage}", ""]
        lines += ["## Installation", "", "Voir la documentation du projet.", ""]
        if section:
            lines += [f"## {section[0]}", "", *section[1], ""]
    return "\n".join(lines)


def _contributing(repo: Repository) -> str:
    return (
        f"# Contribuer à {repo.name}\n\n"
        "Les contributions sont les bienvenues : ouvrez un ticket pour discuter d'un changement,\n"
        "puis proposez une demande de fusion.\n"
    )


def _changelog(repo: Repository) -> str:
    return (
        "# Changelog\n\n"
        "Toutes les évolutions notables de ce projet sont décrites dans ce fichier.\n\n"
        f"## [Unreleased] - {repo.last_commit_at[:10]}\n\n- Corrections diverses.\n"
    )


def _yaml(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def publiccode(repo: Repository) -> str:
    """The repository's publiccode.yml, of its :attr:`~Repository.publiccode_variant`: valid
    (standard version "0", the latest, neither error nor warning), valid with a warning, or
    invalid; the defect is the one :attr:`~Repository.publiccode_issue` names."""
    issue = repo.publiccode_issue
    description = _title(repo)
    short = description if len(description) <= 100 else description[:99].rstrip() + "…"
    long = (
        f"{description[:9000]}. Ce logiciel libre est développé par {repo.owner} pour le "
        f"service public numérique. Son code source est publié sur {repo.host} ; les "
        "contributions sont les bienvenues."
    )
    licence = repo.code_licence or "etalab-2.0"
    lines = [
        f"publiccodeYmlVersion: {_yaml('0.2' if issue == 'publiccodeYmlVersion' else '0')}",
        f"name: {_yaml(repo.name)}",
        f"url: {_yaml(repo.html_url)}",
        f"releaseDate: {_yaml(repo.last_commit_at[:10])}",
        "platforms:",
        "  - web",
        "categories:",
        "  - it-development",
    ]
    if issue != "developmentStatus":
        lines.append("developmentStatus: stable")
    elif repo.database_id % 2:  # else the mandatory key is missing
        lines.append("developmentStatus: production")
    software_type = "webapp" if issue == "softwareType" else "standalone/web"
    lines += [f"softwareType: {_yaml(software_type)}", "description:", "  fr:"]
    if issue == "description.fr.genericName":
        lines.append("    genericName: Application web")
    lines += [
        f"    shortDescription: {_yaml(short)}",
        f"    longDescription: {_yaml(long)}",
        "    features:",
        "      - Service public numérique",
        "legal:",
    ]
    if issue != "legal.license":
        lines.append(f"  license: {_yaml(licence)}")
    lines.append(f"  mainCopyrightOwner: {_yaml(repo.owner)}")
    if issue == "legal.authorsFile":
        lines.append("  authorsFile: AUTHORS")
    lines += [
        "maintenance:",
        "  type: internal",
        "  contacts:",
        f"    - name: {_yaml(repo.owner)}",
        "localisation:",
        "  localisationReady: false",
        "  availableLanguages:",
        "    - fr",
        "",
    ]
    return "\n".join(lines)


def _ordinary(repo: Repository, name: str) -> str:
    if name == ".gitignore":
        return _GITIGNORE
    manifest = manifests.manifest(repo, name)
    if manifest is not None:
        return manifest
    if name == "REUSE.toml":
        return manifests.reuse_toml(repo)
    if name == "setup.py":
        return (
            f'from setuptools import setup\n\nsetup(name="{repo.name}", version="1.0.0",\n'
            f'      description="""{_title(repo)}""")\n'
        )
    return f"{name} — {repo.full_name}\n"
