from __future__ import annotations

from collections.abc import Iterator

import pytest

from localforge import Dataset, LocalForge


@pytest.fixture(scope="session")
def localforge() -> Iterator[LocalForge]:
    """A started local forge on the bundled data, shared by the session (do not mutate its data:
    start a LocalForge of your own for that)."""
    with LocalForge(Dataset.load()) as forge:
        yield forge
