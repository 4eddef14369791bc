"""A day of upstream changes on a dataset, for benchmarks of the daily run.

:func:`mutate` changes a given share of the public repositories the way a day on the forges
does: most were pushed to (``pushed_at``, ``updated_at``, the last commit and GitLab's
``last_activity_at`` move to ``now``), a few are new, a few were deleted, a few had their
licence file replaced. The choice is a hash of ``seed`` and each repository's id, so the same
call on the same dataset changes the same repositories.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from localforge.data import Dataset, Repository, node_id
from localforge.licences import LICENCES_BY_KEY

#: The share of the changed repositories that are deleted, new, or get another licence file
#: (the rest were pushed to).
REMOVED_SHARE = 0.05
ADDED_SHARE = 0.05
LICENCE_SHARE = 0.05
#: A licence file replaced by another licence's text: from → to (GitHub's SPDX ids).
LICENCE_SWAPS = {"MIT": "Apache-2.0", "Apache-2.0": "MIT", "GPL-3.0": "AGPL-3.0"}


@dataclass
class Mutation:
    """What :func:`mutate` changed, as ``HOST/OWNER/NAME`` (a repository's id, lower case as
    the crawler stores it)."""

    pushed: list[str] = field(default_factory=list)
    """Pushed to: dates and last commit moved."""
    licence_changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Licence file replaced: id → (old SPDX id, new SPDX id), GitHub's ids; pushed to too."""
    added: list[str] = field(default_factory=list)
    """Created upstream (a copy of one of its owner's repositories under a new name)."""
    removed: list[str] = field(default_factory=list)
    """Deleted upstream."""

    @property
    def total(self) -> int:
        return len(self.pushed) + len(self.licence_changed) + len(self.added) + len(self.removed)


def mutate(
    dataset: Dataset,
    fraction: float,
    *,
    now: dt.datetime | None = None,
    seed: int = 0,
    hosts: list[str] | None = None,
) -> Mutation:
    """Change ``fraction`` of the public repositories of ``hosts`` (default: every host).

    Args:
        dataset: changed in place (while a forge serves it, if need be).
        fraction: the share of public repositories changed, between 0 and 1; at least one of
            each kind of change is made when ``fraction`` > 0.
        now: the time of the changes (default: now, UTC).
        seed: another seed changes other repositories.
        hosts: the hosts to change.

    Raises:
        ValueError: ``fraction`` is not between 0 and 1.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, not {fraction}")
    when = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)
    chosen = _choose(dataset, fraction, seed, hosts or dataset.hosts())
    result = Mutation()
    if not chosen:
        return result
    count = len(chosen)
    removed = max(1, round(count * REMOVED_SHARE))
    added = max(1, round(count * ADDED_SHARE))
    licence = max(1, round(count * LICENCE_SHARE))
    for repo in chosen[:removed]:
        dataset.remove_repository(repo.host, repo.owner, repo.name)
        result.removed.append(_id(repo))
    rest = chosen[removed:]
    swappable = [r for r in rest if _swap(r) is not None][:licence]
    for repo in swappable:
        old = repo.licence_file_spdx or ""
        new = LICENCE_SWAPS[old]
        dataset.update_repository(
            repo.host,
            repo.owner,
            repo.name,
            licence_file_spdx=new,
            licence=LICENCES_BY_KEY[new.lower()],
            **_pushed(repo, when),
        )
        result.licence_changed[_id(repo)] = (old, new)
    taken = {id(r) for r in swappable}
    rest = [r for r in rest if id(r) not in taken]
    templates, pushed = rest[:added], rest[added:]
    for repo in pushed:
        dataset.update_repository(repo.host, repo.owner, repo.name, **_pushed(repo, when))
        result.pushed.append(_id(repo))
    next_ids: dict[str, int] = {}
    for index, template in enumerate(templates):
        host = template.host
        if host not in next_ids:
            next_ids[host] = 1 + max(r.database_id for r in dataset.all_repositories(host))
        created = _new_repository(template, next_ids[host], index, seed, when)
        next_ids[host] += 1
        dataset.add_repository(created)
        result.added.append(_id(created))
    return result


def _choose(dataset: Dataset, fraction: float, seed: int, hosts: list[str]) -> list[Repository]:
    candidates = [
        r
        for host in hosts
        for r in dataset.all_repositories(host)
        if r.visibility == "public" and not r.is_empty
    ]
    count = round(len(candidates) * fraction)
    if fraction > 0:
        count = max(count, min(3, len(candidates)))

    def draw(repo: Repository) -> bytes:
        key = f"{seed}:{repo.host}:{repo.database_id}".encode()
        return hashlib.blake2b(key, digest_size=8).digest()

    return sorted(candidates, key=draw)[:count]


def _swap(repo: Repository) -> str | None:
    """The licence a repository's licence file can be switched to, if its file is a single
    recognised licence (no REUSE directory, no LGPL's pair of files)."""
    if repo.reuse_spdx or repo.licence_file_spdx not in LICENCE_SWAPS:
        return None
    return LICENCE_SWAPS[repo.licence_file_spdx]


def _pushed(repo: Repository, when: dt.datetime) -> dict[str, Any]:
    """The fields a push moves, in each forge's date format."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    changes: dict[str, Any] = {
        "pushed_at": stamp,
        "updated_at": stamp,
        "last_commit_at": stamp,
        "commit_oid": hashlib.sha1(
            f"{repo.commit_oid}:{stamp}".encode(), usedforsecurity=False
        ).hexdigest(),
        "commit_count": repo.commit_count + 1,
    }
    if repo.last_activity_at:  # GitLab
        changes["last_activity_at"] = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return changes


def _new_repository(
    template: Repository, database_id: int, index: int, seed: int, when: dt.datetime
) -> Repository:
    node = template.node_id.partition("_")[0]
    created: dict[str, Any] = {
        "name": f"{template.name}-{seed}-{index}-nouveau",
        "database_id": database_id,
        "node_id": node_id(node or "R", database_id),
        "created_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "is_fork": False,
        "forked_from": None,
        "shared_with": (),
        "stars": 0,
        "forks": 0,
        "open_issues": 0,
        "closed_issues": 0,
    }
    return dataclasses.replace(template, **created, **_pushed(template, when))


def _id(repo: Repository) -> str:
    return f"{repo.host}/{repo.owner}/{repo.name}".lower()
