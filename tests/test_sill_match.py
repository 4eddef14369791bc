"""sill.match: repository URL normalisation and the evidence that links SILL entries to
repositories."""

from __future__ import annotations

import pytest

from sill.load import BUNDLED_2022, load
from sill.match import (
    MATCH_KINDS,
    Link,
    RepositoryRef,
    is_specific_website,
    match,
    normalise_repository_url,
    normalise_website,
)
from sill.models import Software


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # scheme, www., case
        ("https://github.com/etalab/sill", "github.com/etalab/sill"),
        ("http://github.com/etalab/sill", "github.com/etalab/sill"),
        ("https://www.github.com/Etalab/SILL", "github.com/etalab/sill"),
        ("https://GitHub.com/Etalab/Sill", "github.com/etalab/sill"),
        ("github.com/etalab/sill", "github.com/etalab/sill"),
        ("git://github.com/etalab/sill.git", "github.com/etalab/sill"),
        ("git+ssh://git@github.com/etalab/sill.git", "github.com/etalab/sill"),
        ("git+https://github.com/hackmdio/codimd.git", "github.com/hackmdio/codimd"),
        ("ssh://git@github.com/etalab/sill.git", "github.com/etalab/sill"),
        ("git@github.com:etalab/sill.git", "github.com/etalab/sill"),
        ("git@gitlab.com:Group/Sub/Project.git", "gitlab.com/group/sub/project"),
        ("ssh://git@gitlab.example.org:2222/group/project.git", "gitlab.example.org/group/project"),
        ("https://user@gitlab.example.org:8443/group/project", "gitlab.example.org/group/project"),
        # trailing / and .git
        ("https://github.com/etalab/sill/", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill.git", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill.git/", "github.com/etalab/sill"),
        ("  https://github.com/etalab/sill  ", "github.com/etalab/sill"),
        # pages inside the repository
        ("https://github.com/etalab/sill/tree/main/docs", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill/blob/main/README.md", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill/issues/12", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill/releases/tag/v1", "github.com/etalab/sill"),
        ("https://gitlab.com/group/project/-/tree/main", "gitlab.com/group/project"),
        ("https://gitlab.com/group/project/-/blob/main/README.md", "gitlab.com/group/project"),
        ("https://gitlab.com/group/project/tree/master", "gitlab.com/group/project"),
        ("https://gitlab.com/group/project/blob/master/x.py", "gitlab.com/group/project"),
        ("https://codeberg.org/owner/repo/src/branch/main", "codeberg.org/owner/repo"),
        # query strings and fragments
        ("https://github.com/etalab/sill#readme", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill?tab=readme-ov-file", "github.com/etalab/sill"),
        ("https://gitlab.com/group/project?ref_type=heads#top", "gitlab.com/group/project"),
        # GitLab subgroups are kept
        ("https://gitlab.com/group/subgroup/project", "gitlab.com/group/subgroup/project"),
        (
            "https://gitlab.adullact.net/Group/Sub/Deeper/Project/-/tree/main/src",
            "gitlab.adullact.net/group/sub/deeper/project",
        ),
        (
            "https://forge.example.gouv.fr/a/b/c.git",
            "forge.example.gouv.fr/a/b/c",
        ),
        # GitHub has no subgroups: anything below OWNER/NAME is a page of the repository
        ("https://github.com/etalab/sill/wiki/Home", "github.com/etalab/sill"),
        ("https://github.com/etalab/sill/anything/else", "github.com/etalab/sill"),
        # an owner called like a marker is still an owner
        ("https://github.com/tree/tree", "github.com/tree/tree"),
        # SourceForge projects, whichever address
        (
            "https://sourceforge.net/projects/sevenzip/files/7-Zip/",
            "sourceforge.net/projects/sevenzip",
        ),
        ("https://sourceforge.net/p/keepass/code/", "sourceforge.net/projects/keepass"),
        ("git://git.code.sf.net/p/projectlibre/code", "sourceforge.net/projects/projectlibre"),
        # real URLs of the 2022 SILL
        (
            "https://git.koha-community.org/Koha-community/Koha",
            "git.koha-community.org/koha-community/koha",
        ),
        ("https://git.sr.ht/~sircmpwn/scdoc/tree", "git.sr.ht/~sircmpwn/scdoc"),
    ],
)
def test_normalise_repository_url(url: str, expected: str) -> None:
    assert normalise_repository_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "   ",
        "https://github.com",
        "https://github.com/",
        "https://www.github.com",
        "https://github.com/etalab",
        "https://github.com/etalab/",
        "https://github.com/orgs/etalab/repositories",
        "https://github.com/topics/python",
        "https://gitlab.com/groups/group/subgroup",
        "https://gitlab.com/explore/projects",
        "https://gitlab.adullact.net/",
        "https://git.postgresql.org/gitweb/?p=postgresql.git",
        "https://sourceforge.net/",
        "mailto:contact@example.gouv.fr",
        "ftp://ftp.example.org/pub/project",
        "not a url",
        "https://[invalid",
    ],
)
def test_not_a_repository(url: str | None) -> None:
    assert normalise_repository_url(url) is None


def test_normalise_website() -> None:
    assert normalise_website("https://www.Demarches-Simplifiees.fr/") == "demarches-simplifiees.fr"
    assert normalise_website("http://demarches-simplifiees.fr/index.html") == (
        "demarches-simplifiees.fr"
    )
    assert normalise_website("https://www.eclipse.org/acceleo?x=1#top") == "eclipse.org/acceleo"
    assert normalise_website("mailto:a@b.fr") is None
    assert normalise_website(None) is None and normalise_website(" ") is None


# -- linking ---------------------------------------------------------------------------------


def sw(
    sill_id: int,
    name: str = "x",
    repository_url: str | None = None,
    website: str | None = None,
) -> Software:
    return Software(id=sill_id, name=name, repository_url=repository_url, website=website)


def kinds(links: list[Link]) -> set[tuple[int, str, str]]:
    return {(link.sill_id, link.repository_id, link.match) for link in links}


def test_two_entries_one_repository_and_one_entry_two_repositories() -> None:
    upstream = RepositoryRef(
        "gitlab.adullact.net/group/sub/project",
        url="https://gitlab.adullact.net/group/sub/project",
    )
    # The GitHub mirror says in its publiccode.yml that the project lives on the GitLab.
    mirror = RepositoryRef(
        "github.com/org/project",
        url="https://github.com/org/project",
        publiccode_url="https://gitlab.adullact.net/group/sub/project.git",
    )
    other = RepositoryRef("github.com/org/other", url="https://github.com/org/other")
    software = [
        sw(1, repository_url="https://gitlab.adullact.net/Group/Sub/Project.git"),
        sw(2, repository_url="git@gitlab.adullact.net:group/sub/project.git"),
        sw(3, repository_url="https://github.com/org/other/tree/main"),
    ]
    links = match(software, [upstream, mirror, other])
    assert kinds(links) == {
        (1, "gitlab.adullact.net/group/sub/project", "repository_url"),
        (1, "github.com/org/project", "publiccode_url"),
        (2, "gitlab.adullact.net/group/sub/project", "repository_url"),
        (2, "github.com/org/project", "publiccode_url"),
        (3, "github.com/org/other", "repository_url"),
    }
    assert links == sorted(links, key=lambda link: (link.sill_id, link.repository_id))


def test_repository_matched_by_id_when_url_is_missing() -> None:
    links = match(
        [sw(1, repository_url="https://github.com/Etalab/Sill")],
        [RepositoryRef("github.com/etalab/sill")],
    )
    assert kinds(links) == {(1, "github.com/etalab/sill", "repository_url")}


def test_one_link_per_pair_under_the_strongest_evidence() -> None:
    repo = RepositoryRef(
        "github.com/demarches-simplifiees/demarches-simplifiees.fr",
        url="https://github.com/demarches-simplifiees/demarches-simplifiees.fr",
        homepage="https://www.demarches-simplifiees.fr",
        publiccode_url="https://github.com/demarches-simplifiees/demarches-simplifiees.fr",
    )
    software = sw(
        205,
        repository_url="https://github.com/demarches-simplifiees/demarches-simplifiees.fr",
        website="https://www.demarches-simplifiees.fr/",
    )
    (link,) = match([software], [repo])
    assert link.match == "repository_url" == MATCH_KINDS[0]


def test_homepage_evidence() -> None:
    site = RepositoryRef(
        "github.com/socialgouv/archifiltre-site",
        url="https://github.com/SocialGouv/archifiltre-site",
        homepage="https://archifiltre.fabrique.social.gouv.fr",
    )
    fork = RepositoryRef(
        "github.com/socialgouv/tps",
        url="https://github.com/SocialGouv/tps",
        homepage="https://www.demarches-simplifiees.fr",
        is_fork=True,
    )
    software = [
        sw(185, website="https://archifiltre.fabrique.social.gouv.fr/"),
        sw(205, website="http://demarches-simplifiees.fr"),
    ]
    assert kinds(match(software, [site, fork])) == {
        (185, "github.com/socialgouv/archifiltre-site", "homepage"),
        (205, "github.com/socialgouv/tps", "homepage_fork"),
    }


@pytest.mark.parametrize(
    "website",
    [
        "https://github.com/etalab",  # a forge page: an owner's listing
        "https://gitlab.com/",
        "https://gitlab.adullact.net/",  # a forge the inventory crawls
        "https://fr.wikipedia.org/wiki/Logiciel",
        "https://framalibre.org/notices/x",
        "https://pypi.org/project/x/",
        "https://code.gouv.fr/",
        None,
    ],
)
def test_homepage_of_a_generic_page_is_no_evidence(website: str | None) -> None:
    repos = [
        RepositoryRef("github.com/etalab/x", url="https://github.com/etalab/x", homepage=website),
        RepositoryRef("gitlab.adullact.net/a/b", homepage=website),
    ]
    assert match([sw(1, website=website)], repos) == []


def test_website_shared_by_two_entries_is_no_evidence() -> None:
    repo = RepositoryRef("github.com/x/ide", homepage="https://www.eclipse.org/")
    software = [sw(38, website="https://www.eclipse.org"), sw(99, website="https://eclipse.org/")]
    assert match(software, [repo]) == []
    # Alone, the same website is specific enough.
    assert kinds(match(software[:1], [repo])) == {(38, "github.com/x/ide", "homepage")}


def test_is_specific_website() -> None:
    assert is_specific_website("https://www.demarches-simplifiees.fr/")
    assert is_specific_website("https://wekan.github.io")  # a project's own pages site
    assert not is_specific_website("https://github.com/wekan")
    assert not is_specific_website("https://en.wikipedia.org/wiki/Wekan")
    assert not is_specific_website("https://git.example.fr/", forge_hosts={"git.example.fr"})
    assert not is_specific_website("not a url")


def test_website_that_is_a_repository_url() -> None:
    # Onyxia's website in the 2022 SILL is its GitHub repository.
    repo = RepositoryRef("github.com/inseefrlab/onyxia", url="https://github.com/InseeFrLab/onyxia")
    links = match([sw(233, website="https://github.com/InseeFrLab/onyxia")], [repo])
    assert kinds(links) == {(233, "github.com/inseefrlab/onyxia", "website")}


def test_never_on_name_similarity_alone() -> None:
    repos = [
        RepositoryRef("github.com/etalab/7zip", url="https://github.com/etalab/7zip"),
        RepositoryRef("github.com/ip7z/7zip-fork", url="https://github.com/ip7z/7zip-fork"),
    ]
    assert match([sw(1, name="7zip", repository_url="https://github.com/ip7z/7zip")], repos) == []
    assert match([sw(1, name="7zip")], repos) == []


def test_real_2022_sill_against_real_2021_repositories() -> None:
    """Rows of the 2021 code.gouv.fr repositories (etalab/data-codes-sources-fr, 2021-11-15)
    against the real 2022 SILL."""
    repositories = [
        RepositoryRef(
            "github.com/socialgouv/archifiltre",
            url="https://github.com/SocialGouv/archifiltre",
            homepage="https://archifiltre.fabrique.social.gouv.fr",
        ),
        RepositoryRef(
            "github.com/socialgouv/archifiltre-site",
            url="https://github.com/SocialGouv/archifiltre-site",
            homepage="https://archifiltre.fabrique.social.gouv.fr",
        ),
        RepositoryRef(
            "gitlab.ow2.org/lemonldap-ng/lemonldap-ng",
            url="https://gitlab.ow2.org/lemonldap-ng/lemonldap-ng",
        ),
        RepositoryRef(
            "github.com/1024pix/pix-analytics",
            url="https://github.com/1024pix/pix-analytics",
            homepage="https://matomo.org",
            is_fork=True,
        ),
        RepositoryRef("github.com/etalab/sill", url="https://github.com/etalab/sill"),
    ]
    sill = load(BUNDLED_2022).software
    assert kinds(match(sill, repositories)) == {
        (77, "gitlab.ow2.org/lemonldap-ng/lemonldap-ng", "repository_url"),
        (176, "github.com/1024pix/pix-analytics", "homepage_fork"),
        (185, "github.com/socialgouv/archifiltre", "repository_url"),
        (185, "github.com/socialgouv/archifiltre-site", "homepage"),
    }
