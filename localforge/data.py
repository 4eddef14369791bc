"""The local forge's data: real 2021 code.gouv.fr rows, plus deterministic synthetic fields.

The CSV files (``data/*.csv``) give each repository's metadata; what they lack (default branch,
root files, last commit, languages...) is derived from a hash of the repository's id, never from a
global random state, so every load gives the same forge.

GitHub rows are served under ``github.com``; GitLab rows under the host of their URL, built by
:mod:`localforge.gitlab_data` (namespaces, subgroups, shared projects).
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import functools
import hashlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from localforge.licences import UNRECOGNISED_SPDX, Licence, licence_for_name

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
REPOSITORIES_CSV = "repositories-2021-11-15-sample.csv"
ORGANIZATIONS_CSV = "organizations-2021-11-15-sample.csv"

GITHUB = "github.com"
#: The forge software of the fixed hosts (GitLab hosts come from the CSV's URLs).
HOST_KINDS: dict[str, str] = {GITHUB: "github"}

#: The CSV does not say which accounts are users. These two real logins (35 and 3 repositories)
#: are served as GitHub *users* so that tests cover user namespaces (``/users/{user}/repos``,
#: ``... on User``, ``/orgs/{login}`` answering 404). Every other account is an organization.
USER_LOGINS: frozenset[str] = frozenset({"riatelab", "Antique-team"})

_REPO_ID_BASE = 10_000_000
_ACCOUNT_ID_BASE = 1_000_000
#: Id stride between the replicas of a scaled dataset (more than the number of CSV rows).
_ID_STRIDE = 100_000
#: Repositories created from this date get ``main`` as default branch (GitHub's switch).
_MAIN_BRANCH_SINCE = "2020-10-01"


def node_id(prefix: str, database_id: int) -> str:
    """GitHub's current global node id: ``R_`` + base64url(msgpack([0, id])) without padding."""
    packed = b"\x92\x00\xce" + database_id.to_bytes(4, "big")
    return f"{prefix}_" + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def database_id_of(node: str) -> int | None:
    """The database id inside a node id made by :func:`node_id`, or ``None``."""
    _, _, encoded = node.partition("_")
    try:
        packed = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except ValueError:
        return None
    if len(packed) != 7 or not packed.startswith(b"\x92\x00\xce"):
        return None
    return int.from_bytes(packed[3:], "big")


@dataclass(frozen=True, slots=True)
class Account:
    """An organization or user account of a forge; on GitLab a namespace (group or user)."""

    host: str
    login: str
    """GitHub: the login. GitLab: the namespace's full path (``gazelle/library``)."""
    kind: str
    """``organization`` or ``user`` (GitHub); ``group`` or ``user`` (GitLab)."""
    database_id: int
    node_id: str
    name: str | None
    description: str | None
    website: str | None
    email: str | None
    location: str | None
    avatar_url: str
    created_at: str
    updated_at: str
    repositories_count: int
    """Public repositories it owns now (kept up to date by :meth:`Dataset.remove_repository`)."""
    parent_id: int | None = None
    """GitLab: the parent group of a subgroup."""
    user_id: int | None = None
    """GitLab: the user owning a user namespace (namespace and user ids differ, as on GitLab)."""
    views: dict[str, Any] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False
    )
    """Per-API caches of its serialised forms (filled by the API modules; a record made by
    ``dataclasses.replace`` starts with empty caches)."""

    @property
    def html_url(self) -> str:
        if self.kind == "group":
            return f"https://{self.host}/groups/{self.login}"
        return f"https://{self.host}/{self.login}"

    @property
    def path(self) -> str:
        """GitLab's ``path``: the last segment of ``login`` (a subgroup's own path)."""
        return self.login.rpartition("/")[2]

    @property
    def full_path(self) -> str:
        """GitLab's ``full_path`` (``gazelle/library``): the same as ``login``."""
        return self.login


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file or directory of a repository. Instances are shared between repositories."""

    name: str
    type: str
    """``blob`` or ``tree``."""
    role: str
    """What the content is made of: ``readme``, ``licence``, ``contributing``, ``changelog``,
    ``publiccode``, ``binary``, ``file`` or ``tree``."""
    children: tuple[TreeEntry, ...] = ()
    spdx_id: str | None = None
    """For a licence file whose text is not the repository's own licence (GPL beside LGPL)."""


@dataclass(frozen=True, slots=True)
class Repository:
    """A repository (a GitLab project), as the CSV gives it plus the synthetic fields."""

    host: str
    owner: str
    """GitHub: the owner's login. GitLab: the namespace's full path."""
    name: str
    """The repository's name (GitLab: the project's path)."""
    database_id: int
    node_id: str
    description: str | None
    homepage: str | None
    is_fork: bool
    is_archived: bool
    is_template: bool
    created_at: str
    updated_at: str
    pushed_at: str
    stars: int
    forks: int
    open_issues: int
    closed_issues: int
    language: str | None
    topics: tuple[str, ...]
    licence: Licence | None
    """The licence GitHub detects, ``None`` when it detects none."""
    licence_file_spdx: str | None
    """Whose text the root licence file holds (``None``: no licence file)."""
    default_branch: str
    last_commit_at: str
    """Date of the default branch's last commit: ``pushed_at`` or a bit before."""
    commit_oid: str
    commit_count: int
    entries: tuple[TreeEntry, ...]
    """The root tree, in git order."""
    languages: tuple[tuple[str, int], ...]
    """(language, bytes), largest first."""
    disk_usage: int
    """Kilobytes."""
    visibility: str = "public"
    """``public``, ``internal`` or ``private`` (only GitLab serves the last two)."""
    last_activity_at: str = ""
    """GitLab's ``last_activity_at`` (empty on GitHub)."""
    forked_from: int | None = None
    """GitLab: the id of the project this one is a fork of."""
    shared_with: tuple[str, ...] = ()
    """GitLab: full paths of the groups this project is shared with (outside its namespace)."""
    is_empty: bool = False
    """A repository without any commit (GitLab's ``empty_repo``)."""
    reuse_spdx: tuple[str, ...] = ()
    """The SPDX ids of the licence files of REUSE's ``LICENSES/`` directory
    (``LICENSES/<id>.txt``), in the directory's order; empty: no such directory. The ids are
    current SPDX ids (``GPL-3.0-only``, ``AGPL-3.0-or-later``, never GitHub's bare ``GPL-3.0``).
    Mostly one id; ~20 % add ``CC0-1.0`` or ``CC-BY-4.0`` (and ``CC-BY-SA-4.0``) for their
    documentation and data. When there is also a root licence file, its licence is one of them
    (``GPL-3.0`` as ``GPL-3.0-only``)."""
    manifest_licence: str | None = None
    """The licence the root package manifest (:attr:`manifest_name`) declares, as written: an
    SPDX id or expression (``MIT``, ``GPL-3.0``, ``MIT OR Apache-2.0``), or npm's
    ``UNLICENSED`` / composer's ``proprietary`` (no licence granted). A pom.xml writes the
    licence's Maven name and URL: this is the SPDX id they stand for. ``None``: no manifest, or
    it declares no licence (no field, or only a pointer to a file: npm's ``SEE LICENSE IN
    LICENSE``, pyproject's ``license = {file = "LICENSE"}``)."""
    publiccode_variant: str | None = None
    """What the root publiccode file (:attr:`publiccode_name`) gives to
    :func:`crawler.publiccode.validate`: ``valid`` (no error, no warning), ``warnings`` (valid,
    with warnings) or ``invalid`` (errors); ``None``: no publiccode file."""
    publiccode_issue: str | None = None
    """For the ``warnings`` and ``invalid`` variants, the key path (as the validator reports it)
    of the defect written on purpose: ``publiccodeYmlVersion`` (version 0.2),
    ``legal.authorsFile`` or ``description.fr.genericName`` (deprecated keys) for warnings;
    ``developmentStatus`` (missing, or ``production``), ``legal.license`` (missing) or
    ``softwareType`` (``webapp``) for errors. ``None`` otherwise."""
    readme_section: str | None = None
    """How the README's "Licence" section is written: ``fr`` or ``en`` (a sentence naming
    :attr:`readme_licence`), ``badge`` (a shields.io badge), ``text`` (the licence's text, or
    the GNU licences' standard notice) or ``none`` (a section that names no licence yet).
    ``None``: no such section, or (beside a licence file) one that names the file's licence."""
    readme_licence: str | None = None
    """The SPDX id the README's section gives (``None`` for ``none`` and without a section).
    Beside a licence file (~10 % of them), another licence than the file's: a stale README."""
    views: dict[str, Any] = field(
        default_factory=dict, init=False, compare=False, repr=False, hash=False
    )
    """Per-API caches of its serialised forms (filled by the API modules; a record made by
    ``dataclasses.replace`` starts with empty caches)."""

    @property
    def full_name(self) -> str:
        """``owner/name`` (GitLab: ``path_with_namespace``)."""
        return f"{self.owner}/{self.name}"

    @property
    def manifest_name(self) -> str | None:
        """The package manifest at the root (one of :data:`MANIFEST_NAMES`), or ``None``."""
        return next((e.name for e in self.entries if e.name in MANIFEST_NAMES), None)

    @property
    def code_licence(self) -> str | None:
        """The licence of the repository's code, as a current SPDX id: its root licence file's,
        else that of the REUSE directory's files not meant for documentation and data (CC0,
        CC-BY), else ``None``."""
        return code_licence(self.licence_file_spdx, self.reuse_spdx)

    @property
    def publiccode_name(self) -> str | None:
        """``publiccode.yml`` or ``publiccode.yaml`` when the root has one, else ``None``."""
        return next((e.name for e in self.entries if e.role == "publiccode"), None)

    @property
    def html_url(self) -> str:
        return f"https://{self.host}/{self.owner}/{self.name}"


# --- synthetic fields --------------------------------------------------------------------------


@functools.cache
def _blob(name: str, role: str = "file", spdx_id: str | None = None) -> TreeEntry:
    return TreeEntry(name, "blob", role, (), spdx_id)


def _tree(name: str, *children: TreeEntry) -> TreeEntry:
    return TreeEntry(name, "tree", "tree", tuple(sorted(children, key=git_order)))


def git_order(entry: TreeEntry) -> bytes:
    """Git sorts a tree's entries by name, a directory as if its name ended with ``/``."""
    return (entry.name + "/" if entry.type == "tree" else entry.name).encode()


_README_NAMES = (
    (180, "README.md"),
    (200, "README.rst"),
    (215, "README"),
    (235, "readme.md"),
    (256, "README.txt"),
)
_LICENCE_NAMES = (
    (140, "LICENSE"),
    (190, "LICENSE.md"),
    (215, "LICENCE"),
    (240, "COPYING"),
    (256, "LICENSE.txt"),
)
_GNU = ("GPL-2.0", "GPL-3.0", "AGPL-3.0", "LGPL-2.1", "LGPL-3.0")

_SRC = _tree("src", _blob("index.js"))
_LANGUAGE_FILES: dict[str, tuple[tuple[TreeEntry, ...], ...]] = {
    # Alternatives chosen by hash, each a set of root entries.
    "Python": (
        (_blob("setup.py"), _blob("requirements.txt"), _tree("src", _blob("__init__.py"))),
        (
            _blob("pyproject.toml"),
            _tree("src", _blob("__init__.py")),
            _tree("tests", _blob("test_main.py")),
        ),
    ),
    "JavaScript": (
        (_blob("package.json"), _blob("package-lock.json"), _SRC),
        (_blob("package.json"), _blob("yarn.lock"), _tree("lib", _blob("index.js"))),
    ),
    "TypeScript": (
        (_blob("package.json"), _blob("tsconfig.json"), _tree("src", _blob("index.ts"))),
    ),
    "Vue": ((_blob("package.json"), _blob("vue.config.js"), _tree("src", _blob("App.vue"))),),
    "Java": (
        (_blob("pom.xml"), _tree("src", _tree("main", _tree("java", _blob("Main.java"))))),
        (
            _blob("build.gradle"),
            _blob("gradlew"),
            _tree("src", _tree("main", _tree("java", _blob("Main.java")))),
        ),
    ),
    "PHP": ((_blob("composer.json"), _tree("src", _blob("index.php"))),),
    "Ruby": ((_blob("Gemfile"), _blob("Gemfile.lock"), _tree("lib", _blob("main.rb"))),),
    "Go": ((_blob("go.mod"), _blob("go.sum"), _blob("main.go")),),
    "Rust": ((_blob("Cargo.toml"), _blob("Cargo.lock"), _tree("src", _blob("main.rs"))),),
    "OCaml": ((_blob("dune-project"), _blob("Makefile"), _tree("src", _blob("main.ml"))),),
    "C": ((_blob("Makefile"), _tree("src", _blob("main.c"))),),
    "C++": ((_blob("CMakeLists.txt"), _tree("src", _blob("main.cpp"))),),
    "R": ((_blob("DESCRIPTION"), _blob("NAMESPACE"), _tree("R", _blob("main.R"))),),
    "Jupyter Notebook": ((_blob("requirements.txt"), _tree("notebooks", _blob("analyse.ipynb"))),),
    "Shell": ((_blob("install.sh"), _tree("scripts", _blob("run.sh"))),),
    "HTML": ((_blob("index.html"), _tree("css", _blob("style.css"))),),
}
_DEFAULT_FILES: tuple[tuple[TreeEntry, ...], ...] = ((_tree("src", _blob("main.txt")),),)

_COMPANIONS: dict[str, tuple[str, ...]] = {
    "JavaScript": ("HTML", "CSS", "Shell"),
    "TypeScript": ("JavaScript", "HTML", "CSS"),
    "Vue": ("JavaScript", "HTML", "CSS"),
    "Python": ("Shell", "Makefile", "HTML"),
    "Java": ("Shell", "HTML", "JavaScript"),
    "PHP": ("JavaScript", "HTML", "CSS"),
    "Ruby": ("HTML", "JavaScript", "CSS"),
    "HTML": ("CSS", "JavaScript"),
    "Jupyter Notebook": ("Python",),
}
_GITIGNORE = _blob(".gitignore")
_DOCKERFILE = _blob("Dockerfile")
_DOCS = _tree("docs", _blob("index.md"))
_GITHUB = _tree(".github", _tree("workflows", _blob("ci.yml")))
_LOGO = _blob("logo.png", "binary")
_CONTRIBUTING = _blob("CONTRIBUTING.md", "contributing")
_CHANGELOG = _blob("CHANGELOG.md", "changelog")
_PUBLICCODE = _blob("publiccode.yml", "publiccode")
_PUBLICCODE_YAML = _blob("publiccode.yaml", "publiccode")
_REUSE_TOML = _blob("REUSE.toml")

#: Root files whose declared licence :attr:`Repository.manifest_licence` reports, in the order a
#: crawler tries them (a synthetic repository has at most one).
MANIFEST_NAMES: tuple[str, ...] = (
    "package.json",
    "pyproject.toml",
    "Cargo.toml",
    "pom.xml",
    "composer.json",
)
#: The licence of a REUSE ``LICENSES/`` directory without a root licence file: (bound, SPDX id)
#: on a hash byte. Every id has a real text in :func:`localforge.licences.licence_text`.
_REUSE_ALONE: tuple[tuple[int, str], ...] = (
    (60, "EUPL-1.2"),
    (105, "MIT"),
    (140, "AGPL-3.0-or-later"),
    (165, "Apache-2.0"),
    (185, "etalab-2.0"),
    (203, "CECILL-2.1"),
    (221, "GPL-3.0-or-later"),
    (232, "MPL-2.0"),
    (243, "BSD-3-Clause"),
    (250, "LGPL-3.0-or-later"),
    (256, "CECILL-B"),
)
#: The licences REUSE projects add for documentation and data files.
_REUSE_EXTRAS = ("CC0-1.0", "CC-BY-4.0", "CC-BY-SA-4.0")
#: What a manifest declares when the repository has no licence at all: (bound, declared) on a
#: hash byte (npm's default is ``ISC``; ``UNLICENSED`` and ``proprietary`` grant nothing).
_UNLICENSED_MANIFESTS: dict[str, tuple[tuple[int, str | None], ...]] = {
    "package.json": (
        (90, "ISC"),
        (115, "MIT"),
        (128, "EUPL-1.2"),
        (180, "UNLICENSED"),
        (256, None),
    ),
    "composer.json": ((50, "proprietary"), (90, "MIT"), (103, "EUPL-1.2"), (256, None)),
    "pyproject.toml": ((38, "MIT"), (51, "EUPL-1.2"), (256, None)),
    "Cargo.toml": ((51, "MIT OR Apache-2.0"), (64, "MIT"), (256, None)),
    "pom.xml": ((26, "Apache-2.0"), (39, "EUPL-1.2"), (256, None)),
}
#: Defects of the ``warnings`` and ``invalid`` publiccode files, as key paths.
PUBLICCODE_WARNINGS: tuple[str, ...] = (
    "publiccodeYmlVersion",
    "legal.authorsFile",
    "description.fr.genericName",
)
PUBLICCODE_ERRORS: tuple[str, ...] = (
    "developmentStatus",
    "legal.license",
    "softwareType",
)


def _pick(byte: int, table: tuple[tuple[int, str], ...]) -> str:
    return next(value for bound, value in table if byte < bound)


def _pick_optional(byte: int, table: tuple[tuple[int, str | None], ...]) -> str | None:
    return next(value for bound, value in table if byte < bound)


def current_spdx(spdx_id: str) -> str:
    """A current SPDX id for one of GitHub's ids: the bare GNU ids (``GPL-3.0``) mean ``-only``."""
    return f"{spdx_id}-only" if spdx_id in _GNU else spdx_id


def code_licence(licence_file_spdx: str | None, reuse_spdx: tuple[str, ...]) -> str | None:
    """See :attr:`Repository.code_licence`."""
    if licence_file_spdx is not None:
        return current_spdx(licence_file_spdx)
    code = [i for i in reuse_spdx if i not in _REUSE_EXTRAS]
    return code[0] if code else (reuse_spdx[0] if reuse_spdx else None)


@functools.cache
def _licences_tree(spdx_ids: tuple[str, ...]) -> TreeEntry:
    return _tree("LICENSES", *(_blob(f"{i}.txt", "licence", i) for i in spdx_ids))


def _reuse(g: bytes, licence_file_spdx: str | None) -> tuple[str, ...]:
    """The licences of a REUSE ``LICENSES/`` directory (~3 % of repositories), or ``()``."""
    if g[0] >= 9:  # ~3.5 % of the hash space (2.7 % on github.com, 3 % on GitLab at scale 1)
        return ()
    if licence_file_spdx is not None:
        main = current_spdx(licence_file_spdx)
    else:
        main = _pick(g[2], _REUSE_ALONE)
        if main.endswith("-or-later") and g[3] < 80:
            main = main.replace("-or-later", "-only")
    ids = [main]
    if g[1] >= 205:  # ~20 %: documentation and data files under other licences
        ids.append(_REUSE_EXTRAS[0] if g[10] < 150 else _REUSE_EXTRAS[1])
        if g[1] >= 243:
            ids.append(_REUSE_EXTRAS[1] if g[10] < 150 else _REUSE_EXTRAS[2])
    unique = dict.fromkeys(ids)
    return tuple(sorted(unique, key=lambda i: f"{i}.txt".encode()))


def _manifest_licence(g: bytes, manifest: str | None, own: str | None) -> str | None:
    """What the root manifest declares, given the repository's own licence (see
    :attr:`Repository.manifest_licence`)."""
    if manifest is None:
        return None
    if own is None:
        return _pick_optional(g[5], _UNLICENSED_MANIFESTS[manifest])
    if g[5] >= 218:  # ~15 %: no licence field (or a pointer to the licence file)
        return None
    if g[5] >= 200:  # ~7 %: a stale or default declaration that differs from the licence file
        other = "ISC" if manifest == "package.json" else "MIT"
        return other if own != other else "Apache-2.0"
    if own in _GNU:  # GitHub's bare id, as many manifests still write it, or a current one
        if g[6] >= 200:
            return f"{own}-or-later"
        if g[6] >= 150 and manifest != "pom.xml":
            return f"{own}-only"
    return own


@dataclass(frozen=True, slots=True)
class Synthetic:
    """What :func:`synthesise` derives."""

    default_branch: str
    is_template: bool
    licence_file_spdx: str | None
    entries: tuple[TreeEntry, ...]
    last_commit_at: str
    commit_oid: str
    commit_count: int
    closed_issues: int
    languages: tuple[tuple[str, int], ...]
    disk_usage: int
    reuse_spdx: tuple[str, ...] = ()
    manifest_licence: str | None = None
    publiccode_variant: str | None = None
    publiccode_issue: str | None = None
    readme_section: str | None = None
    readme_licence: str | None = None


#: Licences a README section names (the ones French public repositories use most).
README_LICENCES: tuple[str, ...] = (
    "MIT",
    "Apache-2.0",
    "GPL-3.0-or-later",
    "AGPL-3.0-only",
    "EUPL-1.2",
    "CECILL-2.1",
    "etalab-2.0",
    "MPL-2.0",
    "BSD-3-Clause",
    "LGPL-3.0-or-later",
)
_README_SECTIONS = ((60, "fr"), (110, "en"), (150, "badge"), (200, "text"), (256, "none"))


def _readme_section(
    seed: str, has_readme: bool, has_licence_file: bool, file_licence: str | None
) -> tuple[str | None, str | None]:
    """The README's licence section: ~30 % of the READMEs beside no licence file, and ~10 % of
    those beside a licence file, naming another licence than the file's (a stale README). From a
    third hash of ``seed``, so that the other choices stay where they were."""
    k = hashlib.blake2b(seed.encode(), digest_size=8, person=b"localforge-3").digest()
    if not has_readme:
        return None, None
    if has_licence_file:
        if k[0] >= 26 or file_licence is None:
            return None, None
        others = [i for i in README_LICENCES if i != current_spdx(file_licence)]
        return _pick(k[1] % 150, _README_SECTIONS), others[k[2] % len(others)]
    if k[0] >= 77:
        return None, None
    section = _pick(k[1], _README_SECTIONS)
    if section == "none":
        return section, None
    return section, README_LICENCES[k[2] % len(README_LICENCES)]


def synthesise(
    database_id: int, row: dict[str, str], licence: Licence | None, *, key: str | None = None
) -> Synthetic:
    """The fields the CSV lacks, from a hash of ``key`` (default: the id) and the row.

    The REUSE directory, the manifest's licence and the publiccode variant come from a second
    hash of ``key``, so that adding them moved none of the first hash's choices.

    Args:
        database_id: the repository's id.
        row: its CSV row (``language`` chooses the build files).
        licence: the licence the forge detected in 2021 (its file holds that text).
        key: what to hash instead of the id (GitLab ids are per host).
    """
    seed = key if key is not None else str(database_id)
    h = hashlib.blake2b(seed.encode(), digest_size=32).digest()
    # Choices added later draw from a second hash, so that the first one's stay where they were.
    g = hashlib.blake2b(seed.encode(), digest_size=32, person=b"localforge-2").digest()
    created_at, pushed_at = row["creation_date"], row["last_modification"]
    language = row["language"] or None
    if created_at >= _MAIN_BRANCH_SINCE:
        branch = "main" if h[0] < 230 else "master"
    else:
        branch = "master" if h[0] < 243 else "main"

    entries: list[TreeEntry] = []
    if h[1] < 235:
        entries.append(_blob(_pick(h[2], _README_NAMES), "readme"))
    licence_file_spdx: str | None = None
    if licence is not None:
        licence_file_spdx = (
            UNRECOGNISED_SPDX[h[4] % len(UNRECOGNISED_SPDX)]
            if licence.is_other
            else licence.spdx_id
        )
    elif h[3] < 38:  # ~15 %: a licence file GitHub did not report in that crawl
        licence_file_spdx = UNRECOGNISED_SPDX[h[4] % len(UNRECOGNISED_SPDX)]
    if licence_file_spdx is not None:
        if licence_file_spdx.startswith("LGPL") and h[5] < 128:
            gpl = "GPL-2.0" if licence_file_spdx == "LGPL-2.1" else "GPL-3.0"
            entries += [_blob("COPYING.LESSER", "licence"), _blob("COPYING", "licence", gpl)]
        else:
            name = (
                "COPYING"
                if licence_file_spdx in _GNU and h[5] < 100
                else _pick(h[5], _LICENCE_NAMES)
            )
            entries.append(_blob(name, "licence"))
    if h[6] < 51:
        entries.append(_CONTRIBUTING)
    if h[7] < 64:
        entries.append(_CHANGELOG)
    reuse_spdx = _reuse(g, licence_file_spdx)
    if reuse_spdx:
        entries.append(_licences_tree(reuse_spdx))
        if g[4] < 154:
            entries.append(_REUSE_TOML)
    publiccode_variant: str | None = None
    publiccode_issue: str | None = None
    if h[8] < 13:
        entries.append(_PUBLICCODE_YAML if g[9] < 26 else _PUBLICCODE)
        if g[7] < 154:
            publiccode_variant = "valid"
        elif g[7] < 210:
            publiccode_variant = "warnings"
            publiccode_issue = PUBLICCODE_WARNINGS[g[8] % len(PUBLICCODE_WARNINGS)]
        else:
            publiccode_variant = "invalid"
            publiccode_issue = PUBLICCODE_ERRORS[g[8] % len(PUBLICCODE_ERRORS)]
    if h[9] < 205:
        entries.append(_GITIGNORE)
    if h[10] < 46:
        entries.append(_DOCKERFILE)
    if h[11] < 77:
        entries.append(_DOCS)
    if h[12] < 64:
        entries.append(_GITHUB)
    if h[13] < 20:
        entries.append(_LOGO)
    variants = _LANGUAGE_FILES.get(language or "", _DEFAULT_FILES)
    build_files = variants[h[14] % len(variants)]
    entries.extend(build_files)
    manifest = next((e.name for e in build_files if e.name in MANIFEST_NAMES), None)
    own = licence_file_spdx or code_licence(None, reuse_spdx)
    manifest_licence = _manifest_licence(g, manifest, own)
    unique = {e.name: e for e in entries}
    ordered = tuple(sorted(unique.values(), key=git_order))
    readme_section, readme_licence = _readme_section(
        seed, h[1] < 235, licence_file_spdx is not None or bool(reuse_spdx), licence_file_spdx
    )

    if h[15] < 150:
        last_commit_at = pushed_at
    else:
        pushed = datetime.fromisoformat(pushed_at.replace("Z", "+00:00"))
        last_commit = pushed - timedelta(minutes=10 * h[16] + h[17] % 10)
        last_commit_at = last_commit.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    languages: list[tuple[str, int]] = []
    if language:
        size = 2_000 + int.from_bytes(h[18:21], "big") % 900_000
        languages.append((language, size))
        for i, companion in enumerate(_COMPANIONS.get(language, ("Shell",))):
            if h[21 + i] < 110 and companion != language:
                size = max(size // (2 + h[24 + i] % 7), 1)
                languages.append((companion, size))
    disk = 40 + int.from_bytes(h[27:29], "big") % 40_000
    return Synthetic(
        default_branch=branch,
        is_template=h[29] < 3 and row["is_fork"] != "True",
        licence_file_spdx=licence_file_spdx,
        entries=ordered,
        last_commit_at=last_commit_at,
        commit_oid=hashlib.sha1(h + last_commit_at.encode(), usedforsecurity=False).hexdigest(),
        commit_count=1 + int.from_bytes(h[30:32], "big") % 3_000,
        closed_issues=h[31] % 60,
        languages=tuple(languages),
        disk_usage=disk,
        reuse_spdx=reuse_spdx,
        manifest_licence=manifest_licence,
        publiccode_variant=publiccode_variant,
        publiccode_issue=publiccode_issue,
        readme_section=readme_section,
        readme_licence=readme_licence,
    )


# --- the dataset -------------------------------------------------------------------------------


def _text(value: str) -> str | None:
    return value if value else None


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _login(replica: int, login: str) -> str:
    return login if replica == 1 else f"{login}-{replica}"


#: The bundled data at scale 1, built once per process (``Dataset.load`` copies it).
_BUNDLED: Dataset | None = None
_bundled_lock = threading.Lock()


class Dataset:
    """Accounts and repositories per forge host; mutable so tests can simulate upstream changes.

    Lookups by login and name are case-insensitive, like GitHub's. Lists are replaced, never
    mutated in place, so a request being served keeps a consistent view.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kinds: dict[str, str] = {}
        """host -> forge software, in the order hosts were added."""
        self._accounts: dict[str, dict[str, Account]] = {}
        """host -> lower-case login (GitLab: full path) -> account, in the order of their ids."""
        self._repos: dict[str, dict[str, list[Repository]]] = {}
        """host -> lower-case owner login -> repositories by (created_at, name)."""
        self._repos_by_id: dict[tuple[str, int], Repository] = {}
        self._accounts_by_id: dict[tuple[str, int], Account] = {}
        self._users_by_id: dict[tuple[str, int], Account] = {}
        """GitLab user ids -> their user namespace."""
        self._shared: dict[str, dict[str, list[Repository]]] | None = None
        """host -> lower-case group path -> projects shared with it (built on demand)."""
        self.version = 0
        """Incremented by every change, so the APIs can cache what they derive from the data."""

    @classmethod
    def load(
        cls, scale: int = 1, data_dir: Path = DATA_DIR, *, gitlab_scale: int | None = None
    ) -> Dataset:
        """Load the bundled CSV files: GitHub rows under ``github.com``, GitLab rows under the
        host of their URL.

        Every call gives a dataset of its own, free to change. The bundled data at scale 1 is
        built once per process (0.2 s of CPU; the test suite starts a local forge a hundred
        times): the later calls copy its indexes and share its records, which are immutable
        (a change replaces a record and the lists that hold it, never alters them).

        Args:
            scale: with ``k > 1`` each GitHub owner is replicated ``k`` times, as ``LOGIN``,
                ``LOGIN-2`` .. ``LOGIN-k``, with the same repositories (new ids and synthetic
                fields), for benchmarks.
            data_dir: where the CSV files are.
            gitlab_scale: the same for GitLab's top-level namespaces (default: ``scale``);
                see :func:`localforge.gitlab_data.load` for the figures.
        """
        if scale != 1 or (gitlab_scale or 1) != 1 or data_dir != DATA_DIR:
            return cls._build(scale, data_dir, gitlab_scale)  # benchmarks: once, large
        global _BUNDLED  # noqa: PLW0603 - a process-wide cache, built under a lock
        with _bundled_lock:
            if _BUNDLED is None:
                _BUNDLED = cls._build(1, DATA_DIR, None)
            return _BUNDLED._copy()

    def _copy(self) -> Dataset:
        """A dataset with the same records and indexes of its own."""
        copy = type(self)()
        copy._kinds = dict(self._kinds)
        copy._accounts = {host: dict(accounts) for host, accounts in self._accounts.items()}
        copy._repos = {host: dict(owned) for host, owned in self._repos.items()}
        copy._repos_by_id = dict(self._repos_by_id)
        copy._accounts_by_id = dict(self._accounts_by_id)
        copy._users_by_id = dict(self._users_by_id)
        return copy

    @classmethod
    def _build(cls, scale: int, data_dir: Path, gitlab_scale: int | None) -> Dataset:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, not {scale}")
        all_rows = _read_csv(data_dir / REPOSITORIES_CSV)
        all_profiles = _read_csv(data_dir / ORGANIZATIONS_CSV)
        rows = [r for r in all_rows if r["platform"] == "GitHub"]
        profiles = {r["login"].lower(): r for r in all_profiles if r["platform"] == "GitHub"}
        rows.sort(
            key=lambda r: (r["creation_date"], r["organization_name"].lower(), r["name"].lower())
        )
        if len(rows) >= _ID_STRIDE:
            raise ValueError("too many rows for the id scheme")
        owners = {key: p["login"] for key, p in profiles.items()}
        for r in rows:
            owners.setdefault(r["organization_name"].lower(), r["organization_name"])

        ds = cls()
        host = GITHUB
        repos: dict[str, list[Repository]] = {}
        for replica in range(1, scale + 1):
            for index, row in enumerate(rows):
                owner = _login(replica, owners[row["organization_name"].lower()])
                repo = ds._make_repository(host, owner, replica, index, row)
                repos.setdefault(repo.owner.lower(), []).append(repo)
        for owned in repos.values():
            owned.sort(key=_repo_order)

        first_repo = {}
        for r in reversed(rows):
            first_repo[r["organization_name"].lower()] = r["creation_date"]
        ordered = sorted(
            owners.items(),
            key=lambda kv: (
                profiles.get(kv[0], {}).get("creation_date") or first_repo.get(kv[0], ""),
                kv[0],
            ),
        )
        accounts: dict[str, Account] = {}
        for replica in range(1, scale + 1):
            for index, (key, login) in enumerate(ordered):
                account = _make_account(
                    host,
                    _ACCOUNT_ID_BASE + (replica - 1) * _ID_STRIDE + index,
                    _login(replica, login),
                    profile=profiles.get(key),
                    owned=repos.get(_login(replica, login).lower(), []),
                    is_user=login in USER_LOGINS,
                )
                accounts[account.login.lower()] = account
        ds._kinds[host] = HOST_KINDS[host]
        ds._accounts[host] = accounts
        ds._repos[host] = repos
        ds._accounts_by_id.update({(host, a.database_id): a for a in accounts.values()})
        log.debug(
            "loaded %d GitHub accounts, %d repositories (scale %d)",
            len(accounts),
            len(ds._repos_by_id),
            scale,
        )

        from localforge import gitlab_data  # it builds on this module's records

        for forge in gitlab_data.load(all_rows, all_profiles, gitlab_scale or scale):
            ds._add_host(forge.host, "gitlab", forge.namespaces, forge.projects)
        return ds

    def _add_host(
        self, host: str, kind: str, accounts: list[Account], repos: list[Repository]
    ) -> None:
        """Add a host's accounts (in id order) and repositories."""
        self._kinds[host] = kind
        self._accounts[host] = {a.login.lower(): a for a in accounts}
        for account in accounts:
            self._accounts_by_id[(host, account.database_id)] = account
            if account.user_id is not None:
                self._users_by_id[(host, account.user_id)] = account
        owned: dict[str, list[Repository]] = {a.login.lower(): [] for a in accounts}
        for repo in repos:
            owned.setdefault(repo.owner.lower(), []).append(repo)
            self._repos_by_id[(host, repo.database_id)] = repo
        for projects in owned.values():
            projects.sort(key=_repo_order)
        self._repos[host] = owned
        self._shared = None

    def _make_repository(
        self, host: str, owner: str, replica: int, index: int, row: dict[str, str]
    ) -> Repository:
        database_id = _REPO_ID_BASE + (replica - 1) * _ID_STRIDE + index
        licence = licence_for_name(row["license"])
        syn = synthesise(database_id, row, licence)
        topics = tuple(t.strip() for t in row["topics"].split(",") if t.strip())
        repo = Repository(
            host=host,
            owner=owner,
            name=row["name"],
            database_id=database_id,
            node_id=node_id("R", database_id),
            description=_text(row["description"]),
            homepage=_text(row["homepage"]),
            is_fork=row["is_fork"] == "True",
            is_archived=row["is_archived"] == "True",
            is_template=syn.is_template,
            created_at=row["creation_date"],
            updated_at=row["last_update"],
            pushed_at=row["last_modification"],
            stars=int(row["stars_count"] or 0),
            forks=int(row["forks_count"] or 0),
            open_issues=int(row["open_issues_count"] or 0),
            closed_issues=syn.closed_issues,
            language=_text(row["language"]),
            topics=topics,
            licence=licence,
            licence_file_spdx=syn.licence_file_spdx,
            default_branch=syn.default_branch,
            last_commit_at=syn.last_commit_at,
            commit_oid=syn.commit_oid,
            commit_count=syn.commit_count,
            entries=syn.entries,
            languages=syn.languages,
            disk_usage=syn.disk_usage,
            reuse_spdx=syn.reuse_spdx,
            manifest_licence=syn.manifest_licence,
            publiccode_variant=syn.publiccode_variant,
            publiccode_issue=syn.publiccode_issue,
            readme_section=syn.readme_section,
            readme_licence=syn.readme_licence,
        )
        self._repos_by_id[(host, database_id)] = repo
        return repo

    # --- reading ---

    def hosts(self) -> list[str]:
        """Every host served: ``github.com`` then the GitLab hosts, by name."""
        return list(self._kinds)

    def kind(self, host: str) -> str:
        """The forge software of ``host`` (``github``, ``gitlab``), as in organisations.yml.

        Raises:
            KeyError: an unknown host.
        """
        return self._kinds[host]

    def accounts(self, host: str) -> list[Account]:
        """The accounts of ``host`` one would list in organisations.yml, in id order: every
        account on GitHub; the top-level namespaces (groups and users) on GitLab."""
        return [a for a in self._accounts.get(host, {}).values() if a.parent_id is None]

    def namespaces(self, host: str) -> list[Account]:
        """Every account of ``host``, GitLab subgroups included, in id order."""
        return list(self._accounts.get(host, {}).values())

    def account(self, host: str, login: str) -> Account | None:
        """An account by login (GitLab: a namespace by full path), case-insensitive."""
        return self._accounts.get(host, {}).get(login.lower())

    def account_by_id(self, database_id: int, host: str = GITHUB) -> Account | None:
        """An account by id (GitLab: a namespace by namespace/group id)."""
        return self._accounts_by_id.get((host, database_id))

    def user_by_id(self, host: str, user_id: int) -> Account | None:
        """GitLab: a user namespace by its user's id."""
        return self._users_by_id.get((host, user_id))

    def subgroups(self, host: str, group: str) -> list[Account]:
        """GitLab: the direct subgroups of ``group`` (a full path), in id order."""
        parent = self.account(host, group)
        if parent is None:
            return []
        return [a for a in self.namespaces(host) if a.parent_id == parent.database_id]

    def descendants(self, host: str, group: str) -> list[Account]:
        """GitLab: every subgroup below ``group``, at any depth, in id order."""
        prefix = group.lower() + "/"
        return [a for key, a in self._accounts.get(host, {}).items() if key.startswith(prefix)]

    def shared_with(self, host: str, group: str) -> list[Repository]:
        """GitLab: the projects of other namespaces shared with ``group`` (a full path)."""
        index = self._shared
        if index is None:
            index = {}
            for h, owners in list(self._repos.items()):
                by_group: dict[str, list[Repository]] = {}
                for owned in owners.values():
                    for repo in owned:
                        for target in repo.shared_with:
                            by_group.setdefault(target.lower(), []).append(repo)
                index[h] = by_group
            self._shared = index
        return list(index.get(host, {}).get(group.lower(), ()))

    def repositories(self, host: str, owner: str) -> list[Repository]:
        """The repositories of ``owner``, by creation date then name (``[]`` if unknown)."""
        return list(self._repos.get(host, {}).get(owner.lower(), ()))

    def owned(self, host: str, owner: str) -> list[Repository]:
        """Like :meth:`repositories` without the copy: the list must not be modified."""
        return self._repos.get(host, {}).get(owner.lower(), [])

    def repository(self, host: str, owner: str, name: str) -> Repository | None:
        lower = name.lower()
        for repo in self.owned(host, owner):
            if repo.name.lower() == lower:
                return repo
        return None

    def repository_by_id(self, database_id: int, host: str = GITHUB) -> Repository | None:
        """A repository by id (GitLab: a project by id, whatever its visibility)."""
        return self._repos_by_id.get((host, database_id))

    def project(self, host: str, id_or_path: int | str) -> Repository | None:
        """GitLab: a project by id or by ``path_with_namespace`` (case-insensitive)."""
        if isinstance(id_or_path, int):
            return self.repository_by_id(id_or_path, host)
        owner, _, name = id_or_path.rpartition("/")
        return self.repository(host, owner, name) if owner else None

    def all_repositories(self, host: str) -> Iterator[Repository]:
        """Every repository of ``host`` (GitLab: private and internal ones included)."""
        for owned in list(self._repos.get(host, {}).values()):
            yield from owned

    # --- changing (tests simulate upstream changes) ---

    def _find(self, host: str, owner: str, name: str | None) -> Repository:
        if name is None:  # ``owner`` is the full name
            owner, _, name = owner.rpartition("/")
        repo = self.repository(host, owner, name)
        if repo is None:
            raise KeyError(f"{host}/{owner}/{name}")
        return repo

    def remove_repository(self, host: str, owner: str, name: str | None = None) -> Repository:
        """Delete a repository (a GitLab project), as if it had been deleted upstream.

        Args:
            host: its forge.
            owner: its owner's login (GitLab: its namespace's full path), or its full name
                (``path_with_namespace``) when ``name`` is omitted.
            name: its name (GitLab: its path).

        Raises:
            KeyError: no such repository.
        """
        with self._lock:
            repo = self._find(host, owner, name)
            key = repo.owner.lower()
            self._repos[host][key] = [r for r in self._repos[host][key] if r is not repo]
            del self._repos_by_id[(host, repo.database_id)]
            self._replace_count(host, key)
            self._changed()
            return repo

    def update_repository(
        self, host: str, owner: str, name: str | None = None, **changes: Any
    ) -> Repository:
        """Change fields of a repository in place, as if it had changed upstream: e.g.
        ``pushed_at`` or ``stars`` on GitHub, ``last_activity_at`` or ``stars`` on GitLab.

        Args:
            host: its forge.
            owner: as for :meth:`remove_repository`.
            name: as for :meth:`remove_repository`.
            **changes: new values of :class:`Repository` fields.

        Raises:
            KeyError: no such repository.
        """
        with self._lock:
            repo = self._find(host, owner, name)
            new = dataclasses.replace(repo, **changes)  # a fresh record: fresh view caches
            key = repo.owner.lower()
            owned = [new if r is repo else r for r in self._repos[host][key]]
            owned.sort(key=_repo_order)
            self._repos[host][key] = owned
            self._repos_by_id[(host, new.database_id)] = new
            self._changed()
            return new

    def add_repository(self, repo: Repository) -> Repository:
        """Add a repository (a GitLab project), as if it had been created upstream; its owner
        must exist and its id must be new on its host.

        Raises:
            KeyError: its owner is unknown.
            ValueError: its id or its name is taken.
        """
        with self._lock:
            key = repo.owner.lower()
            if key not in self._accounts.get(repo.host, {}):
                raise KeyError(f"{repo.host}/{repo.owner}")
            if (repo.host, repo.database_id) in self._repos_by_id:
                raise ValueError(f"id {repo.database_id} already used on {repo.host}")
            owned = self._repos[repo.host].get(key, [])
            if any(r.name.lower() == repo.name.lower() for r in owned):
                raise ValueError(f"{repo.host}/{repo.full_name} already exists")
            self._repos[repo.host][key] = sorted([*owned, repo], key=_repo_order)
            self._repos_by_id[(repo.host, repo.database_id)] = repo
            self._replace_count(repo.host, key)
            self._changed()
            return repo

    def _changed(self) -> None:
        self._shared = None
        self.version += 1

    def _replace_count(self, host: str, key: str) -> None:
        account = self._accounts[host].get(key)
        if account is not None:
            count = sum(1 for r in self._repos[host][key] if r.visibility == "public")
            new = dataclasses.replace(account, repositories_count=count)
            self._accounts[host][key] = new
            self._accounts_by_id[(host, new.database_id)] = new
            if new.user_id is not None:
                self._users_by_id[(host, new.user_id)] = new


def _repo_order(repo: Repository) -> tuple[str, str]:
    return (repo.created_at, repo.name.lower())


def _make_account(
    host: str,
    database_id: int,
    login: str,
    *,
    profile: dict[str, str] | None,
    owned: list[Repository],
    is_user: bool,
) -> Account:
    kind = "user" if is_user else "organization"
    dates = [r.updated_at for r in owned] + [r.pushed_at for r in owned]
    if profile is not None and profile["creation_date"]:
        created_at = profile["creation_date"]
    else:
        created_at = min((r.created_at for r in owned), default="2015-01-01T00:00:00Z")
    p = profile or {}
    return Account(
        host=host,
        login=login,
        kind=kind,
        database_id=database_id,
        node_id=node_id("U" if is_user else "O", database_id),
        name=_text(p.get("name", "")),
        description=_text(p.get("description", "")),
        website=_text(p.get("website", "")),
        email=_text(p.get("email", "")),
        location=_text(p.get("location", "")),
        avatar_url=p.get("avatar_url")
        or f"https://avatars.githubusercontent.com/u/{database_id}?v=4",
        created_at=created_at,
        updated_at=max([created_at, *dates]),
        repositories_count=len(owned),
    )
