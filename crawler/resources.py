"""Where the product's non-Python files are: ``site/`` (templates and static files).

In a source tree or an editable install they are read where they are; a plain ``pip install .``
ships ``site/`` as the package data of ``codegouv_site`` (see pyproject.toml), because a package
named ``site`` would shadow the standard library's.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SOURCE_SITE = Path(__file__).resolve().parent.parent / "site"


def site_path(*parts: str) -> Path:
    """A path under ``site/``, from the source tree or from the installed package data."""
    if SOURCE_SITE.is_dir():
        return SOURCE_SITE.joinpath(*parts)
    spec = importlib.util.find_spec("codegouv_site")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("site/ is neither beside the source nor installed")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
