"""Forge adapters, one module per forge kind."""

from __future__ import annotations

from crawler.forges.base import Forge
from crawler.forges.github import GitHubForge

#: The adapter for each supported forge kind.
ADAPTERS: dict[str, type[Forge]] = {
    GitHubForge.kind: GitHubForge,
}
