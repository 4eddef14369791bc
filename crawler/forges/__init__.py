"""Forge adapters, one module per forge kind."""

from __future__ import annotations

from crawler.forges.base import Forge
from crawler.forges.github import GitHubForge
from crawler.forges.gitlab import GitLabForge

#: The adapter for each supported forge kind (``crawler.models.SUPPORTED_KINDS``).
ADAPTERS: dict[str, type[Forge]] = {
    GitHubForge.kind: GitHubForge,
    GitLabForge.kind: GitLabForge,
}
