"""What the command line says when a run stops on the system or the database: one French line
naming the place, and the exit status (2: bad input the user can fix, 1: a failure).

Only the errors a user can act upon are explained: a full disk, a read-only or forbidden folder,
a file that is not our database. Anything else stays a traceback, since it is a bug to report.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from crawler.db import NotOurDatabase

#: Exit statuses, as ``codegouv crawl --help`` documents them.
FAILURE = 1
BAD_INPUT = 2

_OS_ERRORS: dict[int, tuple[str, int]] = {
    errno.ENOSPC: ("disque plein", FAILURE),
    errno.EDQUOT: ("quota disque dépassé", FAILURE),
    errno.EROFS: ("système de fichiers en lecture seule", BAD_INPUT),
    errno.EACCES: ("permission refusée", BAD_INPUT),
    errno.EPERM: ("opération non permise", BAD_INPUT),
    errno.ENOENT: ("fichier ou dossier introuvable", BAD_INPUT),
    errno.ENOTDIR: ("un élément du chemin n'est pas un dossier", BAD_INPUT),
    errno.EISDIR: ("est un dossier", BAD_INPUT),
    errno.ENAMETOOLONG: ("nom de fichier trop long", BAD_INPUT),
    errno.EIO: ("erreur d'entrée-sortie du disque", FAILURE),
}

# SQLite's primary result codes (sqlite3.Error.sqlite_errorname, Python 3.11): what they mean
# to the person who gave the --db path.
_SQLITE_ERRORS: dict[str, tuple[str, int]] = {
    "SQLITE_FULL": ("disque plein (ou base à sa taille maximale)", FAILURE),
    "SQLITE_READONLY": ("base en lecture seule", BAD_INPUT),
    "SQLITE_CANTOPEN": ("impossible d'ouvrir la base (dossier absent ou interdit ?)", BAD_INPUT),
    "SQLITE_NOTADB": ("n'est pas une base SQLite", BAD_INPUT),
    "SQLITE_CORRUPT": ("base SQLite endommagée", BAD_INPUT),
    "SQLITE_PERM": ("permission refusée", BAD_INPUT),
    "SQLITE_AUTH": ("permission refusée", BAD_INPUT),
    "SQLITE_BUSY": ("base occupée par un autre programme", FAILURE),
    "SQLITE_LOCKED": ("base verrouillée par un autre programme", FAILURE),
    "SQLITE_IOERR": ("erreur d'entrée-sortie du disque", FAILURE),
}


@dataclass(frozen=True)
class Explanation:
    message: str
    """One line, naming the file."""
    status: int


def explain(error: BaseException, db_path: Path | None = None) -> Explanation | None:
    """The line and status for ``error``, or None when it is not one a user can act upon.

    Args:
        error: what stopped the command.
        db_path: the ``--db`` of the command, named when the error does not carry a file.
    """
    if isinstance(error, NotOurDatabase):
        return Explanation(str(error), BAD_INPUT)
    if isinstance(error, sqlite3.Error):
        name = getattr(error, "sqlite_errorname", "") or ""
        primary = "_".join(name.split("_")[:2])  # SQLITE_READONLY_DBMOVED → SQLITE_READONLY
        known = _SQLITE_ERRORS.get(primary)
        if known is None:
            return None
        reason, status = known
        database = str(db_path) if db_path is not None else "base SQLite"
        return Explanation(f"{database} : {reason} ({error})", status)
    if isinstance(error, OSError) and error.errno in _OS_ERRORS:
        reason, status = _OS_ERRORS[error.errno]
        where = error.filename if error.filename is not None else db_path
        prefix = f"{where} : " if where is not None else ""
        return Explanation(f"{prefix}{reason}", status)
    if isinstance(error, MemoryError):
        return Explanation("mémoire insuffisante", FAILURE)
    return None
