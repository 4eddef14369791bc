"""Token masking: every token value read from the environment is replaced by ``***`` in what
the crawler stores or logs.

A hostile or careless forge can echo the token it received (``Bad credentials: token …``) in an
error message, a ``Link`` header or any text field; that text then reaches ``crawl_errors``,
which is published, and the logs. The tokens are registered here when they are read, and
:func:`mask` is applied where errors become text (``ForgeError``, ``describe``), in the database
writes, and to every log record as it is made (a record factory, installed with the first token)
and on the command line's handler (a filter), so that no single forgotten call site leaks one.

This module is a leaf: it imports nothing of ours.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
#: Shorter values are not registered: masking them would blank ordinary words, and no forge
#: issues tokens that short.
MIN_LENGTH = 8
#: A message cut to a length limit may end with the first characters of a token: at least this
#: many are masked too.
MIN_PARTIAL = 6

#: The environment variables that hold forge tokens (see ``crawler.config.token_variables``).
TOKEN_VARIABLE = re.compile(r"^(GITHUB|GITLAB|GITEA|GOGS|SOURCEHUT)_TOKEN(_[A-Z0-9_]+)?$")


class _Registry:
    """The registered tokens; replaced whole under a lock, read without one."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: frozenset[str] = frozenset()
        """Every registered token, as given (for a token cut short at the end of a text)."""
        self.needles: tuple[str, ...] = ()
        """What :func:`mask` replaces: the tokens and their usual encodings, longest first."""
        self.factory_installed = False


_registry = _Registry()


def register(token: str | None) -> None:
    """Mask ``token`` from now on in this process (with its URL-quoted and base64 forms)."""
    token = (token or "").strip()
    if len(token) < MIN_LENGTH or token in _registry.tokens:
        return
    forms = {token, quote(token, safe=""), quote_plus(token)}
    for raw in (token, f"x-access-token:{token}", f"oauth2:{token}"):
        forms.add(base64.b64encode(raw.encode()).decode().rstrip("="))
    with _registry.lock:
        _registry.needles = tuple(sorted({*_registry.needles, *forms}, key=len, reverse=True))
        _registry.tokens = _registry.tokens | {token}
        if not _registry.factory_installed:
            _install_record_factory()
            _registry.factory_installed = True


def register_environment(environ: Mapping[str, str]) -> None:
    """Register every forge token variable's value (``GITHUB_TOKEN``, ``GITLAB_TOKEN_HOST``…),
    used or not: a forge may echo a token that was meant for another."""
    for name, value in environ.items():
        if TOKEN_VARIABLE.match(name):
            register(value)


def mask(text: str) -> str:
    """``text`` with every registered token (and its encodings) replaced by ``***``; a token's
    beginning at the very end of the text (a message cut short) is masked too."""
    needles = _registry.needles
    if not needles or len(text) < MIN_PARTIAL:
        return text
    for needle in needles:
        if needle in text:
            text = text.replace(needle, MASK)
    tail = text[-MIN_PARTIAL:]
    for token in _registry.tokens:
        if len(tail) < MIN_PARTIAL or tail not in token:
            continue
        for size in range(min(len(token) - 1, len(text)), MIN_PARTIAL - 1, -1):
            if text.endswith(token[:size]):
                text = text[:-size] + MASK
                break
    return text


def mask_value(value: Any) -> Any:
    """:func:`mask` for strings; any other value as it is."""
    return mask(value) if isinstance(value, str) else value


def mask_row(row: dict[str, Any]) -> dict[str, Any]:
    """A database row with every text value masked (the same dict when nothing changes)."""
    if not _registry.needles:
        return row
    return {key: mask_value(value) for key, value in row.items()}


def _mask_arg(value: Any) -> Any:
    if value is None or isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else str(value)
    masked = mask(text)
    return masked if isinstance(value, str) or masked != text else value


def _mask_record(record: logging.LogRecord) -> None:
    if not _registry.needles:
        return
    # Arguments are masked one by one, so the record keeps its %-style arguments (log
    # aggregators group lines by their template); a token that only appears once the message
    # is put together is masked in the whole text instead.
    if isinstance(record.msg, str):
        record.msg = mask(record.msg)
    if isinstance(record.args, tuple):
        record.args = tuple(_mask_arg(value) for value in record.args)
    elif isinstance(record.args, dict):
        record.args = {key: _mask_arg(value) for key, value in record.args.items()}
    try:
        message = record.getMessage()
    except (TypeError, ValueError):
        message = None
    if message is not None and mask(message) != message:
        record.msg, record.args = mask(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    # Formatters print exc_text; a handler that renders exc_info itself (rich tracebacks) would
    # print the unmasked exception.
    record.exc_info = None
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


def _install_record_factory() -> None:
    """Mask every log record as it is made, whichever logger (ours, PyGithub's debug log of
    answers, urllib3's) and whichever handler (the CLI's, a test's capture) it goes to."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _mask_record(record)
        return record

    logging.setLogRecordFactory(factory)


class RedactingFilter(logging.Filter):
    """Masks tokens in log records (message, arguments, traceback, stack): installed on the
    handlers the command line sets up, for records made before a token was registered."""

    def filter(self, record: logging.LogRecord) -> bool:
        _mask_record(record)
        return True
