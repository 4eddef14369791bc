"""One crawl at a time per database: an advisory lock file beside it.

The lock belongs to the process (``fcntl.flock``): a crawl killed with SIGKILL releases it with
its file descriptors, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another process holds the lock of this database."""


@contextmanager
def exclusive(db_path: Path) -> Iterator[None]:
    """Hold ``<db>.lock`` for the duration; raise ``AlreadyRunning`` if someone else does."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyRunning(
                f"{db_path} est déjà utilisée par une autre étape (parcours, SILL ou "
                f"publication) ; verrou : {lock_path}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
