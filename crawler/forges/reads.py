"""What to read of a repository beyond its listing, and in which order: one policy that every
forge adapter asks, so that a new adapter (Gitea…) does not write the order a third time.

The licence is looked for in order of likelihood, and reading stops once it is known: the root
licence file(s) (two at most: a GPL ``COPYING`` beside an LGPL ``COPYING.LESSER``), then the
file names in REUSE's ``LICENSES/`` folder (SPDX ids), then the package manifests, then (only
when a ``readme_licence`` reader is given, and only when the root holds no licence file at all)
the licence section of the first README. A licence file we cannot name (NOASSERTION) is not
overruled by a README: it may be a modified licence whose README still names the original.
A publiccode.yml is read unless it was read before the repository's last push.

GitLab reads one step after another and stops as soon as the licence is known
(``read_licence``); GitHub asks for the steps of many repositories in one GraphQL query, so it
takes the whole list (``licence_steps``) and detects on what came back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from crawler.licences import NOASSERTION, NONE, detect_files
from crawler.models import KnownRepository, Repository
from crawler.rootfiles import RootFiles, classify

#: Root licence files read per repository (one in the usual case).
MAX_LICENCE_FILES = 2

StepKind = Literal["licence", "folder", "manifest", "readme"]
#: A README's text → its licence section's SPDX id (``None``: no section, or no licence named).
ReadmeLicence = Callable[[str | bytes | None], str | None]


@dataclass(frozen=True)
class Step:
    """One thing to read: a file's text (``licence``, ``manifest``, ``readme``) or a folder's
    file names (``folder``)."""

    kind: StepKind
    path: str


def licence_unknown(repository: Repository) -> bool:
    """Whether the forge's answer leaves the licence to be read from the files."""
    return repository.licence in (NOASSERTION, NONE) and repository.licence_source == "forge"


def readme_files(names: Iterable[str]) -> tuple[str, ...]:
    """The root file names that are a README, as ``crawler.rootfiles`` tells them."""
    return tuple(name for name in names if classify([(name, "blob")]).has_readme)


def licence_steps(
    files: RootFiles,
    *,
    max_manifests: int | None = None,
    readmes: Sequence[str] = (),
    readme_licence: ReadmeLicence | None = None,
) -> tuple[Step, ...]:
    """Every step that may tell the licence, in the order they are tried.

    Args:
        files: the repository's root files.
        max_manifests: package manifests tried at most (``None``: all of them).
        readmes: the root README names (see ``readme_files``); the README step comes after
            the manifests, only when ``readme_licence`` is given and there is no licence file
            (nor ``LICENSES/`` folder).
        readme_licence: what reads a README's licence section.
    """
    steps = [Step("licence", name) for name in files.licence_files[:MAX_LICENCE_FILES]]
    steps += [Step("folder", name) for name in files.licence_dirs]
    steps += [Step("manifest", name) for name in files.manifests[:max_manifests]]
    if readme_licence is not None and not files.has_licence_file:
        steps += [Step("readme", name) for name in readmes[:1]]
    return tuple(steps)


def publiccode_to_read(files: RootFiles, known: KnownRepository | None) -> str | None:
    """The publiccode.yml to read, unless it is stored and the repository unchanged since
    (``known``: what the database holds of it when it was not pushed to since)."""
    if not files.publiccode_files or (known is not None and known.publiccode_read):
        return None
    return files.publiccode_files[0]


def read_licence(
    files: RootFiles,
    steps: Sequence[Step],
    read: Callable[[str], str | bytes | None],
    list_folder: Callable[[str], Iterable[str]],
    readme_licence: ReadmeLicence | None = None,
) -> tuple[str, str]:
    """Run the steps in order, reading no further than needed; the licence and where it came
    from: ``forge`` when there was nothing to read (NOASSERTION beside a licence file, NONE
    without), else ``detected`` (NONE included), ``manifest`` or ``readme``.

    Args:
        files: the repository's root files.
        steps: from ``licence_steps``.
        read: a file's text (``None``: gone since the tree was listed).
        list_folder: the names of the files of a folder.
        readme_licence: what reads a README's licence section.
    """
    texts: dict[str, str | bytes | None] = {}
    found = detect_files(texts)
    for step in steps:
        if step.kind != "licence":
            found = detect_files(texts)
            if found.licence not in (NONE, NOASSERTION):
                break
        if step.kind == "folder":
            texts.update((f"{step.path}/{name}", None) for name in list_folder(step.path))
        elif step.kind == "readme":
            licence = readme_licence(read(step.path)) if readme_licence else None
            if licence is not None:
                return licence, "readme"
        else:
            text = read(step.path)
            if text is not None:
                texts[step.path] = text
    if not texts:
        return (NOASSERTION if files.has_licence_file else NONE), "forge"
    found = detect_files(texts)
    return found.licence, found.source
