"""A local GitHub API (REST v3 and GraphQL v4) for tests, the offline demo and benchmarks.

It serves real 2021 code.gouv.fr data over real HTTP on the loopback interface, in GitHub's
formats (pagination, rate-limit headers, ETags, errors), so the real clients run against it::

    from localforge import Dataset, LocalForge

    with LocalForge(Dataset.load()) as forge:
        github = Github(base_url=forge.api_url("github.com"), auth=Auth.Token("x"))
"""

from localforge.data import USER_LOGINS, Account, Dataset, Repository, TreeEntry
from localforge.licences import Licence, licence_text
from localforge.server import LocalForge

__all__ = [
    "USER_LOGINS",
    "Account",
    "Dataset",
    "Licence",
    "LocalForge",
    "Repository",
    "TreeEntry",
    "licence_text",
]
