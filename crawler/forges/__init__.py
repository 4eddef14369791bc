"""Forge adapters, one module per forge kind.

An adapter's module is imported when a forge of its kind is crawled, not before: PyGithub and
python-gitlab take a tenth of a second of CPU each to import, which every ``codegouv`` process
would pay otherwise (a GitLab-only crawl never loads PyGithub).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.forges.base import Forge

#: Where the adapter of each supported forge kind lives (``crawler.models.SUPPORTED_KINDS``):
#: its module and its class.
_ADAPTER_CLASSES: dict[str, tuple[str, str]] = {
    "github": ("crawler.forges.github", "GitHubForge"),
    "gitlab": ("crawler.forges.gitlab", "GitLabForge"),
}


class _Adapters(Mapping[str, "type[Forge]"]):
    """The adapter class of each kind, its module imported on first use."""

    def __getitem__(self, kind: str) -> type[Forge]:
        module, name = _ADAPTER_CLASSES[kind]
        adapter: type[Forge] = getattr(importlib.import_module(module), name)
        return adapter

    def __contains__(self, kind: object) -> bool:
        return kind in _ADAPTER_CLASSES

    def __iter__(self) -> Iterator[str]:
        return iter(_ADAPTER_CLASSES)

    def __len__(self) -> int:
        return len(_ADAPTER_CLASSES)


#: The adapter for each supported forge kind: ``ADAPTERS["gitlab"]`` imports
#: ``crawler.forges.gitlab`` (and python-gitlab) the first time it is asked for.
ADAPTERS: Mapping[str, type[Forge]] = _Adapters()
