"""Link SILL entries to the inventory's repositories: pure functions on URLs.

A link always rests on an address that both sides give, never on a name that looks alike:

- ``repository_url``: the software's code repository URL, normalised, is the repository's id
  or URL, normalised (``normalise_repository_url``);
- ``publiccode_url``: the repository's publiccode.yml declares as its ``url`` the software's
  code repository (a mirror on GitHub of a project developed on a GitLab instance says so);
- ``website``: the software's website is itself a repository URL on a forge (the 2022 SILL
  gives ``https://github.com/InseeFrLab/onyxia`` as Onyxia's website);
- ``homepage`` (``homepage_fork`` for a fork): the repository's homepage is the software's
  website, under the rule of ``is_specific_website``.

Two SILL entries giving the same repository both link to it; an entry links to every
repository that qualifies (upstream and mirror), once per pair, under its strongest evidence in
the order above.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sill.models import Software

#: Strongest first: a pair matched several ways is recorded under the first.
MATCH_KINDS = ("repository_url", "publiccode_url", "website", "homepage", "homepage_fork")

#: Forges whose repositories are always ``OWNER/NAME``: anything deeper is a page of the
#: repository (``/tree/main/src``, ``/issues/12``, ``/src/branch/main``).
FLAT_FORGES = frozenset(
    {"github.com", "bitbucket.org", "codeberg.org", "gitea.com", "gitee.com", "git.sr.ht"}
)
#: First path segments that are forge pages, not owners (``github.com/orgs/etalab``,
#: ``gitlab.com/groups/x``, ``gitlab.com/explore``).
_NOT_OWNERS = frozenset(
    {
        "-",
        "about",
        "admin",
        "apps",
        "collections",
        "dashboard",
        "enterprise",
        "explore",
        "features",
        "groups",
        "help",
        "login",
        "marketplace",
        "notifications",
        "orgs",
        "organizations",
        "search",
        "settings",
        "sponsors",
        "topics",
        "users",
    }
)
#: Path segments after which a URL points inside a repository (GitLab ``/-/…``, GitHub and
#: old GitLab ``/tree/…``, ``/blob/…``, Gitea ``/src/…``…). Only looked for after
#: ``OWNER/NAME``, so an owner or a group called ``tree`` is still read as one.
_INSIDE_REPOSITORY = frozenset(
    {
        "-",
        "actions",
        "activity",
        "archive",
        "blame",
        "blob",
        "branches",
        "commit",
        "commits",
        "compare",
        "discussions",
        "edit",
        "files",
        "graphs",
        "issues",
        "labels",
        "merge_requests",
        "milestones",
        "network",
        "packages",
        "pipelines",
        "pull",
        "pulls",
        "raw",
        "releases",
        "security",
        "src",
        "tags",
        "tree",
        "wiki",
        "wikis",
    }
)
_SCHEMES = frozenset({"http", "https", "git", "ssh", "git+ssh", "ssh+git", "git+https", "git+http"})
#: An address without a scheme starts with a host name (``github.com/etalab/sill``).
_BARE_HOST = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+(:\d+)?(/|$)", re.IGNORECASE)
_SOURCEFORGE_HOSTS = frozenset({"sourceforge.net", "git.code.sf.net", "svn.code.sf.net"})

#: Hosts whose pages never identify one software: forges, registries, encyclopaedias,
#: catalogues (the SILL's own among them), app stores, social networks.
GENERIC_HOSTS = frozenset(
    {
        "addons.mozilla.org",
        "apps.apple.com",
        "bitbucket.org",
        "catalogue.numerique.gouv.fr",
        "chrome.google.com",
        "code.gouv.fr",
        "codeberg.org",
        "comptoir-du-libre.org",
        "docs.google.com",
        "facebook.com",
        "framagit.org",
        "framalibre.org",
        "gitea.com",
        "gitee.com",
        "github.com",
        "gitlab.com",
        "google.com",
        "hub.docker.com",
        "launchpad.net",
        "linkedin.com",
        "medium.com",
        "npmjs.com",
        "packagist.org",
        "play.google.com",
        "pypi.org",
        "readthedocs.io",
        "readthedocs.org",
        "savannah.gnu.org",
        "sill.etalab.gouv.fr",
        "sites.google.com",
        "sourceforge.net",
        "sr.ht",
        "twitter.com",
        "wikidata.org",
        "wikipedia.org",
        "x.com",
        "youtube.com",
    }
)


@dataclass(frozen=True)
class RepositoryRef:
    """What matching needs of an inventory repository: plain values, no crawler import."""

    id: str
    """The inventory id, ``HOST/OWNER/NAME`` lower-case (GitLab subgroups included)."""
    url: str | None = None
    homepage: str | None = None
    publiccode_url: str | None = None
    """The ``url`` declared in the repository's publiccode.yml, if it has one."""
    is_fork: bool = False


@dataclass(frozen=True)
class Link:
    """A row of ``sill_repositories``."""

    sill_id: int
    repository_id: str
    match: str
    """How the link was established: one of ``MATCH_KINDS``."""


def _host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    return host.removeprefix("www.")


def _split_scp(url: str) -> str:
    """``git@host:owner/repo.git`` (scp-like SSH) as ``ssh://git@host/owner/repo.git``."""
    if "://" in url or ":" not in url:
        return url
    head, _, tail = url.partition(":")
    host = head.rpartition("@")[2]
    if "." in host and not tail.startswith("/") and not tail.split("/")[0].isdigit():
        return f"ssh://{head}/{tail}"
    return url


def normalise_repository_url(url: str | None) -> str | None:
    """A repository URL in the inventory's id form, ``host/owner/…/name``, lower-case.

    Removes what varies between two spellings of one repository: the scheme (``http``,
    ``https``, ``git``, ``ssh``, ``git+ssh``, ``git@host:owner/repo``), user and port, ``www.``,
    case, a trailing ``/`` or ``.git``, the query and fragment (``?tab=readme``, ``#readme``),
    and a path inside the repository (``/-/tree/main``, ``/tree/…``, ``/blob/…``,
    ``/-/blob/…``). GitLab subgroups are kept (``gitlab.com/group/subgroup/project``); on
    GitHub-like forges, only ``OWNER/NAME`` is kept. SourceForge projects become
    ``sourceforge.net/projects/NAME`` whichever of their addresses is given.

    Returns:
        The normalised form, or ``None`` for what is not a repository: an empty or unparsable
        URL, another scheme (``mailto:``), a host alone, or an owner's or group's page.
    """
    if url is None:
        return None
    text = _split_scp(url.strip())
    if not text:
        return None
    if "://" not in text:
        if not _BARE_HOST.match(text):
            return None
        text = "https://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in _SCHEMES or not hostname:
        return None
    host = _host(hostname)
    segments = [s for s in unquote(parts.path).lower().split("/") if s]
    if host in _SOURCEFORGE_HOSTS:
        if len(segments) >= 2 and segments[0] in ("projects", "p"):
            return f"sourceforge.net/projects/{segments[1]}"
        return None
    if not segments or segments[0] in _NOT_OWNERS:
        return None
    for index in range(2, len(segments)):
        if segments[index] in _INSIDE_REPOSITORY:
            segments = segments[:index]
            break
    if host in FLAT_FORGES:
        segments = segments[:2]
    segments[-1] = segments[-1].removesuffix(".git")
    segments = [s for s in segments if s]
    if len(segments) < 2:
        return None
    return "/".join([host, *segments])


def normalise_website(url: str | None) -> str | None:
    """A website address compared without scheme, ``www.``, case, port, query, fragment,
    trailing ``/`` or ``index.html``: ``https://www.Demarches-Simplifiees.fr/`` and
    ``http://demarches-simplifiees.fr`` are one site. ``None`` when it is not a web address."""
    if url is None or not url.strip():
        return None
    text = url.strip()
    if "://" not in text:
        if not _BARE_HOST.match(text):
            return None
        text = "https://" + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname or "." not in hostname:
        return None
    segments = [s for s in unquote(parts.path).lower().split("/") if s]
    if segments and segments[-1] in ("index.html", "index.htm", "index.php"):
        segments.pop()
    return "/".join([_host(hostname), *segments])


def _is_generic_host(host: str, forge_hosts: Collection[str]) -> bool:
    return any(host == g or host.endswith("." + g) for g in GENERIC_HOSTS) or host in forge_hosts


def is_specific_website(url: str | None, forge_hosts: Collection[str] = ()) -> bool:
    """Whether a software's website can identify repositories whose homepage it is.

    A homepage equal to the website is evidence only when the website belongs to that software
    alone. It does not when it is a page of a forge (``github.com/etalab``, or any host the
    inventory crawls as a forge, such as ``gitlab.adullact.net``: those are listings of many
    projects, and a repository on the forge is linked by its URL instead), nor a page of a
    registry, an encyclopaedia, a catalogue or a social network (``GENERIC_HOSTS``), whose
    addresses many unrelated projects share. ``match`` also discards a website that two SILL
    entries give (``eclipse.org`` for a family of tools names a vendor, not one software).

    A project site on a pages host (``wekan.github.io``, ``x.readthedocs.io``) is specific:
    it is the project's own.
    """
    site = normalise_website(url)
    if site is None:
        return False
    host = site.split("/", 1)[0]
    return not _is_generic_host(host, forge_hosts)


def _forge_hosts(repositories: Iterable[RepositoryRef]) -> set[str]:
    hosts = set()
    for repository in repositories:
        hosts.add(repository.id.split("/", 1)[0].lower())
        key = normalise_repository_url(repository.url)
        if key:
            hosts.add(key.split("/", 1)[0])
    return hosts


def match(software: Sequence[Software], repositories: Iterable[RepositoryRef]) -> list[Link]:
    """Every (SILL entry, repository) pair that shares an address, with how it was found.

    Args:
        software: the SILL entries (``SillExport.software``).
        repositories: the inventory's repositories.

    Returns:
        One ``Link`` per pair, sorted by SILL id then repository id.
    """
    repos = list(repositories)
    forge_hosts = _forge_hosts(repos)
    by_address: defaultdict[str, set[str]] = defaultdict(set)
    by_publiccode: defaultdict[str, set[str]] = defaultdict(set)
    by_homepage: defaultdict[str, set[tuple[str, bool]]] = defaultdict(set)
    for repo in repos:
        by_address[repo.id.lower()].add(repo.id)
        address = normalise_repository_url(repo.url)
        if address:
            by_address[address].add(repo.id)
        declared = normalise_repository_url(repo.publiccode_url)
        if declared:
            by_publiccode[declared].add(repo.id)
        homepage = normalise_website(repo.homepage)
        if homepage and is_specific_website(repo.homepage, forge_hosts):
            by_homepage[homepage].add((repo.id, repo.is_fork))

    websites = Counter(site for s in software if (site := normalise_website(s.website)) is not None)
    links: dict[tuple[int, str], str] = {}

    def add(sill_id: int, repository_ids: Iterable[str], kind: str) -> None:
        for repository_id in repository_ids:
            known = links.get((sill_id, repository_id))
            if known is None or MATCH_KINDS.index(kind) < MATCH_KINDS.index(known):
                links[(sill_id, repository_id)] = kind

    for entry in software:
        address = normalise_repository_url(entry.repository_url)
        if address:
            add(entry.id, by_address.get(address, ()), "repository_url")
            add(entry.id, by_publiccode.get(address, ()), "publiccode_url")
        site = normalise_website(entry.website)
        if site is None:
            continue
        if not is_specific_website(entry.website, forge_hosts):
            website_address = normalise_repository_url(entry.website)
            if website_address:
                add(entry.id, by_address.get(website_address, ()), "website")
            continue
        if websites[site] > 1:
            continue
        for repository_id, is_fork in by_homepage.get(site, ()):
            add(entry.id, (repository_id,), "homepage_fork" if is_fork else "homepage")
    return [Link(s, r, kind) for (s, r), kind in sorted(links.items())]
