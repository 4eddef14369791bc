"""Package manifests and REUSE.toml of the synthetic repositories, built on demand.

What a manifest declares is chosen by :func:`localforge.data.synthesise` and kept as
:attr:`~localforge.data.Repository.manifest_licence`; only how it is written (pyproject's PEP 639
string or PEP 621 table, composer's string or list, npm's pointer to the licence file...) is
chosen here, from a hash of the repository's id, so it never changes the declared licence.
"""

from __future__ import annotations

import hashlib
import json
import re
from xml.sax.saxutils import escape

from localforge.data import Repository
from localforge.licences import licence_display_name

#: Maven ``<licenses>``: (name, url) as projects usually write them.
_GNU_URLS = {
    "GPL-2.0": "https://www.gnu.org/licenses/old-licenses/gpl-2.0.html",
    "GPL-3.0": "https://www.gnu.org/licenses/gpl-3.0.html",
    "AGPL-3.0": "https://www.gnu.org/licenses/agpl-3.0.html",
    "LGPL-2.1": "https://www.gnu.org/licenses/old-licenses/lgpl-2.1.html",
    "LGPL-3.0": "https://www.gnu.org/licenses/lgpl-3.0.html",
}
_MAVEN: dict[str, tuple[str, str]] = {
    "Apache-2.0": (
        "The Apache Software License, Version 2.0",
        "https://www.apache.org/licenses/LICENSE-2.0.txt",
    ),
    "MIT": ("MIT License", "https://opensource.org/licenses/MIT"),
    "EUPL-1.2": (
        "European Union Public Licence 1.2",
        "https://joinup.ec.europa.eu/collection/eupl/eupl-text-eupl-12",
    ),
    "CECILL-2.1": ("CeCILL v2.1", "http://www.cecill.info/licences/Licence_CeCILL_V2.1-en.html"),
    "CECILL-B": ("CeCILL-B", "http://www.cecill.info/licences/Licence_CeCILL-B_V1-en.html"),
    "CECILL-C": ("CeCILL-C", "http://www.cecill.info/licences/Licence_CeCILL-C_V1-en.html"),
    "etalab-2.0": (
        "Licence Ouverte / Open Licence version 2.0",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    ),
    "WTFPL": ("WTFPL", "http://www.wtfpl.net/txt/copying/"),
}


def style(repo: Repository) -> bytes:
    """Bytes that choose how files are written (never what they declare)."""
    seed = f"{repo.host}/{repo.database_id}".encode()
    return hashlib.blake2b(seed, digest_size=8, person=b"localforge-style").digest()


def title(repo: Repository) -> str:
    """The repository's description, or a stand-in."""
    text = (repo.description or "").strip()
    return text if text else f"Dépôt {repo.full_name}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "projet"


def _licence_file(repo: Repository) -> str | None:
    return next((e.name for e in repo.entries if e.role == "licence" and e.spdx_id is None), None)


def manifest(repo: Repository, name: str) -> str | None:
    """The text of the root manifest ``name``, or ``None`` for a file that is no manifest."""
    writers = {
        "package.json": _package_json,
        "pyproject.toml": _pyproject,
        "Cargo.toml": _cargo,
        "pom.xml": _pom,
        "composer.json": _composer,
    }
    writer = writers.get(name)
    return writer(repo) if writer is not None else None


def _json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def _toml(text: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _package_json(repo: Repository) -> str:
    declared = repo.manifest_licence
    value: dict[str, object] = {
        "name": _slug(repo.name),
        "version": "1.0.0",
        "description": title(repo),
    }
    if declared == "UNLICENSED":
        value["private"] = True
    value["main"] = "index.js"
    value["scripts"] = {"start": "node index.js", "test": 'echo "Error: no test specified"'}
    value["repository"] = {"type": "git", "url": f"git+{repo.html_url}.git"}
    value["author"] = repo.owner
    licence_file = _licence_file(repo)
    if declared is not None:
        value["license"] = declared
    elif licence_file is not None and style(repo)[0] < 128:
        value["license"] = f"SEE LICENSE IN {licence_file}"
    return _json(value)


def _composer(repo: Repository) -> str:
    declared = repo.manifest_licence
    value: dict[str, object] = {
        "name": f"{_slug(repo.owner.rpartition('/')[2])}/{_slug(repo.name)}",
        "description": title(repo),
        "type": "project",
    }
    if declared is not None:
        value["license"] = [declared] if style(repo)[0] < 64 else declared
    value["require"] = {"php": ">=7.4"}
    value["autoload"] = {"psr-4": {"App\\": "src/"}}
    return _json(value)


def _pyproject(repo: Repository) -> str:
    declared = repo.manifest_licence
    lines = [
        "[build-system]",
        'requires = ["setuptools>=61"]',
        'build-backend = "setuptools.build_meta"',
        "",
        "[project]",
        f"name = {_toml(_slug(repo.name))}",
        'version = "1.0.0"',
        f"description = {_toml(title(repo))}",
        'requires-python = ">=3.8"',
    ]
    licence_file = _licence_file(repo)
    if declared is not None:
        if style(repo)[0] < 128:  # PEP 639
            lines.append(f"license = {_toml(declared)}")
        else:  # PEP 621
            lines.append(f"license = {{text = {_toml(declared)}}}")
    elif licence_file is not None and style(repo)[0] < 128:
        lines.append(f"license = {{file = {_toml(licence_file)}}}")
    lines += [f"authors = [{{name = {_toml(repo.owner)}}}]", ""]
    return "\n".join(lines)


def _cargo(repo: Repository) -> str:
    lines = [
        "[package]",
        f"name = {_toml(_slug(repo.name).replace('.', '-'))}",
        'version = "0.1.0"',
        'edition = "2021"',
        f"description = {_toml(title(repo))}",
    ]
    if repo.manifest_licence is not None:
        lines.append(f"license = {_toml(repo.manifest_licence)}")
    lines += [f"repository = {_toml(repo.html_url)}", "", "[dependencies]", ""]
    return "\n".join(lines)


def maven_licence(spdx_id: str) -> tuple[str, str]:
    """The (name, url) a pom.xml gives a licence."""
    bare = spdx_id.removesuffix("-only").removesuffix("-or-later")
    if bare in _GNU_URLS:
        name = licence_display_name(bare)
        return (f"{name} or later" if spdx_id.endswith("-or-later") else name), _GNU_URLS[bare]
    if spdx_id in _MAVEN:
        return _MAVEN[spdx_id]
    name = licence_display_name(spdx_id)
    return name, f"https://spdx.org/licenses/{spdx_id}.html"


def _xml(text: str) -> str:
    return escape(re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text))


def _pom(repo: Repository) -> str:
    group = ".".join(_slug(part).replace("-", "") or "projet" for part in repo.owner.split("/"))
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<project xmlns="http://maven.apache.org/POM/4.0.0"',
        '         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        '         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 '
        'https://maven.apache.org/xsd/maven-4.0.0.xsd">',
        "  <modelVersion>4.0.0</modelVersion>",
        f"  <groupId>fr.{_xml(group)}</groupId>",
        f"  <artifactId>{_xml(_slug(repo.name))}</artifactId>",
        "  <version>1.0.0</version>",
        f"  <name>{_xml(repo.name)}</name>",
        f"  <description>{_xml(title(repo))}</description>",
        f"  <url>{_xml(repo.html_url)}</url>",
    ]
    if repo.manifest_licence is not None:
        name, url = maven_licence(repo.manifest_licence)
        lines += [
            "  <licenses>",
            "    <license>",
            f"      <name>{_xml(name)}</name>",
            f"      <url>{_xml(url)}</url>",
            "      <distribution>repo</distribution>",
            "    </license>",
            "  </licenses>",
        ]
    lines += [
        "  <properties>",
        "    <maven.compiler.source>11</maven.compiler.source>",
        "    <maven.compiler.target>11</maven.compiler.target>",
        "    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>",
        "  </properties>",
        "  <dependencies>",
        "    <dependency>",
        "      <groupId>junit</groupId>",
        "      <artifactId>junit</artifactId>",
        "      <version>4.13.2</version>",
        "      <scope>test</scope>",
        "    </dependency>",
        "  </dependencies>",
        "</project>",
        "",
    ]
    return "\n".join(lines)


def reuse_toml(repo: Repository) -> str:
    """REUSE.toml (REUSE 3.2): the code under its licence, documentation and data under the
    directory's other licences."""
    main = repo.code_licence or "NOASSERTION"
    year = repo.created_at[:4]
    lines = [
        "version = 1",
        f"SPDX-PackageName = {_toml(repo.name)}",
        f"SPDX-PackageSupplier = {_toml(repo.owner)}",
        f"SPDX-PackageDownloadLocation = {_toml(repo.html_url)}",
        "",
        "[[annotations]]",
        'path = "**"',
        'precedence = "aggregate"',
        f"SPDX-FileCopyrightText = {_toml(f'{year} {repo.owner}')}",
        f"SPDX-License-Identifier = {_toml(main)}",
    ]
    for spdx_id in repo.reuse_spdx:
        if spdx_id == main:
            continue
        paths = '["**/*.json", "**/*.yml", ".gitignore"]' if spdx_id == "CC0-1.0" else '"docs/**"'
        lines += [
            "",
            "[[annotations]]",
            f"path = {paths}",
            'precedence = "override"',
            f"SPDX-FileCopyrightText = {_toml(f'{year} {repo.owner}')}",
            f"SPDX-License-Identifier = {_toml(spdx_id)}",
        ]
    return "\n".join(lines) + "\n"
