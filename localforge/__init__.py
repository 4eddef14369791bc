"""A local GitHub API (REST v3 and GraphQL v4) and GitLab API v4, for tests, the offline demo
and benchmarks.

It serves real 2021 code.gouv.fr data over real HTTP on the loopback interface, in the forges'
formats (pagination, rate-limit headers, ETags, errors), so the real clients run against it, and
it can inject latency and faults (:mod:`localforge.faults`)::

    from localforge import Dataset, LocalForge

    with LocalForge(Dataset.load()) as forge:
        github = Github(base_url=forge.api_url("github.com"), auth=Auth.Token("x"))
        gitlab = Gitlab(url=forge.gitlab_url(GITLAB_INSTANCE), private_token="x")
"""

from localforge.data import USER_LOGINS, Account, Dataset, Repository, TreeEntry
from localforge.faults import DEFAULT_FAULT_KINDS, FAULT_KINDS
from localforge.gitlab_data import GITLAB_INSTANCE, USER_NAMESPACES, gitlab_licence
from localforge.licences import Licence, licence_text
from localforge.server import LocalForge

__all__ = [
    "DEFAULT_FAULT_KINDS",
    "FAULT_KINDS",
    "GITLAB_INSTANCE",
    "USER_LOGINS",
    "USER_NAMESPACES",
    "Account",
    "Dataset",
    "Licence",
    "LocalForge",
    "Repository",
    "TreeEntry",
    "gitlab_licence",
    "licence_text",
]
