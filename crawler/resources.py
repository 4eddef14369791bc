"""Files that ship with the product but are not Python: ``site/`` and ``config/``.

They are installed as the data-only packages ``codegouv_site`` and ``codegouv_config`` (a
package-dir mapping in pyproject.toml; ``site`` itself would shadow the standard library's
module), so they are found the same way from a source checkout, an editable install and a
plain ``pip install .``, wherever the current directory is.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
from pathlib import Path

SITE_PACKAGE = "codegouv_site"
CONFIG_PACKAGE = "codegouv_config"


def package_dir(package: str) -> Path:
    """The folder of a data-only package.

    Raises:
        FileNotFoundError: the package is not installed.
    """
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        raise FileNotFoundError(f"{package} n'est pas installé") from None
    except NotADirectoryError:
        # Python 3.11: an editable install adds a placeholder entry to a namespace package's
        # path, which importlib.resources' MultiplexedPath refuses; the import system still
        # knows the real folder.
        root = None
    if isinstance(root, Path):
        return root
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location).is_dir():
            return Path(location)
    raise FileNotFoundError(f"{package} n'est pas installé")


def site_dir() -> Path:
    """``site/``: templates and static files."""
    return package_dir(SITE_PACKAGE)


def config_file(name: str) -> Path:
    """A file of ``config/`` as shipped with the product (``organisations.yml``,
    ``ministries.yml``)."""
    return package_dir(CONFIG_PACKAGE) / name
